// Calibrates the people threshold: labelled face pairs made from the fixture portraits, described
// as the embed stage describes them (BlazeFace box, the square cut around it, FaceRes), and the
// precision and recall of "same person" at each cosine. Run: npx tsx --conditions=loupe-source test/quality/people-pairs.ts
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createDetector, createEngine, createImageEmbedder, openRegistry, prepareImage, type RawImage } from '@loupe/inference';
import { cropFace, faceSquare } from '../../services/embed/src/face-descriptors.js';
import { PERSON_THRESHOLD } from '../../services/embed/src/people.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
/** One sitter each: the identities the fixtures hold. */
const PORTRAITS = [
  'photo-astronaut-eileen-collins-nasa.png',
  'photo-renoir-by-dornac-grayscale-crop.png',
  'photo-bedouin-woman-american-colony-grayscale-crop.png',
  'photo-espinasse-fonds-trutat-grayscale-crop.png',
  'thumb-photo-grace-hopper-128.jpg',
  'photo-cameraman-bw.png',
];

/** How one portrait is seen again: a crop of the picture, another scale, a mirror, a worse JPEG, other light. */
const VARIANTS: Record<string, (img: sharp.Sharp, meta: { width: number; height: number }) => sharp.Sharp> = {
  original: (img) => img,
  'crop-left-top': (img, m) => img.extract({ left: 0, top: 0, width: Math.round(m.width * 0.85), height: Math.round(m.height * 0.85) }),
  'crop-right-bottom': (img, m) => img.extract({ left: Math.round(m.width * 0.15), top: Math.round(m.height * 0.15), width: Math.round(m.width * 0.85), height: Math.round(m.height * 0.85) }),
  'half-size': (img, m) => img.resize(Math.round(m.width / 2)),
  'double-size': (img, m) => img.resize(m.width * 2),
  mirrored: (img) => img.flop(),
  'jpeg-q25': (img) => img.jpeg({ quality: 25 }),
  darker: (img) => img.modulate({ brightness: 0.65 }),
  brighter: (img) => img.modulate({ brightness: 1.35 }),
  'rotated-5': (img) => img.rotate(5, { background: '#808080' }),
};

if (!existsSync(path.join(FIXTURES, PORTRAITS[0]!))) {
  console.log(`no fixtures at ${FIXTURES} (../shared is absent): nothing to calibrate`);
  process.exit(0);
}

const registry = openRegistry({ modelsDir: process.env.LOUPE_MODELS_DIR ?? path.join(os.homedir(), '.local', 'share', 'loupe', 'models') });
const engine = createEngine({ executionProvider: 'cpu' });
const open = async (id: string) => {
  const { card, files } = await registry.resolve(id);
  return engine.load(card, files);
};
const detector = createDetector(await open('blazeface-back'));
const faces = createImageEmbedder(await open('faceres-embedding'));

async function describe(raw: RawImage): Promise<Float32Array | undefined> {
  const [face] = (await detector.detect(raw)).sort((a, b) => b.score - a.score);
  if (!face) return undefined;
  return faces.embed(cropFace(raw, faceSquare(face.box, raw)));
}

const described: { who: number; variant: string; v: Float32Array }[] = [];
const missed: string[] = [];
for (const [who, file] of PORTRAITS.entries()) {
  const bytes = await sharp(path.join(FIXTURES, file)).png().toBuffer();
  const meta = await sharp(bytes).metadata();
  for (const [variant, make] of Object.entries(VARIANTS)) {
    const raw = await prepareImage(await make(sharp(bytes), { width: meta.width!, height: meta.height! }).toBuffer());
    const v = await describe(raw);
    if (v) described.push({ who, variant, v });
    else missed.push(`${file} ${variant}`);
  }
}
await engine.close();

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const pairs: { same: boolean; cos: number }[] = [];
for (let i = 0; i < described.length; i++) for (let j = i + 1; j < described.length; j++) pairs.push({ same: described[i]!.who === described[j]!.who, cos: dot(described[i]!.v, described[j]!.v) });
const same = pairs.filter((p) => p.same);
const other = pairs.filter((p) => !p.same);
const at = (t: number) => {
  const tp = same.filter((p) => p.cos >= t).length;
  const fp = other.filter((p) => p.cos >= t).length;
  return { t, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp / same.length };
};
const range = (ps: { cos: number }[]) => `${Math.min(...ps.map((p) => p.cos)).toFixed(3)}-${Math.max(...ps.map((p) => p.cos)).toFixed(3)}`;

console.log(`identities ${PORTRAITS.length}, variants ${Object.keys(VARIANTS).length}, faces described ${described.length}, no face found: ${missed.join('; ') || 'none'}`);
console.log(`same-person pairs ${same.length} (cosine ${range(same)}), different-person pairs ${other.length} (cosine ${range(other)})`);
console.log('threshold  precision  recall');
for (const t of [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]) {
  const r = at(t);
  console.log(`${t.toFixed(2)}       ${r.precision.toFixed(3)}      ${r.recall.toFixed(3)}${t === PERSON_THRESHOLD ? '   <- PERSON_THRESHOLD' : ''}`);
}
const worst = [...same].sort((a, b) => a.cos - b.cos).slice(0, 1)[0];
const closest = [...other].sort((a, b) => b.cos - a.cos).slice(0, 1)[0];
console.log(`weakest same-person pair ${worst?.cos.toFixed(3)}, closest different-person pair ${closest?.cos.toFixed(3)}`);
