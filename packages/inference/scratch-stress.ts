import sharp from 'sharp';
import { renderTextPage, SAMPLE_TEXTS } from '../testing/src/text-pages.js';
import { createTextRecognizer, prepareImage, characterErrorRate } from './src/index.js';
const all = Object.values(SAMPLE_TEXTS).flat();
const rec = await createTextRecognizer({ maxSideLen: Number(process.env.MAXSIDE ?? 960) });
async function run(name: string, image: Buffer, ref: string[]) {
  const img = await prepareImage(image);
  const t0 = performance.now();
  const lines = await rec.recognize(img);
  const ms = performance.now() - t0;
  const cer = characterErrorRate(ref.join('\n'), lines.map((l) => l.text).join('\n'));
  console.log(name, `${img.width}x${img.height}`, 'lines', lines.length, '/', ref.length, 'CER', cer.toFixed(4), ms.toFixed(0) + 'ms');
  if (cer > 0.02) for (const l of lines) console.log('   ', JSON.stringify(l.text), l.confidence.toFixed(2), l.angle);
}
for (const font of ['sans', 'serif', 'mono', 'serif-italic'] as const) {
  const p = await renderTextPage({ lines: all, font, sizePt: 12, lineSpacing: 1.15, width: 900 });
  await run(`dense-${font}-12pt`, p.image, p.lines.map((l) => l.text));
}
const big = await renderTextPage({ lines: all, font: 'serif', sizePt: 11, dpi: 300, lineSpacing: 1.3, width: 2600, margin: 200 });
await run('serif-11pt-300dpi', big.image, big.lines.map((l) => l.text));
const p = await renderTextPage({ lines: all.slice(0, 8), font: 'serif', sizePt: 16 });
for (const deg of [2, -3, 5]) {
  const skew = await sharp(p.image).rotate(deg, { background: '#ffffff' }).png().toBuffer();
  await run(`skew${deg}`, skew, p.lines.map((l) => l.text));
}
const r = await renderTextPage({ lines: all.slice(0, 8), font: 'sans', sizePt: 16, rotate180: true, noise: true });
await run('rot180-noise', r.image, r.lines.map((l) => l.text));
await rec.close();
