// Enhancement through the services: POST /v1/preprocess/enhance keeps a derived image that the
// gateway serves with its provenance; the job option makes later stages read the derived image and
// still land their findings where they are on the canvas.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { buildOnnxModel, startIiifImageServer } from '@loupe/testing';
import { generatedUpscaler } from '../packages/inference/src/enhance/generated-upscaler.test-support.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-enhance-'));
const modelsDir = path.join(dataDir, 'models');

// A real x2 upscaler (convolution + DepthToSpace, bilinear weights) installed as a card of the ESRGAN cards' shape:
// the synthetic case wants its exact, known output; the real photograph runs the pack's esrgan-slim-x2.
const { spec, card } = generatedUpscaler('bilinear');
const onnx = buildOnnxModel(spec);
await fs.mkdir(path.join(modelsDir, 'test-upscaler-x2'), { recursive: true });
await fs.writeFile(path.join(modelsDir, 'test-upscaler-x2', 'model.onnx'), onnx);
await fs.writeFile(
  path.join(modelsDir, 'test-upscaler-x2', 'card.json'),
  JSON.stringify({
    ...card,
    id: 'test-upscaler-x2',
    version: '1',
    task: 'super-resolution',
    name: 'Bilinear x2 upscaler (generated in a test)',
    files: { model: { url: 'https://models.example.org/test-upscaler-x2.onnx', path: 'model.onnx', sha256: createHash('sha256').update(onnx).digest('hex'), size: onnx.length } },
    licence: 'CC0-1.0',
    source: 'generated in this test',
  }),
);

const server = await startIiifImageServer();
const embedded = await createEmbedded(
  // A pixel budget of half a megapixel: the whole 600 x 400 picture upscaled twice is over it.
  loadConfig({ LOUPE_MODELS_DIR: modelsDir, LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_ENHANCE_MAX_PIXELS: '500000' }, { logLevel: 'silent', dataDir, services: ['gateway', 'preprocess', 'detect'] }),
);
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
await embedded.app.start();

const post = async <T>(url: string, payload: unknown): Promise<T> => {
  const res = await embedded.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> });
  if (res.statusCode !== 200) throw new Error(`${url} ${res.statusCode}: ${res.body}`);
  return res.json() as T;
};
const service = (id: string) => ({ id, version: 3 as const, level: 2 as const });
const task = (serviceId: string, width: number, height: number) => ({
  jobId: 'j',
  manifestId: 'https://ex.org/m',
  canvasId: `https://ex.org/m/canvas/${path.basename(serviceId)}`,
  canvasIndex: 0,
  canvasLabel: 'c',
  canvasWidth: width,
  canvasHeight: height,
  imageIndex: 0,
  image: { id: `${serviceId}/full/max/0/default.jpg`, service: service(serviceId) },
});

type Derived = { id: string; width: number; height: number; source: string; canvasRegion: { x: number; y: number; w: number; h: number }; factor: number; steps: { model: string; version: string }[]; links: { image: string; provenance: string } };

