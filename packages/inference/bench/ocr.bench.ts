/**
 * OCR throughput and accuracy on rendered pages, one JSON line on stdout.
 * Run: node --import tsx --conditions=loupe-source packages/inference/bench/ocr.bench.ts [--threads N] [--provider cpu|cuda]
 */
import diagnostics from 'node:diagnostics_channel';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { renderTextPage, SAMPLE_TEXTS, type PageFont } from '@loupe/testing';
import {
  characterErrorRate,
  createTextRecognizer,
  OCR_CHANNEL,
  prepareImage,
  type ExecutionProvider,
  type OcrTimingEvent,
} from '../src/index.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
    rounds: { type: 'string', default: '2' },
  },
});

const fonts: [PageFont, number][] = [['sans', 14], ['serif', 16], ['mono', 18], ['serif-italic', 20]];
const text = Object.values(SAMPLE_TEXTS).flat();
const pages = await Promise.all(
  fonts.map(async ([font, sizePt]) => {
    const page = await renderTextPage({ lines: text, font, sizePt, width: 1200 });
    return { font, sizePt, image: await prepareImage(page.image), reference: page.lines.map((l) => l.text).join('\n') };
  }),
);

const recognizer = await createTextRecognizer({
  executionProvider: values.provider as ExecutionProvider,
  ...(values.threads ? { intraOpNumThreads: Number(values.threads) } : {}),
});
await recognizer.recognize(pages[0]!.image); // warm-up: first runs allocate and tune kernels

const events: OcrTimingEvent[] = [];
const onEvent = (message: unknown) => events.push(message as OcrTimingEvent);
diagnostics.subscribe(OCR_CHANNEL, onEvent);

const cer: Record<string, number> = {};
let edits = 0;
let chars = 0;
const started = performance.now();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const page of pages) {
    const lines = await recognizer.recognize(page.image);
    if (round > 0) continue;
    const rate = characterErrorRate(page.reference, lines.map((l) => l.text).join('\n'));
    cer[`${page.font}-${page.sizePt}pt`] = round4(rate);
    edits += rate * page.reference.length;
    chars += page.reference.length;
  }
}
const wallMs = performance.now() - started;
diagnostics.unsubscribe(OCR_CHANNEL, onEvent);
const readiness = recognizer.readiness();
await recognizer.close();

const sum = (f: (e: OcrTimingEvent) => number) => events.reduce((s, e) => s + f(e), 0);
const lines = sum((e) => e.detected);
console.log(
  JSON.stringify({
    bench: 'ocr',
    model: 'ppocr-v4',
    provider: readiness.provider,
    threads: values.threads ? Number(values.threads) : os.availableParallelism(),
    pages: events.length,
    page_px: `${pages[0]!.image.width}x${pages[0]!.image.height}`,
    lines,
    det_ms_per_page: round1(sum((e) => e.detectMs) / events.length),
    cls_ms_per_line: round1(sum((e) => e.classifyMs) / lines),
    rec_ms_per_line: round1(sum((e) => e.recognizeMs) / lines),
    lines_per_s: round1((lines / wallMs) * 1000),
    cer: round4(edits / chars),
    cer_by_page: cer,
  }),
);

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}
