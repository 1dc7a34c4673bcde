import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { buildOnnxModel } from '@loupe/testing';
import { createDetector } from '../detection/detector.js';
import { createEngine } from '../engine/model-runner.js';
import { prepareImage, type RawImage } from '../image-ops.js';
import { openRegistry } from '../registry/registry.js';
import { createImageEmbedder } from './image-embedder.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/images');
const registry = openRegistry({ modelsDir: t.testdir() });
const engine = createEngine({ executionProvider: 'cpu' });
t.teardown(() => engine.close());

const open = async (id: string) => {
  const { card, files } = await registry.resolve(id);
  return createImageEmbedder(await engine.load(card, files));
};
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Stripes and a disc: a picture with structure, and variants of it. */
async function picture(opts: { shift?: number; hue?: number; stripes?: number } = {}): Promise<RawImage> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240">
    <rect width="320" height="240" fill="hsl(${opts.hue ?? 30},40%,70%)"/>
    ${Array.from({ length: opts.stripes ?? 6 }, (_, i) => `<rect x="${i * 50 + (opts.shift ?? 0)}" y="0" width="18" height="240" fill="#334"/>`).join('')}
    <circle cx="${200 + (opts.shift ?? 0)}" cy="120" r="60" fill="#c33"/></svg>`;
  return prepareImage(await sharp(Buffer.from(svg)).png().toBuffer());
}

t.test('MobileNetV2 features: 1280 values, unit length, the same picture gives the same vector', async (t) => {
  const embedder = await open('mobilenet-v2-features');
  t.same(embedder.model, { id: 'mobilenet-v2-features', version: '4.2.1', name: 'MobileNetV2 image features (offline pack)' });
  const a = await embedder.embed(await picture());
  t.equal(a.length, 1280);
  t.equal(embedder.dims, 1280);
  t.ok(Math.abs(Math.hypot(...a) - 1) < 1e-5);
  t.same(Array.from(await embedder.embed(await picture())), Array.from(a), 'deterministic');
  const shifted = await embedder.embed(await picture({ shift: 8 }));
  const other = await embedder.embed(await picture({ hue: 200, stripes: 1 }));
  t.ok(dot(a, shifted) > dot(a, other), `a shifted copy is closer (${dot(a, shifted).toFixed(3)}) than a different picture (${dot(a, other).toFixed(3)})`);
});

t.test('cards that do not embed are refused, naming the task', async (t) => {
  const { card, files } = await registry.resolve('blazeface-back');
  t.throws(() => createImageEmbedder({ card, outputs: [], inputName: 'input' } as never), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /needs task "image-embedding" or "face-embedding".*face-detection, blazeface/ });
  void files;
});

t.test('FaceRes face embeddings: the same face is closer than another face', { skip: existsSync(join(FIXTURES, 'photo-astronaut-eileen-collins-nasa.png')) ? false : `no fixtures at ${FIXTURES} (../shared is absent)` }, async (t) => {
  const faces = await open('faceres-embedding');
  const { card, files } = await registry.resolve('blazeface-back');
  const detector = createDetector(await engine.load(card, files));
  const crop = async (file: string, grow = 1.2, dx = 0) => {
    const raw = await prepareImage(await sharp(join(FIXTURES, file)).png().toBuffer());
    const [face] = await detector.detect(raw);
    if (!face) throw new Error(`no face in ${file}`);
    const b = face.box;
    const side = Math.round(Math.max(b.w, b.h) * grow);
    const left = Math.max(0, Math.round(b.x + b.w / 2 - side / 2 + dx));
    const top = Math.max(0, Math.round(b.y + b.h / 2 - side / 2));
    const bytes = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } })
      .extract({ left, top, width: Math.min(side, raw.width - left), height: Math.min(side, raw.height - top) })
      .png()
      .toBuffer();
    return faces.embed(await prepareImage(bytes));
  };
  const astronaut = await crop('photo-astronaut-eileen-collins-nasa.png');
  const astronautAgain = await crop('photo-astronaut-eileen-collins-nasa.png', 1.3, 4);
  const hopper = await crop('thumb-photo-grace-hopper-128.jpg');
  t.equal(astronaut.length, 1024);
  // Measured: 0.96 for two crops of one face, 0.36-0.47 between the different sitters of the fixture portraits.
  t.ok(dot(astronaut, astronautAgain) > 0.85 && dot(astronaut, hopper) < 0.7, `same face ${dot(astronaut, astronautAgain).toFixed(3)} > other face ${dot(astronaut, hopper).toFixed(3)}`);
});

t.test('any embedding card: a CLIP-shaped image tower (generated here) gives the normalised vector its output names', async (t) => {
  const modelsDir = t.testdir();
  // Same names as CLIP's vision tower: pixel_values -> image_embeds; here the vector is each channel's mean.
  const onnx = buildOnnxModel({
    inputs: [{ name: 'pixel_values', type: 'float32', dims: ['batch_size', 3, 8, 8] }],
    outputs: [{ name: 'image_embeds', type: 'float32', dims: ['batch_size', 3] }],
    nodes: [{ op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['image_embeds'], attributes: { axes: [2, 3], keepdims: 0 } }],
  });
  await mkdir(join(modelsDir, 'clip-like'), { recursive: true });
  await writeFile(join(modelsDir, 'clip-like', 'vision.onnx'), onnx);
  await writeFile(
    join(modelsDir, 'clip-like', 'card.json'),
    JSON.stringify({
      id: 'clip-like',
      version: '1',
      task: 'image-embedding',
      name: 'A CLIP-shaped test tower',
      files: { model: { path: 'vision.onnx', sha256: createHash('sha256').update(onnx).digest('hex'), size: onnx.byteLength } },
      input: { name: 'pixel_values', width: 8, height: 8, scale: 1 / 255 },
      output: { decoder: 'clip-image', options: { output: 'image_embeds' } },
      licence: 'CC0-1.0',
      source: 'made by the test',
    }),
  );
  const local = openRegistry({ modelsDir });
  const { card, files } = await local.resolve('clip-like');
  const embedder = createImageEmbedder(await engine.load(card, files));
  // A flat colour (51, 102, 204): the channel means are 0.2, 0.4, 0.8, whose unit vector is (1, 2, 4) / sqrt(21).
  const flat = { data: Buffer.from(Array.from({ length: 16 * 16 }, () => [51, 102, 204]).flat()), width: 16, height: 16 };
  const v = await embedder.embed(flat);
  const expected = [1, 2, 4].map((x) => x / Math.sqrt(21));
  t.ok(v.every((x, i) => Math.abs(x - expected[i]!) < 1e-6), `${Array.from(v)} is (1, 2, 4)/sqrt(21)`);
});
