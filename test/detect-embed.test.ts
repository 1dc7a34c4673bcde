// Objects, faces and image features from the offline pack, through the detect and embed services
// over real HTTP (Fastify inject) against a real IIIF Image API server: the TF.js models are
// converted to ONNX on first use and run in onnxruntime-node; nothing here is mocked.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { openSqliteAnnotationStore } from '@loupe/store';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { hammingDistance } from '@loupe/inference';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const ASTRONAUT = path.join(FIXTURES, 'photo-astronaut-eileen-collins-nasa.png');

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-detect-'));
const server = await startIiifImageServer();
const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['detect', 'embed', 'ground-truth'] }));
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
await embedded.app.start();

type Box = { x: number; y: number; w: number; h: number };
type Set = { stage: string; model: { id: string; version: string }; findings: { motivation: string; label?: string; concept?: string; confidence: number; box?: Box }[] };

const task = (serviceId: string, canvas: { width: number; height: number }, image: Record<string, unknown> = {}) => ({
  jobId: 'j',
  manifestId: 'https://ex.org/m',
  canvasId: `https://ex.org/m/canvas/${path.basename(serviceId)}`,
  canvasIndex: 0,
  canvasLabel: 'c',
  canvasWidth: canvas.width,
  canvasHeight: canvas.height,
  imageIndex: 0,
  image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3 as const, level: 2 as const }, ...image },
});

async function detect(body: unknown): Promise<Set[]> {
  const res = await embedded.app.inject({ method: 'POST', url: '/v1/detect', payload: body as Record<string, unknown> });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
  return (res.json() as { resultSets: Set[] }).resultSets;
}

/** A smooth picture with nothing in it: no detector should see an object or a face. */
async function plainPicture(): Promise<Buffer> {
  const w = 640;
  const h = 480;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px[i] = 120 + Math.round(60 * (x / w));
      px[i + 1] = 130 + Math.round(40 * (y / h));
      px[i + 2] = 150;
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

t.test('detect: each kind on request, one result set per model, nothing found in an empty picture', async (t) => {
  const serviceId = await server.addImage('plain', await plainPicture(), { version: 3, level: 2 });
  const sets = await detect({ task: task(serviceId, { width: 1280, height: 960 }), options: { kinds: ['objects', 'faces'] } });
  t.same(sets.map((s) => s.stage), ['detect.objects', 'detect.faces']);
  t.match(sets[0]!.model, { id: 'centernet-coco', version: '3.0.4' });
  t.match(sets[1]!.model, { id: 'blazeface-back', version: '3.0.4' });
  t.same(sets.map((s) => s.findings.filter((f) => f.confidence >= 0.5).length), [0, 0], 'no object and no face above 0.5');

  const faces = await detect({ task: task(serviceId, { width: 1280, height: 960 }), options: { kinds: ['faces'] } });
  t.same(faces.map((s) => s.stage), ['detect.faces'], 'only what was asked for');
});

t.test('detect: text lines come in the same request when asked for', async (t) => {
  const page = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 3), font: 'serif', sizePt: 20, width: 900, format: 'png' });
  const serviceId = await server.addImage('page', page.image, { version: 3, level: 2 });
  const sets = await detect({ task: task(serviceId, { width: page.width, height: page.height }), options: { kinds: ['text', 'objects'] } });
  t.same(sets.map((s) => s.stage), ['detect.objects', 'detect.text']);
  const text = sets[1]!;
  t.equal(text.findings.length, 3, 'three lines');
  t.ok(text.findings.every((f) => f.motivation === 'supplementing' && f.box));
});

t.test('detect: bad options are refused, naming what was wrong', async (t) => {
  const serviceId = await server.addImage('plain2', await plainPicture(), { version: 3, level: 2 });
  const res = await embedded.app.inject({ method: 'POST', url: '/v1/detect', payload: { task: task(serviceId, { width: 640, height: 480 }), options: { kinds: ['cats'] } } });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { code: 'LOUPE_ERR_VALIDATION', message: /options\.kinds must be a non-empty list of objects, faces, text; got \["cats"\]/ });
  const score = await embedded.app.inject({ method: 'POST', url: '/v1/detect', payload: { task: task(serviceId, { width: 640, height: 480 }), options: { minScore: 2 } } });
  t.match(score.json(), { code: 'LOUPE_ERR_VALIDATION', message: /minScore must be a number from 0 to 1/ });
});

