import sharp from 'sharp';
import { renderTextPage, SAMPLE_TEXTS } from '../testing/src/text-pages.js';
import { prepareImage, characterErrorRate, loadBuiltinModel, loadBuiltinDictionary } from './src/index.js';
import { PpocrDetector } from './src/ppocr/ppocr-detector.js';
import { PpocrRecognizer } from './src/ppocr/ppocr-recognizer.js';
import { lineGeometry, padQuad } from './src/ppocr/line-crop.js';
const all = Object.values(SAMPLE_TEXTS).flat();
const det = new PpocrDetector(await loadBuiltinModel('ppocr-v4-det'), { maxSideLen: 4000 });
const rec = new PpocrRecognizer(await loadBuiltinModel('ppocr-v4-rec'), await loadBuiltinDictionary('ppocr-v4-rec'));
const geo = (q: any, s: number) => { const g = lineGeometry(q.map(([x, y]: any) => [x * s, y * s])); const by = g.height * 0.25; return { quad: padQuad(g.quad, by), width: g.width + 2 * by, height: g.height + 2 * by }; };
for (const font of ['serif', 'serif-italic'] as const) {
  const p = await renderTextPage({ lines: all, font, sizePt: 12, lineSpacing: 1.3, width: 900 });
  const ref = p.lines.map((l) => l.text).join('\n');
  const img1 = await prepareImage(p.image);
  const img2 = await prepareImage(await sharp(p.image).resize(1800).png().toBuffer());
  for (const [dn, dimg, ds] of [['det1', img1, 1], ['det2', img2, 0.5]] as const) {
    const found = (await det.detect(dimg)).sort((a, b) => a.quad[0][1] - b.quad[0][1]);
    for (const [rn, rimg, rs] of [['rec1', img1, 1], ['rec2', img2, 2]] as const) {
      const lines = await rec.recognize(rimg, found.map((f) => geo(f.quad, ds * rs)));
      console.log(font, dn, found.length, rn, characterErrorRate(ref, lines.map((l) => l.text).join('\n')).toFixed(4));
    }
  }
}
