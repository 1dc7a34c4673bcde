// Preprocess made real: a page scanned upside down is found from its text lines, a coin on a
// backdrop becomes the coin (ISNet background removal from the built-in pack), and later stages
// read both as a IIIF rotation and region.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { SAMPLE_TEXTS, renderTextPage, startIiifImageServer } from '@loupe/testing';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-pre-'));
const server = await startIiifImageServer();
const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['preprocess'] }));
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
await embedded.app.start();

const task = (serviceId: string, width: number, height: number) => ({
  jobId: 'j',
  manifestId: 'https://ex.org/m',
  canvasId: 'https://ex.org/m/c1',
  canvasIndex: 0,
  canvasLabel: 'c1',
  canvasWidth: width * 2,
  canvasHeight: height * 2,
  imageIndex: 0,
  image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3 as const, level: 2 as const } },
});

t.test('a page scanned upside down: rotation 180 from the majority of its lines', async (t) => {
  const pages = {
    upright: await renderTextPage({ lines: SAMPLE_TEXTS.letter, font: 'serif', sizePt: 20, width: 1000, format: 'png' }),
    turned: await renderTextPage({ lines: SAMPLE_TEXTS.letter, font: 'serif', sizePt: 20, width: 1000, format: 'png', rotate180: true }),
  };
  type Line = { polygon: [number, number][]; angle: number };
  const tops: Record<string, number[]> = {};
  for (const [name, page] of Object.entries(pages)) {
    const serviceId = await server.addImage(`page-${name}`, page.image, { version: 3, level: 2 });
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess', payload: { task: task(serviceId, page.width, page.height), results: {}, options: { orientation: 'text' } } });
    t.equal(res.statusCode, 200, res.body);
    const out = res.json() as {
      rotation: number;
      width: number;
      height: number;
      orientation: { source: string; lines: number; upright: number; upsideDown: number };
      text: { width: number; height: number; lines: Line[] };
    };
    t.equal(out.orientation.source, 'text-lines');
    t.equal(out.orientation.lines, SAMPLE_TEXTS.letter.length, 'every line voted');
    t.equal(out.rotation, name === 'turned' ? 180 : 0, `${name}: rotation ${out.rotation} (${out.orientation.upright} upright, ${out.orientation.upsideDown} upside down)`);
    // The lines are handed on, as the text stage will fetch the page: turned upright.
    t.same([out.text.width, out.text.height], [out.width, out.height], 'in the pixels of the shared request');
    t.equal(out.text.lines.length, SAMPLE_TEXTS.letter.length, 'every line handed on to the text stage');
    t.ok(out.text.lines.every((l) => l.angle === 0 && l.polygon.length === 4), `${name}: every line reads upright in the frame later stages fetch`);
    tops[name] = out.text.lines.map((l) => Math.min(...l.polygon.map((p) => p[1]))).sort((a, b) => a - b);
  }
  // The turned page's lines, mapped through the half turn, lie where the upright page's are (within
  // a quarter of a 20-pt line: the detector does not draw a turned line's box to the same pixel).
  const apart = tops['upright']!.map((y, i) => Math.abs(y - tops['turned']![i]!));
  t.ok(Math.max(...apart) <= 10, `line tops within 10 px of the upright page's (${apart.map((d) => d.toFixed(1)).join(', ')})`);
});