t.test('detect on a photograph: a person and a face, boxes in canvas coordinates through region and rotation', { skip: existsSync(ASTRONAUT) ? false : `no fixture at ${ASTRONAUT} (../shared is absent)` }, async (t) => {
  const photo = await fs.readFile(ASTRONAUT);
  // The canvas is twice the image's size, so boxes must be scaled back as well as moved.
  const canvas = { width: 1024, height: 1024 };
  const upright = await server.addImage('astronaut', photo, { version: 3, level: 2 });
  const base = await detect({ task: task(upright, canvas), options: { kinds: ['objects', 'faces'] } });
  const person = base[0]!.findings.find((f) => f.label === 'person');
  const face = base[1]!.findings[0];
  t.ok(person && person.confidence >= 0.5, `a person (${JSON.stringify(person)})`);
  t.match(person, { motivation: 'tagging', concept: 'http://www.wikidata.org/entity/Q5' });
  t.ok(face && face.confidence >= 0.5, `a face (${JSON.stringify(face)})`);
  t.match(face, { motivation: 'tagging', label: 'face' });
  // Her nose tip is at about (222, 127) of the 512 px image (read off the picture), (444, 254) on the canvas.
  const f = face!.box!;
  t.ok(f.x < 444 && f.x + f.w > 444 && f.y < 254 && f.y + f.h > 254 && f.w > 120 && f.w < 320, `face box ${JSON.stringify(f)} in canvas units`);

  const near = (a: Box, b: Box, tol: number) => Math.abs(a.x - b.x) <= tol && Math.abs(a.y - b.y) <= tol && Math.abs(a.x + a.w - b.x - b.w) <= tol && Math.abs(a.y + a.h - b.y - b.h) <= tol;

  // Stored turned a quarter anticlockwise and painted with rotation 90: the detector sees it upright,
  // and the boxes come back where they are on the canvas.
  const sideways = await server.addImage('astronaut-sideways', await sharp(photo).rotate(270).png().toBuffer(), { version: 3, level: 2 });
  const painted = await detect({ task: task(sideways, canvas, { rotation: 90 }), options: { kinds: ['faces'] } });
  t.ok(near(painted[0]!.findings[0]!.box!, f, 16), `painted rotation: ${JSON.stringify(painted[0]!.findings[0]!.box)} vs ${JSON.stringify(f)}`);

  // Preprocess said: turn it 180 more (a picture scanned upside down).
  const upsideDown = await server.addImage('astronaut-180', await sharp(photo).rotate(180).png().toBuffer(), { version: 3, level: 2 });
  const turned = await detect({ task: task(upsideDown, canvas), results: { preprocess: { rotation: 180 } }, options: { kinds: ['faces'] } });
  const expected180 = { x: canvas.width - f.x - f.w, y: canvas.height - f.y - f.h, w: f.w, h: f.h };
  t.ok(near(turned[0]!.findings[0]!.box!, expected180, 16), `preprocess rotation: ${JSON.stringify(turned[0]!.findings[0]!.box)} vs ${JSON.stringify(expected180)}`);

  // Preprocess found the object: only that region (image pixels) is fetched, and boxes still land on the canvas.
  const region = { x: 100, y: 20, w: 300, h: 300 };
  const cut = await detect({ task: task(upright, canvas), results: { preprocess: { region } }, options: { kinds: ['faces'] } });
  t.ok(near(cut[0]!.findings[0]!.box!, f, 16), `region request: ${JSON.stringify(cut[0]!.findings[0]!.box)} vs ${JSON.stringify(f)}`);
});