t.test('a region in canvas coordinates, upscaled: a derived PNG served by id with its provenance', async (t) => {
  const picture = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#446688' } })
    .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><circle cx="300" cy="200" r="90" fill="#e8c060"/></svg>') }])
    .png()
    .toBuffer();
  const serviceId = await server.addImage('disc', picture, { version: 3, level: 2 });
  // The canvas is twice the image: the region 400,200,400,400 is the image's 200,100,200,200.
  const out = await post<Derived>('/v1/preprocess/enhance', {
    image: { id: `${serviceId}/full/max/0/default.jpg`, service: service(serviceId) },
    canvas: { id: 'https://ex.org/m/canvas/disc', width: 1200, height: 800 },
    region: { x: 400, y: 200, w: 400, h: 400 },
    upscale: 2,
    model: 'test-upscaler-x2',
  });
  t.same([out.width, out.height], [400, 400], 'the 200 px region, twice as large');
  t.match(out.source, /\/200,100,200,200\//, 'the source is the IIIF request for the region');
  t.same(out.canvasRegion, { x: 400, y: 200, w: 400, h: 400 });
  t.match(out.steps, [{ model: 'test-upscaler-x2', version: '1' }]);

  const image = await embedded.app.inject({ method: 'GET', url: out.links.image });
  t.equal(image.statusCode, 200);
  t.match(image.headers['content-type'], /^image\/png/);
  const meta = await sharp(image.rawPayload).metadata();
  t.same([meta.width, meta.height], [400, 400], 'the PNG is the derived image');
  t.equal(createHash('sha256').update(image.rawPayload).digest('hex'), out.id, 'its id is the sha256 of its bytes');
  for (const url of [out.links.provenance, `${out.links.image}?format=json`]) {
    const json = await embedded.app.inject({ method: 'GET', url });
    t.equal(json.statusCode, 200, url);
    t.match(json.json(), { id: out.id, source: out.source, factor: 2, canvas: 'https://ex.org/m/canvas/disc' }, `${url}: the provenance`);
  }
  const bad = await embedded.app.inject({ method: 'GET', url: '/v1/derived/..%2F..%2Fkeys.json' });
  t.equal(bad.statusCode, 400, 'a path is never an id');
  const none = await embedded.app.inject({ method: 'GET', url: `/v1/derived/${'0'.repeat(64)}` });
  t.equal(none.statusCode, 404);
  const nothing = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess/enhance', payload: { image: { id: `${serviceId}/full/max/0/default.jpg`, service: service(serviceId) } } });
  t.equal(nothing.statusCode, 400, 'neither deblur nor upscale: refused');
  const whole = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess/enhance', payload: { image: { id: `${serviceId}/full/max/0/default.jpg`, service: service(serviceId) }, upscale: 2, model: 'test-upscaler-x2' } });
  t.equal(whole.statusCode, 400, 'over LOUPE_ENHANCE_MAX_PIXELS: refused before any model runs');
  t.match(whole.json(), { message: /1200x800 = 960000 pixels, over the pixel budget of 500000/ });
});

t.test('the job option: detect on the upscaled image lands its boxes where they are on the original', { skip: !existsSync(FIXTURES) && `no fixtures at ${FIXTURES} (../shared is absent)` }, async (t) => {
  // A small master: the photograph at 400 px, on a canvas twice as large.
  const master = await sharp(path.join(FIXTURES, 'photo-genthe-chinatown-children-walking.jpg')).resize(400).jpeg({ quality: 92 }).toBuffer();
  const { width, height } = await sharp(master).metadata();
  const serviceId = await server.addImage('small-master', master, { version: 3, level: 2 });
  const canvas = task(serviceId, width! * 2, height! * 2);
  type Box = { x: number; y: number; w: number; h: number };
  type Sets = { resultSets: { findings: { label?: string; confidence: number; box?: Box }[] }[] };
  const boxes = async (preprocess: unknown): Promise<{ label: string; box: Box }[]> => {
    const out = await post<Sets>('/v1/detect', { task: canvas, results: { preprocess }, options: { kinds: ['objects'] } });
    return out.resultSets.flatMap((s) => s.findings).filter((f) => f.box && f.confidence >= 0.4).map((f) => ({ label: f.label!, box: f.box! }));
  };
  const plain = await post<{ width: number }>('/v1/preprocess', { task: canvas, results: {}, options: {} });
  const enhanced = await post<{ width: number; enhanced: Derived }>('/v1/preprocess', { task: canvas, results: {}, options: { enhance: { upscale: 2 } } });
  t.equal(enhanced.enhanced.width, plain.width * 2, 'preprocess made the derived image and says so');
  t.match(enhanced.enhanced.steps, [{ model: 'esrgan-slim-x2', version: '1.0.0' }], 'with the pack\'s ESRGAN, converted on first use');
  const before = await boxes(plain);
  const after = await boxes(enhanced);
  t.ok(before.length > 0, `objects found on the original: ${before.map((b) => b.label).join(', ')}`);
  // One canvas unit is half an image pixel here: two image pixels are four units.
  const apart = before.map(({ label, box }) => {
    const same = after.filter((a) => a.label === label);
    const gap = (b: Box) => Math.max(Math.abs(b.x - box.x), Math.abs(b.y - box.y), Math.abs(b.x + b.w - box.x - box.w), Math.abs(b.y + b.h - box.y - box.h));
    return Math.min(...same.map((a) => gap(a.box)));
  });
  t.comment(`corner gaps, canvas units: ${apart.map((d) => d.toFixed(1)).join(', ')}`);
  t.ok(apart.every((d) => d <= 4), 'every box lands within two image pixels of where it is on the original');
});
