// `planRun` against the local IIIF Image API server: the canvases, each image's planned request
// and size, from info.json only (the server counts what it was asked), and an estimate from the
// timings an earlier run recorded.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { manifestV3, startIiifImageServer } from '@loupe/demo';
import { loadConfig } from './config.js';
import { formatRunPlan, planRun, recordTimings } from './run-plan.js';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-plan-'));
t.teardown(async () => {
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const photo = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
const level2 = await server.addImage('l2', photo, { version: 3, level: 2 });
const plain = server.addFile('/files/plain.jpg', photo, 'image/jpeg');
const manifest = `${server.url}/m/plan.json`;
server.addDocument(
  '/m/plan.json',
  manifestV3({
    id: manifest,
    label: 'Plan',
    canvases: [
      { label: 'served', width: 3000, height: 2000, image: { serviceId: level2, version: 3, level: 2, width: 3000, height: 2000 } },
      { label: 'plain', width: 3000, height: 2000, image: { url: plain, width: 3000, height: 2000 } },
    ],
  }),
);
const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir });

t.test('lists the canvases, the request each makes and its size, asking the server for info.json only', async (t) => {
  server.reset();
  const plan = await planRun(config, { source: manifest, pipeline: 'objects', measure: false });
  t.same(plan.manifests, [{ id: manifest, label: 'Plan', canvases: 2 }]);
  t.same(
    plan.images.map((i) => [i.label, i.request, i.width, i.height, i.from]),
    [
      ['served', `${level2}/full/2048,1365/0/default.jpg`, 2048, 1365, 'info.json'],
      ['plain', plain, 3000, 2000, 'manifest'],
    ],
  );
  t.same(server.requests, ['/m/plan.json', '/iiif/l2/info.json'], 'the manifest and the info.json: no image bytes');
  t.same(
    plan.stages.map((s) => [s.stage, s.models.map((m) => m.id)]),
    [['preprocess', []], ['detect', ['centernet-coco', 'blazeface-back']], ['store', []]],
  );
});

t.test('estimates from the timings a run recorded, with the skip applied', async (t) => {
  await recordTimings(dataDir, { 'centernet-coco': { runs: 4, requests: 4, ms: 1200, meanMs: 300, meanBatch: 1, queueMs: { p50: 0, p95: 0 } } }, { images: 2 });
  const plan = await planRun(config, { source: manifest, pipeline: 'objects', skip: ['faces'], measure: false });
  t.same(plan.stages[1]!.models, [{ id: 'centernet-coco', meanMs: 300, runsPerImage: 2, timing: 'recorded' }]);
  t.match(plan.estimate, { perImageMs: 600, totalMs: 1200, untimed: [], machine: { cores: os.cpus().length } });
  const text = formatRunPlan(plan);
  t.match(text, /2 canvases, 2 images \(pipeline objects, skipping faces\)/);
  t.match(text, /detect\s+centernet-coco 600 ms/);
  t.match(text, new RegExp(`estimate: 0.6 s of inference per image, 1.2 s in all, on this machine \\(${os.cpus().length} cores`));

  const other = await planRun(config, { source: manifest, pipeline: 'objects', measure: false });
  t.same(other.estimate.untimed, ['blazeface-back'], 'a model with no timing is named, not guessed');
});

t.test('a skip the pipeline lacks is refused as the API refuses it', async (t) => {
  await t.rejects(planRun(config, { source: manifest, pipeline: 'classify', skip: ['embed'], measure: false }), { code: 'LOUPE_ERR_VALIDATION', message: /no parts to turn off/ });
});

t.test('a small master: the plan offers upscaling as the run would, and says nothing once the job upscales', async (t) => {
  const small = await server.addImage('small', await sharp({ create: { width: 400, height: 300, channels: 3, background: '#ddd' } }).jpeg().toBuffer(), { version: 3, level: 2 });
  const page = `${server.url}/m/small.json`;
  server.addDocument('/m/small.json', manifestV3({ id: page, label: 'Small page', canvases: [{ label: 'p. 1', width: 400, height: 300, image: { serviceId: small, version: 3, level: 2, width: 400, height: 300 } }] }));
  const plan = await planRun(config, { source: page, pipeline: 'text', measure: false });
  t.same(plan.hints, ['Small page: 1 of 1 canvases come at most 400 px where the text reader wants 2048: add --enhance upscale=8 to upscale them first (docs/enhance.md)']);
  t.match(formatRunPlan(plan), /Small page: 1 of 1 canvases come at most 400 px/);
  const enhanced = await planRun(config, { source: page, pipeline: 'text', enhance: { upscale: 4 }, measure: false });
  t.same(enhanced.hints, [], 'the job already upscales: no offer');
  t.same(enhanced.stages[0]?.options, { orientation: 'text', enhance: { upscale: 4 } }, 'the enhancement is in the route, as the run would have it');
});
