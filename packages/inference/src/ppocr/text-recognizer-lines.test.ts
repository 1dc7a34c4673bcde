import { renderTextPage, SAMPLE_TEXTS } from '@loupe/testing';
import sharp from 'sharp';
import t from 'tap';
import { createEngine } from '../engine/model-runner.js';
import { prepareImage } from '../image-ops.js';
import { createTextRecognizer, readingOrder } from './text-recognizer.js';

type Box = { x: number; y: number; w: number; h: number };
const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
/** Overlap along x over the union along x: word boxes span the line's height, so only their ends are measured. */
const spanIou = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) / (Math.max(a.x + a.w, b.x + b.w) - Math.min(a.x, b.x));

const engine = createEngine({ executionProvider: 'cpu' });
t.teardown(() => engine.close());
const recognizer = await createTextRecognizer({ engine });
t.teardown(() => recognizer.close());

t.test('findLines finds the lines of a page turned half a turn, and readLines reads them as recognize does', async (t) => {
  const page = await renderTextPage({ lines: [...SAMPLE_TEXTS.letter], font: 'serif', sizePt: 16, rotate180: true });
  const image = await prepareImage(page.image);
  const found = await recognizer.findLines(image);
  t.equal(found.lines.length, page.lines.length, 'one line per printed line');
  t.match(found.orientation, { angle: 180, lines: page.lines.length, upsideDown: page.lines.length });
  for (const line of found.lines) {
    t.equal(line.angle, 180, 'each line reads upside down');
    t.ok(page.lines.some((truth) => spanIou(line.box, truth.box) > 0.8 && Math.abs(line.box.y + line.box.h / 2 - (truth.box.y + truth.box.h / 2)) < truth.box.h / 2), 'and sits on printed text');
  }
  t.same(await recognizer.pageOrientation(image), found.orientation, 'pageOrientation is findLines\' orientation');

  const read = await recognizer.readLines(image, found.lines);
  t.equal(read.length, found.lines.length, 'one text line per line given');
  t.same(read.map((l) => l.polygon), found.lines.map((l) => l.polygon), 'in the order given');
  const recognized = await recognizer.recognize(image);
  t.same(readingOrder(read).map((l) => l.text), recognized.map((l) => l.text), 'the same text as recognize');
  t.same(readingOrder(read).map((l) => l.text), page.lines.map((l) => l.text), 'which is the printed text');
  for (const line of read) {
    t.equal(line.words.map((w) => w.text).join(' '), line.text, `"${line.text}": its words`);
    t.ok(line.words.every((w) => inside(w.box, line.box)), 'inside the line');
    t.ok(line.words.every((w, i) => i === 0 || w.box.x + w.box.w <= line.words[i - 1]!.box.x), 'running right to left in the image, as the line reads upside down');
  }
  // As preprocess hands them on: corners and angle, no box.
  const carried = found.lines.map(({ polygon, angle }) => ({ polygon, angle }));
  t.same((await recognizer.readLines(image, carried)).map((l) => l.text), read.map((l) => l.text), 'lines without their box read the same');
  t.same(await recognizer.readLines(image, []), [], 'no lines, nothing read');
  await t.rejects(recognizer.readLines(image, [{ polygon: [[0, 0], [10, 0]], angle: 0 }]), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('word boxes: where each word was drawn, left to right inside the line', async (t) => {
  // Words drawn one by one at known places, a space's width apart, so the truth of each is its own ink.
  const words = ['alpha', 'beta', 'gamma'];
  const drawn = await Promise.all(words.map((w) => renderTextPage({ lines: [w], font: 'serif', sizePt: 18, margin: 0, width: 200 })));
  const truth: Box[] = [];
  const layers: sharp.OverlayOptions[] = [];
  let x = 40;
  for (const d of drawn) {
    const ink = d.lines[0]!.box;
    layers.push({ input: d.image, left: x - ink.x, top: 40 });
    truth.push({ x, y: 40 + ink.y, w: ink.w, h: ink.h });
    x += ink.w + 9;
  }
  const png = await sharp({ create: { width: 400, height: 110, channels: 3, background: '#fff' } }).composite(layers).png().toBuffer();
  const image = await prepareImage(png);
  const [line, ...rest] = await recognizer.readLines(image, (await recognizer.findLines(image)).lines);
  t.equal(rest.length, 0, 'one line');
  t.equal(line!.text, 'alpha beta gamma');
  t.same(line!.words.map((w) => w.text), words, 'split on spaces');
  line!.words.forEach((w, i) => {
    t.ok(inside(w.box, line!.box), `${w.text}: inside the line box`);
    t.ok(w.confidence > 0.9 && w.confidence <= 1, `${w.text}: confidence ${w.confidence.toFixed(3)}`);
    // CTC fires near a character, not at its ink's edge: the ends are good to a few pixels (a third of a letter).
    const overlap = spanIou(w.box, truth[i]!);
    t.ok(overlap >= 0.8, `${w.text}: spans where it was drawn (x ${w.box.x}-${w.box.x + w.box.w}, drawn ${truth[i]!.x}-${truth[i]!.x + truth[i]!.w}, IoU along x ${overlap.toFixed(2)} >= 0.8)`);
    t.ok(w.box.y <= truth[i]!.y && w.box.y + w.box.h >= truth[i]!.y + truth[i]!.h, `${w.text}: covers the ink's height`);
    if (i > 0) t.ok(w.box.x >= line!.words[i - 1]!.box.x + line!.words[i - 1]!.box.w, `${w.text}: starts after the word before ends`);
  });
});

t.test('a line read with low confidence is kept, with its confidence, unless the caller sets a cut', async (t) => {
  // A row of loops the detector takes for text and the recogniser reads as a string of o's, unsure of each.
  const loops = Array.from({ length: 25 }, (_, i) => `<circle cx="${60 + i * 18}" cy="${50 + (i % 3) * 3}" r="${5 + (i % 4)}" stroke="black" stroke-width="2" fill="none"/>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="100"><rect width="600" height="100" fill="white"/>${loops.join('')}</svg>`;
  const text = await renderTextPage({ lines: ['Received in the library, March 1897.'], font: 'serif', sizePt: 18, width: 600 });
  const png = await sharp({ create: { width: 600, height: 100 + text.height, channels: 3, background: '#fff' } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }, { input: text.image, left: 0, top: 100 }])
    .png()
    .toBuffer();
  const image = await prepareImage(png);
  const lines = await recognizer.recognize(image);
  t.equal(lines.length, 2, 'both lines kept by default');
  const [scribble, printed] = lines as [(typeof lines)[0], (typeof lines)[0]];
  t.equal(printed.text, 'Received in the library, March 1897.');
  t.ok(scribble.text.length > 0 && scribble.confidence < 0.6 && scribble.confidence < printed.confidence - 0.3, `the scribble "${scribble.text}" is kept at confidence ${scribble.confidence.toFixed(3)}`);

  const cut = (scribble.confidence + printed.confidence) / 2;
  const strict = await createTextRecognizer({ engine, minConfidence: cut });
  t.teardown(() => strict.close());
  t.same((await strict.recognize(image)).map((l) => l.text), [printed.text], `minConfidence ${cut.toFixed(2)} drops it`);
});