t.test('embed: an L2-normalised vector with its model and version, and a perceptual hash', async (t) => {
  const coin = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 6), font: 'serif', sizePt: 22, width: 800, format: 'png' });
  const a = await server.addImage('embed-a', coin.image, { version: 3, level: 2 });
  const b = await server.addImage('embed-b', await sharp(coin.image).resize({ width: 560 }).jpeg({ quality: 55 }).toBuffer(), { version: 3, level: 2 });
  const c = await server.addImage('embed-c', await plainPicture(), { version: 3, level: 2 });
  const embed = async (serviceId: string) => {
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/embed', payload: { image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } } } });
    t.equal(res.statusCode, 200, res.body);
    return res.json() as { model: { id: string; version: string }; dims: number; vector: number[]; phash: string; request: string };
  };
  const [ea, eb, ec] = [await embed(a), await embed(b), await embed(c)];
  t.same(ea.model, { id: 'mobilenet-v2-features', version: '4.2.1' });
  t.equal(ea.dims, ea.vector.length);
  t.ok(Math.abs(Math.hypot(...ea.vector) - 1) < 1e-5, 'unit length');
  t.match(ea.phash, /^[0-9a-f]{16}$/);
  t.match(ea.request, /\/full\/\d+,\d+\/0\/default\.jpg$|\/full\/!?\d+,\d+\/0\/default\.jpg$/, 'a sized IIIF request, never the master');
  const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
  t.ok(cos(ea.vector, eb.vector) > cos(ea.vector, ec.vector) + 0.1, `a re-encoded copy is closer (${cos(ea.vector, eb.vector).toFixed(3)}) than another picture (${cos(ea.vector, ec.vector).toFixed(3)})`);
  t.ok(hammingDistance(ea.phash, eb.phash) <= 6, `near-duplicate hashes (${hammingDistance(ea.phash, eb.phash)} bits apart)`);
  t.ok(hammingDistance(ea.phash, ec.phash) > 12, `different pictures (${hammingDistance(ea.phash, ec.phash)} bits apart)`);

  const missing = await embedded.app.inject({ method: 'POST', url: '/v1/embed', payload: { model: 'centernet-coco', image: { id: `${a}/full/max/0/default.jpg`, service: { id: a, version: 3, level: 2 } } } });
  t.match(missing.json(), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /image-embedding model "centernet-coco" is not installed/ });
});

t.test('embed stage: kept once per image and model, searchable; a redelivery changes nothing', async (t) => {
  const serviceId = await server.addImage('embed-stage', await plainPicture(), { version: 3, level: 2 });
  const body = { task: { ...task(serviceId, { width: 640, height: 480 }), rights: 'https://creativecommons.org/publicdomain/zero/1.0/' }, results: {}, options: {} };
  const first = await embedded.app.inject({ method: 'POST', url: '/v1/embed/canvas', payload: body });
  t.equal(first.statusCode, 200, first.body);
  t.match(first.json(), { model: { id: 'mobilenet-v2-features', version: '4.2.1' }, id: `${body.task.canvasId}#0`, dims: 1280 });
  const again = await embedded.app.inject({ method: 'POST', url: '/v1/embed/canvas', payload: body });
  t.equal(again.statusCode, 200);
  const search = await embedded.app.inject({ method: 'POST', url: '/v1/search', payload: { url: `${serviceId}/full/max/0/default.jpg`, limit: 5 } });
  t.equal(search.statusCode, 200, search.body);
  const out = search.json() as { query: string; hits: { canvasId: string; score: number; thumbnail: string; rights: string }[] };
  t.equal(out.query, 'url');
  t.equal(out.hits.filter((h) => h.canvasId === body.task.canvasId).length, 1, 'one point, however often it was delivered');
  const hit = out.hits.find((h) => h.canvasId === body.task.canvasId)!;
  t.ok(hit.score > 0.99, `the same picture scores ${hit.score}`);
  t.match(hit.thumbnail, new RegExp(`^${serviceId}/full/\\d+,\\d*/0/default\\.jpg$|^${serviceId}/full/!?\\d+,\\d+/0/default\\.jpg$`), 'a small IIIF request');
  t.equal(hit.rights, body.task.rights);
});

