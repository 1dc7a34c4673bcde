import { renderTextPage, SAMPLE_TEXTS } from '../testing/src/text-pages.js';
import { createTextRecognizer, prepareImage, characterErrorRate } from './src/index.js';
const cases: any[] = [
  { font: 'sans', lines: SAMPLE_TEXTS.catalogueNote, sizePt: 14 },
  { font: 'serif', lines: SAMPLE_TEXTS.letter, sizePt: 18 },
  { font: 'mono', lines: SAMPLE_TEXTS.titlePage, sizePt: 16 },
  { font: 'serif-italic', lines: SAMPLE_TEXTS.latin, sizePt: 20 },
  { font: 'sans', lines: SAMPLE_TEXTS.french, sizePt: 24, noise: true },
  { font: 'serif', lines: SAMPLE_TEXTS.letter, sizePt: 18, rotate180: true },
];
const pages = [];
for (const c of cases) { const p = await renderTextPage(c); pages.push({ c, p, img: await prepareImage(p.image) }); }
for (const unclipRatio of (process.env.UNCLIP ?? '1.5').split(',').map(Number)) {
  const rec = await createTextRecognizer({ unclipRatio });
  const out = [];
  for (const { c, p, img } of pages) {
    const lines = await rec.recognize(img);
    const cer = characterErrorRate(p.lines.map((l) => l.text).join('\n'), lines.map((l) => l.text).join('\n'));
    out.push(`${c.font}${c.noise ? '+n' : ''}${c.rotate180 ? '+r' : ''}=${cer.toFixed(3)}`);
    if (process.env.V) for (const l of lines) console.log('  ', JSON.stringify(l.text), l.confidence.toFixed(3), l.angle, JSON.stringify(l.box));
  }
  console.log('unclip', unclipRatio, process.env.PADY ?? '', out.join(' '));
  await rec.close();
}