t.test('a coin on a backdrop becomes the coin: a IIIF region, and the mask as a PNG', async (t) => {
  // A 900x700 cloth-like backdrop with a textured golden disc of radius 150 centred at (600, 300).
  const noise = Buffer.alloc(900 * 700 * 3);
  for (let i = 0; i < noise.length; i += 3) {
    const n = (Math.sin(i * 0.37) + Math.sin(i * 0.011)) * 6;
    noise[i] = 70 + n;
    noise[i + 1] = 90 + n;
    noise[i + 2] = 80 + n;
  }
  const disc = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300">
       <defs><radialGradient id="g" cx="40%" cy="35%" r="70%"><stop offset="0" stop-color="#f4d68a"/><stop offset="1" stop-color="#9a7424"/></radialGradient></defs>
       <circle cx="150" cy="150" r="148" fill="url(#g)" stroke="#6b4f12" stroke-width="4"/>
       <circle cx="150" cy="150" r="120" fill="none" stroke="#7a5a18" stroke-width="3"/>
       <circle cx="150" cy="125" r="45" fill="#b38b34" stroke="#6b4f12" stroke-width="3"/>
       <rect x="105" y="170" width="90" height="60" rx="20" fill="#b38b34" stroke="#6b4f12" stroke-width="3"/>
     </svg>`,
  );
  const coin = await sharp(noise, { raw: { width: 900, height: 700, channels: 3 } })
    .composite([{ input: disc, left: 450, top: 150 }])
    .jpeg({ quality: 90 })
    .toBuffer();
  const serviceId = await server.addImage('coin', coin, { version: 3, level: 2 });
  const res = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess', payload: { task: task(serviceId, 900, 700), results: {}, options: { foreground: true, mask: true } } });
  t.equal(res.statusCode, 200, res.body);
  const out = res.json() as { region: { x: number; y: number; w: number; h: number }; iiifRegion: string; foreground: { coverage: number; canvasRegion: { x: number; w: number } }; mask: { format: string; width: number; height: number; data: string } };
  const r = out.region;
  t.ok(r, 'an object was found');
  const near = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;
  t.ok(near(r.x, 450, 30) && near(r.y, 150, 30) && near(r.x + r.w, 750, 30) && near(r.y + r.h, 450, 30), `the region ${out.iiifRegion} is the coin (450,150,300,300, with a margin)`);
  t.equal(out.iiifRegion, `${r.x},${r.y},${r.w},${r.h}`);
  t.ok(near(out.foreground.canvasRegion.x, r.x * 2, 2), 'and on the canvas, twice the pixels');
  t.ok(out.foreground.coverage > 0.08 && out.foreground.coverage < 0.3, `coverage ${out.foreground.coverage} is the disc's share`);
  const mask = Buffer.from(out.mask.data, 'base64');
  const meta = await sharp(mask).metadata();
  t.equal(meta.format, 'png');
  const { data } = await sharp(mask).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => data[(y * meta.width! + x) * meta.channels!]!;
  t.ok(at(Math.round((600 / 900) * meta.width!), Math.round((300 / 700) * meta.height!)) > 200, 'the mask is white on the coin');
  t.ok(at(10, 10) < 50, 'and black on the backdrop');
});

t.test('the card slot for an orientation model: an installed model decides 0/90/180/270', async (t) => {
  const { buildOnnxModel } = await import('@loupe/testing');
  const { createHash } = await import('node:crypto');
  // A stand-in for an institution's model: whatever the pixels, it is sure the image needs 90 degrees.
  const model = buildOnnxModel({
    inputs: [{ name: 'pixel_values', type: 'float32', dims: [1, 3, 8, 8] }],
    outputs: [{ name: 'logits', type: 'float32', dims: [1, 4] }],
    initializers: [
      { name: 'bias', type: 'float32', dims: [1, 4], values: [0, 5, 0, 0] },
      { name: 'zero', type: 'float32', dims: [1], values: [0] },
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['mean'], attributes: { axes: [1, 2, 3], keepdims: 1 } },
      { op: 'Mul', inputs: ['mean', 'zero'], outputs: ['nothing'] },
      { op: 'Flatten', inputs: ['nothing'], outputs: ['flat'], attributes: { axis: 1 } },
      { op: 'Add', inputs: ['bias', 'flat'], outputs: ['logits'] },
    ],
  });
  const modelsDir = path.join(dataDir, 'models');
  await fs.mkdir(path.join(modelsDir, 'tiny-orientation'), { recursive: true });
  await fs.writeFile(path.join(modelsDir, 'tiny-orientation', 'model.onnx'), model);
  await fs.writeFile(
    path.join(modelsDir, 'tiny-orientation', 'card.json'),
    JSON.stringify({
      id: 'tiny-orientation',
      version: '1',
      task: 'orientation',
      name: 'Tiny orientation model (test)',
      files: { model: { url: 'https://models.example.org/tiny-orientation.onnx', path: 'model.onnx', sha256: createHash('sha256').update(model).digest('hex'), size: model.length } },
      input: { width: 8, height: 8, batch: false },
      output: { decoder: 'softmax' },
      labels: [{ name: '0' }, { name: '90' }, { name: '180' }, { name: '270' }],
      licence: 'CC0-1.0',
      source: 'generated in this test',
    }),
  );
  const withModel = await createEmbedded(
    loadConfig({ LOUPE_MODELS_DIR: modelsDir, LOUPE_ORIENTATION_MODEL: 'tiny-orientation', LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['preprocess'] }),
  );
  t.teardown(() => withModel.close());
  await withModel.app.start();
  const page = await renderTextPage({ lines: ['Folio 1'], font: 'sans', sizePt: 20, width: 300, format: 'png' });
  const serviceId = await server.addImage('slot', page.image, { version: 3, level: 2 });
  const res = await withModel.app.inject({ method: 'POST', url: '/v1/preprocess', payload: { task: task(serviceId, page.width, page.height), results: {}, options: { orientation: 'model' } } });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { rotation: 90, orientation: { source: 'model' } });
  t.ok((res.json() as { orientation: { confidence: number } }).orientation.confidence > 0.9);

  const none = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess', payload: { task: task(serviceId, page.width, page.height), results: {}, options: { orientation: 'model' } } });
  t.equal(none.statusCode, 503, 'without one configured: a clear error');
  t.equal((none.json() as { code: string }).code, 'LOUPE_ERR_MODEL_NOT_INSTALLED');
});
