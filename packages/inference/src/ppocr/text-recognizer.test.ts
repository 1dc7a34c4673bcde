import { characterErrorRate } from '@loupe/datasets';
import { renderTextPage, SAMPLE_TEXTS, type PageFont } from '@loupe/testing';
import t from 'tap';
import { createEngine } from '../engine/model-runner.js';
import { prepareImage } from '../image-ops.js';
import { createTextRecognizer, latinForms, readingOrder, type TextLine } from './text-recognizer.js';

type Box = { x: number; y: number; w: number; h: number };
function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

const pages: { name: string; font: PageFont; lines: readonly string[]; sizePt: number; rotate180?: boolean; noise?: boolean }[] = [
  { name: 'sans 14 pt', font: 'sans', lines: SAMPLE_TEXTS.catalogueNote, sizePt: 14 },
  { name: 'serif 18 pt', font: 'serif', lines: SAMPLE_TEXTS.letter, sizePt: 18 },
  { name: 'mono 24 pt, noisy scan', font: 'mono', lines: SAMPLE_TEXTS.titlePage.slice(0, 3), sizePt: 24, noise: true },
  { name: 'serif italic 16 pt, upside down', font: 'serif-italic', lines: SAMPLE_TEXTS.latin, sizePt: 16, rotate180: true },
];

t.test('reads rendered pages line by line', async (t) => {
  const engine = createEngine({ executionProvider: 'cpu' });
  t.teardown(() => engine.close());
  const recognizer = await createTextRecognizer({ engine });
  t.teardown(() => recognizer.close());
  t.match(recognizer.model, { id: 'ppocr-v4', version: String });
  t.match(recognizer.readiness(), { ready: true, provider: 'cpu', models: [{ id: 'ppocr-v4-det' }, { id: 'ppocr-v4-rec' }, { id: 'ppocr-mobile-v2-cls' }] });

  let edits = 0;
  let chars = 0;
  for (const spec of pages) {
    const page = await renderTextPage({ ...spec, lines: [...spec.lines] });
    const lines = await recognizer.recognize(await prepareImage(page.image));
    const reference = page.lines.map((l) => l.text).join('\n');
    const cer = characterErrorRate(reference, lines.map((l) => l.text).join('\n'));
    edits += cer * reference.length;
    chars += reference.length;
    t.comment(`${spec.name}: CER ${(cer * 100).toFixed(2)} %`);
    t.equal(lines.length, page.lines.length, `${spec.name}: one result per printed line`);
    page.lines.forEach((truth, i) => {
      const best = Math.max(0, ...lines.map((l) => iou(l.box, truth.box)));
      t.ok(best >= 0.5, `${spec.name}, line ${i + 1}: box overlaps the ink (IoU ${best.toFixed(2)})`);
    });
    for (const line of lines) {
      t.ok(line.confidence > 0.5 && line.confidence <= 1, 'confidence is a probability');
      t.equal(line.angle, spec.rotate180 ? 180 : 0, `${spec.name}: "${line.text}" read at its angle`);
    }
    if (spec.rotate180) t.ok(cer <= 0.05, `the upside-down page reads in its own order, CER ${cer.toFixed(3)}`);
  }
  t.ok(edits / chars <= 0.05, `overall CER ${((edits / chars) * 100).toFixed(2)} % is at most 5 %`);
  const metrics = engine.metrics();
  t.match(metrics['ppocr-v4-det'], { requests: Number, errors: 0 }, 'every model runs through the engine');
  t.ok(metrics['ppocr-v4-rec']!.meanBatch > 1, `the lines of a page share recogniser runs (mean batch ${metrics['ppocr-v4-rec']!.meanBatch})`);
  t.ok(metrics['ppocr-mobile-v2-cls']!.meanBatch > 1, 'and classifier runs');

  const blank = { width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(255) };
  t.same(await recognizer.recognize(blank), [], 'a blank page has no lines');
  await t.rejects(recognizer.recognize({ width: 10, height: 10, data: new Uint8Array(5) }), { code: 'LOUPE_ERR_IMAGE_UNSUPPORTED' });
  await t.rejects(recognizer.recognize(blank, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  await recognizer.close();
  t.same(engine.readiness().models, [], 'closing the recogniser unloads its models from a shared engine');
});

const line = (text: string, polygon: [number, number][], angle: 0 | 180 = 0) => ({ text, polygon, angle });
const rect = (x: number, y: number, w: number, h: number): [number, number][] => [[x, y], [x + w, y], [x + w, y + h], [x, y + h]];
const turned = (p: [number, number][]): [number, number][] => [p[2]!, p[3]!, p[0]!, p[1]!];

t.test('reading order: rows top to bottom, each left to right', async (t) => {
  const lines = [line('c', rect(10, 60, 100, 20)), line('b', rect(300, 12, 100, 20)), line('a', rect(10, 10, 100, 20))];
  t.same(readingOrder(lines).map((l) => l.text), ['a', 'b', 'c']);
});

t.test('reading order follows a skewed page, not the image axes', async (t) => {
  // Lines 500 px long, 20 thick, 30 apart, turned 6 degrees: their bounding boxes overlap vertically.
  const a = (6 * Math.PI) / 180;
  const at = (cx: number, cy: number): [number, number][] =>
    [[-250, -10], [250, -10], [250, 10], [-250, 10]].map(([u, v]) => [cx + u! * Math.cos(a) - v! * Math.sin(a), cy + u! * Math.sin(a) + v! * Math.cos(a)]);
  const lines = [2, 0, 3, 1].map((i) => line(String(i), at(300 - i * 30 * Math.sin(a), 100 + i * 30 * Math.cos(a))));
  t.same(readingOrder(lines).map((l) => l.text), ['0', '1', '2', '3']);
});

t.test('reading order of an upside-down page starts at the bottom of the image', async (t) => {
  const lines = [line('first', turned(rect(300, 200, 200, 20)), 180), line('second', turned(rect(300, 150, 200, 20)), 180)];
  t.same(readingOrder(lines).map((l) => l.text), ['first', 'second']);
});

t.test('full-width punctuation becomes ASCII only in Latin lines', async (t) => {
  t.equal(latinForms('London\uFF0C1782\uFF1A'), 'London,1782:');
  t.equal(latinForms('\u4E2D\u6587\uFF0C'), '\u4E2D\u6587\uFF0C', 'Chinese keeps its own punctuation');
});

// Keeps the TextLine type honest for consumers.
const sample: TextLine = { text: 'x', confidence: 1, box: { x: 0, y: 0, w: 1, h: 1 }, polygon: rect(0, 0, 1, 1), angle: 0, words: [] };
void sample;
