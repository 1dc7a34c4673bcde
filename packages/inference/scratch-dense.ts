import sharp from 'sharp';
import { renderTextPage, SAMPLE_TEXTS } from '../testing/src/text-pages.js';
import { createTextRecognizer, prepareImage, characterErrorRate } from './src/index.js';
const all = Object.values(SAMPLE_TEXTS).flat();
const rec = await createTextRecognizer({ maxSideLen: 2000 });
async function run(name: string, image: Buffer, ref: string[]) {
  const img = await prepareImage(image);
  const lines = await rec.recognize(img);
  const cer = characterErrorRate(ref.join('\n'), lines.map((l) => l.text).join('\n'));
  console.log(name, `${img.width}x${img.height}`, 'lines', lines.length, '/', ref.length, 'CER', cer.toFixed(4));
  if (process.env.V) for (const l of lines) console.log('   ', JSON.stringify(l.text), l.confidence.toFixed(2), JSON.stringify(l.box));
}
for (const [pt, sp] of [[12, 1.15], [12, 1.3], [14, 1.2], [14, 1.15]] as const) {
  for (const font of ['serif', 'serif-italic'] as const) {
    const p = await renderTextPage({ lines: all, font, sizePt: pt, lineSpacing: sp, width: 900 });
    await run(`${font}-${pt}pt-${sp}`, p.image, p.lines.map((l) => l.text));
    const up = await sharp(p.image).resize(1800).png().toBuffer();
    await run(`  x2`, up, p.lines.map((l) => l.text));
  }
}
await rec.close();
