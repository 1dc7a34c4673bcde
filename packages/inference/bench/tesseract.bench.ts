/**
 * Tesseract (tesseract.js, LSTM) on the shared fixtures' 18th-century French page: time per page
 * and the first 300 characters read, until a reference transcription exists to score it.
 * Run: node --import tsx --conditions=loupe-source packages/inference/bench/tesseract.bench.ts
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createTesseractRecognizer, prepareImage } from '../src/index.js';

const fixture = fileURLToPath(new URL('../../../../shared/fixtures/images/book-page-printed-french-18th-century.jpg', import.meta.url));
if (!existsSync(fixture)) {
  console.log(`skipped: ${fixture} is absent (the shared fixtures sit beside the checkout)`);
  process.exit(0);
}
const image = await prepareImage(await readFile(fixture));
const recognizer = createTesseractRecognizer({ languages: ['fra'] });
try {
  for (const round of ['first (starts the worker)', 'second']) {
    const started = performance.now();
    const page = await recognizer.recognize({ ...image, channels: 3 });
    const text = page.blocks.map((b) => b.lines.map((l) => l.text).join('\n')).join('\n\n');
    const lines = page.blocks.reduce((n, b) => n + b.lines.length, 0);
    console.log(JSON.stringify({ page: 'book-page-printed-french-18th-century', round, ms: Math.round(performance.now() - started), blocks: page.blocks.length, lines }));
    if (round === 'second') console.log(text.slice(0, 300));
  }
} finally {
  await recognizer.close();
}