t.test('loupe run --pipeline enrich: objects, faces, text and embeddings in one pass; a broken canvas fails alone', async (t) => {
  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-enrich-'));
  t.teardown(() => fs.rm(runDir, { recursive: true, force: true }));
  const page = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 2), font: 'sans', sizePt: 20, width: 900, format: 'jpeg' });
  const text = await server.addImage('enrich-page', page.image, { version: 3, level: 2 });
  const picture = await server.addImage('enrich-picture', await plainPicture(), { version: 2, level: 1 });
  const missing = server.addFile('/files/enrich-missing.jpg', page.image, 'image/jpeg');
  server.fail(missing, { status: 404 });
  const manifest = `${server.url}/m/enrich.json`;
  server.addDocument(
    '/m/enrich.json',
    manifestV3({
      id: manifest,
      label: 'Enrich',
      canvases: [
        { id: `${manifest}#letter`, label: 'letter', width: page.width, height: page.height, image: { width: page.width, height: page.height, serviceId: text, version: 3, level: 2 } },
        { id: `${manifest}#picture`, label: 'picture', width: 1280, height: 960, image: { width: 640, height: 480, serviceId: picture, version: 2, level: 1 } },
        { label: 'gone', width: 640, height: 480, image: { width: 640, height: 480, url: missing } },
      ],
    }),
  );
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir: runDir });
  const report = await runPipeline(config, { source: manifest, outDir: path.join(runDir, 'out'), pipeline: 'enrich' });
  t.equal(report.state, 'done');
  t.equal(report.images, 3);
  t.same(Object.keys(report.stages).sort(), ['caption', 'detect', 'embed', 'preprocess', 'store']);
  t.equal(report.failures.length, 1, 'only the missing image fails');
  const stored = await openSqliteAnnotationStore({ path: path.join(runDir, 'loupe.db') });
  const captions = await stored.query({ manifestId: manifest, motivation: 'describing' });
  await stored.close();
  t.ok(captions.length >= 1, 'a composed caption describes what was found');
  t.match(report.failures[0], { stage: 'preprocess', code: 'LOUPE_ERR_FETCH_NOT_FOUND' });
  t.ok(report.annotations >= 2, `the letter's lines are annotations (${report.annotations})`);
  // Both good images are searchable by their canvas, each finding the other.
  const run2 = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir: runDir, services: ['embed'] }));
  t.teardown(() => run2.close());
  await run2.app.start();
  const found = await run2.app.inject({ method: 'POST', url: '/v1/search', payload: { canvas: { id: `${manifest}#picture` }, filter: { manifest } } });
  t.equal(found.statusCode, 200, found.body);
  t.same((found.json() as { hits: { canvasId: string }[] }).hits.map((h) => h.canvasId), [`${manifest}#letter`], 'the other good image, not itself, not the failed one');
});

t.test('objects and faces become tagging annotations: the class name and its Wikidata entity, with provenance', async (t) => {
  const serviceId = await server.addImage('tagging', await plainPicture(), { version: 3, level: 2 });
  const tk = task(serviceId, { width: 1280, height: 960 });
  const set = (stage: string, model: string, findings: unknown[]) => ({
    manifestId: tk.manifestId, canvasId: tk.canvasId, imageIndex: 0, stage, model: { id: model, version: '3.0.4' }, generated: '2026-11-23T10:00:00.000Z', findings,
  });
  const detectOutput = {
    resultSets: [
      set('detect.objects', 'centernet-coco', [{ motivation: 'tagging', label: 'person', concept: 'http://www.wikidata.org/entity/Q5', confidence: 0.61234, box: { x: 16, y: 18, w: 722, h: 1006 } }]),
      set('detect.faces', 'blazeface-back', [{ motivation: 'tagging', label: 'face', confidence: 0.88, box: { x: 344, y: 148, w: 212, h: 212 } }]),
    ],
  };
  const body = { task: tk, results: { detect: detectOutput } };
  for (let i = 0; i < 2; i++) {
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/results', payload: body });
    t.equal(res.statusCode, 200, res.body);
    t.match(res.json(), { sets: 2, inserted: i === 0 ? 2 : 0 }, i === 0 ? 'both result sets stored' : 'a redelivery adds nothing');
  }
  const page = (await embedded.app.inject({ method: 'GET', url: `/v1/annotations?canvas=${encodeURIComponent(tk.canvasId)}` })).json() as { items: Record<string, unknown>[] };
  t.equal(page.items.length, 2);
  const person = page.items.find((a) => JSON.stringify(a['body']).includes('person'))!;
  t.match(person, {
    motivation: 'tagging',
    body: [
      { type: 'TextualBody', value: 'person', purpose: 'tagging' },
      { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q5', purpose: 'identifying' },
    ],
    target: { type: 'SpecificResource', source: tk.canvasId, selector: { type: 'FragmentSelector', value: 'xywh=16,18,722,1006' } },
    generator: { 'loupe:model': 'centernet-coco', 'loupe:version': '3.0.4' },
    'loupe:confidence': 0.6123,
    'loupe:reviewState': 'unreviewed',
  });
  const face = page.items.find((a) => JSON.stringify(a['body']).includes('face'))!;
  t.match(face, { motivation: 'tagging', body: { type: 'TextualBody', value: 'face', purpose: 'tagging' }, generator: { 'loupe:model': 'blazeface-back' } });
});
