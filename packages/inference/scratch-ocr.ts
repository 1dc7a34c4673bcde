import { renderTextPage, SAMPLE_TEXTS } from '../testing/src/text-pages.js';
import { createTextRecognizer, prepareImage, characterErrorRate } from './src/index.js';
import { writeFileSync } from 'node:fs';
const rec = await createTextRecognizer();
console.log(rec.readiness());
const cases: any[] = [
  { font: 'sans', lines: SAMPLE_TEXTS.catalogueNote, sizePt: 14 },
  { font: 'serif', lines: SAMPLE_TEXTS.letter, sizePt: 18 },
  { font: 'mono', lines: SAMPLE_TEXTS.titlePage, sizePt: 16 },
  { font: 'serif-italic', lines: SAMPLE_TEXTS.latin, sizePt: 20 },
  { font: 'sans', lines: SAMPLE_TEXTS.french, sizePt: 24, noise: true },
  { font: 'serif', lines: SAMPLE_TEXTS.letter, sizePt: 18, rotate180: true },
  { font: 'sans', lines: ['Registre des entrées de la bibliothèque,', 'année 1854, feuillets 1 à 96. Été'], sizePt: 18 },
];
let i = 0;
for (const c of cases) {
  const page = await renderTextPage(c);
  writeFileSync(`/tmp/scratch/page${i++}.${c.noise ? 'jpg' : 'png'}`, page.image);
  const img = await prepareImage(page.image);
  const t0 = performance.now();
  const lines = await rec.recognize(img);
  const ms = performance.now() - t0;
  const ref = page.lines.map((l) => l.text).join('\n');
  const hyp = lines.map((l) => l.text).join('\n');
  console.log(c.font, c.sizePt, c.noise ? 'noise' : '', c.rotate180 ? 'rot' : '', 'CER', characterErrorRate(ref, hyp).toFixed(4), ms.toFixed(0) + 'ms');
  for (const l of lines) console.log('  ', JSON.stringify(l.text), l.confidence.toFixed(3), l.angle, JSON.stringify(l.box));
  for (const l of page.lines) console.log('  GT', JSON.stringify(l.box));
}
await rec.close();
