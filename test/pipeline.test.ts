// End to end: `loupe run` over real HTTP against the local IIIF Image API server, with real OCR.
// One collection mixes good pages with every kind of bad input; the job must finish for the
// good canvases and name each failure.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import Ajv from 'ajv';
import { loadConfig, runPipeline, createEmbedded } from '@loupe/cli';
import { SAMPLE_TEXTS, collectionV3, manifestV2, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = path.join(repoRoot, '..', 'shared', 'fixtures', 'schemas', 'iiif-presentation-3.0.schema.json');

const server = await startIiifImageServer();
t.teardown(() => server.close());
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-e2e-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));

const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 20, width: 1000, format: 'jpeg' });
const letter = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 2), font: 'sans', sizePt: 20, width: 1000, format: 'jpeg' });
const huge = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#fff' } }).jpeg().toBuffer();

const good = await server.addImage('good', page.image, { version: 3, level: 2 });
const goodV2 = await server.addImage('good-v2', letter.image, { version: 2, level: 1 });
const badInfo = await server.addImage('bad-info', page.image, { version: 3, level: 2 });
server.fail(`${badInfo}/info.json`, { status: 200, body: '{ this is not json', contentType: 'application/json' });
const missing = server.addFile('/files/missing.jpg', page.image, 'image/jpeg');
server.fail(missing, { status: 404 });
const html = server.addFile('/files/html.jpg', page.image, 'image/jpeg');
server.fail(html, { status: 200, body: '<html><body>Please log in</body></html>', contentType: 'text/html' });
const truncated = server.addFile('/files/truncated.jpg', page.image, 'image/jpeg');
server.fail(truncated, { truncate: true });
const tooBig = server.addFile('/files/huge.jpg', huge, 'image/jpeg');
const silent = server.addFile('/files/silent.jpg', page.image, 'image/jpeg');
server.fail(silent, { never: true });

const canvas = (label: string, image: Record<string, unknown>, w = page.width, h = page.height) => ({ label, width: w * 2, height: h * 2, image: { width: w, height: h, ...image } });
const printed = `${server.url}/m/printed.json`;
server.addDocument(
  '/m/printed.json',
  manifestV3({
    id: printed,
    label: 'Printed',
    canvases: [
      canvas('good page', { serviceId: good, version: 3, level: 2 }),
      canvas('info.json is not JSON', { serviceId: badInfo, version: 3, level: 2 }),
      canvas('image answers 404', { url: missing }),
      canvas('image answers HTML', { url: html }),
      canvas('truncated JPEG', { url: truncated }),
      canvas('over the pixel limit', { url: tooBig }, 3000, 3000),
      canvas('server never answers', { url: silent }),
    ],
  }),
);
const v2 = `${server.url}/m/letter-v2.json`;
server.addDocument('/m/letter-v2.json', manifestV2({ id: v2, label: 'Letter', canvases: [canvas('letter', { serviceId: goodV2, version: 2, level: 1 }, letter.width, letter.height)] }));
const notIiif = `${server.url}/m/not-iiif.json`;
server.addDocument('/m/not-iiif.json', { hello: 'this is JSON but not IIIF' });
const collection = `${server.url}/c/all.json`;
server.addDocument(
  '/c/all.json',
  collectionV3({ id: collection, items: [{ id: printed }, { id: v2 }, { id: notIiif }] }),
);

const env = {
  LOUPE_FETCH_TIMEOUT_MS: '1500',
  LOUPE_FETCH_MAX_PIXELS: '4000000',
  LOUPE_FETCH_RETRIES: '0',
  LOUPE_MAX_DELIVER: '2',
  LOUPE_RETRY_BASE_MS: '50',
  LOUPE_PUBLIC_URL: 'https://loupe.example.test',
  LOUPE_FETCH_ALLOW: '127.0.0.1',
};
const config = loadConfig(env, { logLevel: 'silent', dataDir });

t.test('one job over good and broken canvases', async (t) => {
  const outDir = path.join(dataDir, 'out');
  const report = await runPipeline(config, { source: collection, outDir });
  t.equal(report.state, 'done', 'the job finishes despite the broken canvases');
  t.equal(report.manifests.length, 2, 'both IIIF manifests are harvested');
  t.equal(report.images, 8, 'one task per canvas image');
  t.equal(report.canvases, 8);

  const failures = new Map(report.failures.map((f) => [f.canvas ?? 'document', f]));
  const codeFor = (label: string) => report.failures.find((f) => f.canvas?.endsWith(`/canvas/${label}`))?.code;
  t.equal(codeFor('2'), 'LOUPE_ERR_IIIF_NOT_JSON', 'info.json that is not JSON');
  t.equal(codeFor('3'), 'LOUPE_ERR_FETCH_NOT_FOUND', 'image answering 404');
  t.equal(codeFor('4'), 'LOUPE_ERR_FETCH_CONTENT_TYPE', 'image answering HTML');
  t.equal(codeFor('5'), 'LOUPE_ERR_IMAGE_DECODE', 'truncated JPEG');
  t.equal(codeFor('6'), 'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS', 'image over the pixel limit');
  t.equal(codeFor('7'), 'LOUPE_ERR_FETCH_TIMEOUT', 'server that never answers');
  const notIiifFailure = report.failures.find((f) => f.code === 'LOUPE_ERR_IIIF_NOT_IIIF');
  t.ok(notIiifFailure, 'the member that is not IIIF is reported');
  t.match(notIiifFailure?.message, /not-iiif\.json/, 'naming the document');
  t.equal(report.failures.length, 7, 'exactly the seven broken inputs fail');
  for (const f of report.failures) t.ok(f.message.length > 0 && f.stage.length > 0, `failure of ${f.canvas ?? 'a document'} has a stage and a reason`);
  t.ok(failures.size > 0);

  // The good canvases were read, in canvas coordinates (canvases are twice the pixel size).
  const manifest = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8'));
  const first = manifest.items[0];
  const items = first.annotations[0].items as { body: { value: string }; target: { selector: { value: string } }; motivation: string; 'loupe:confidence': number }[];
  t.equal(items.length, SAMPLE_TEXTS.catalogueNote.length, 'one annotation per printed line');
  t.match(items[0]!.body.value, /Catalogue/);
  t.equal(items[0]!.motivation, 'supplementing');
  t.ok(items.every((a) => a['loupe:confidence'] > 0.5 && a['loupe:confidence'] <= 1), 'confidences are probabilities');
  const [x, y, w] = items[0]!.target.selector.value.replace('xywh=', '').split(',').map(Number);
  const truth = page.lines[0]!.box;
  t.ok(Math.abs(x! - truth.x * 2) < 30 && Math.abs(y! - truth.y * 2) < 30 && Math.abs(w! - truth.w * 2) < 80, `box ${x},${y},${w} is in canvas coordinates (truth ${truth.x * 2},${truth.y * 2},${truth.w * 2})`);
  t.same(manifest['@context'].at(-1), 'http://iiif.io/api/presentation/3/context.json', 'the IIIF context comes last');

  const files = await fs.readdir(path.join(outDir, 'annotations'));
  t.equal(files.length, 8, 'one AnnotationPage file per canvas');
  const saved = JSON.parse(await fs.readFile(path.join(outDir, 'report.json'), 'utf8'));
  t.same(Object.keys(saved).sort(), ['annotations', 'canvases', 'causes', 'failures', 'images', 'job', 'manifests', 'models', 'outputs', 'stages', 'state', 'tasks'].sort());
  t.ok(saved.stages['detect.text'].ms > 0, 'time per stage is reported');
  // Tesseract reads the lines (not an onnxruntime model); PP-OCR's detector found them.
  const det = saved.models['ppocr-v4-det'];
  t.match(det, { runs: Number, requests: Number, ms: Number, meanMs: Number, meanBatch: Number, queueMs: { p50: Number, p95: Number } }, 'and time per model');
  t.ok(det.runs > 0 && det.requests >= det.runs && det.ms > 0, 'the text detector ran, and its time counts');

  try {
    const schema = JSON.parse(await fs.readFile(schemaPath, 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    for (const file of report.outputs.manifests) {
      const doc = JSON.parse(await fs.readFile(file, 'utf8'));
      t.ok(validate(doc), `${path.basename(file)} validates against the IIIF Presentation 3 schema: ${ajv.errorsText(validate.errors)}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    t.comment(`IIIF Presentation 3 schema not found at ${schemaPath}: schema validation skipped (../shared is absent)`);
  }
});

t.test('running the same job twice leaves one copy of each annotation', async (t) => {
  const count = async () => {
    const embedded = await createEmbedded({ ...config, services: ['ground-truth'] });
    try {
      await embedded.app.start();
      const res = await embedded.app.inject({ method: 'GET', url: `/v1/annotations?manifest=${encodeURIComponent(printed)}` });
      return (res.json() as { items: unknown[] }).items.length;
    } finally {
      await embedded.close();
    }
  };
  const before = await count();
  t.ok(before > 0);
  const again = await runPipeline(config, { source: printed, outDir: path.join(dataDir, 'again') });
  t.equal(again.state, 'done');
  t.equal(await count(), before, 'no annotation was duplicated');
});

t.test('a source that is not IIIF fails the job, naming the document', async (t) => {
  const report = await runPipeline(config, { source: notIiif, outDir: path.join(dataDir, 'nothing') });
  t.equal(report.state, 'failed');
  t.equal(report.failures[0]?.code, 'LOUPE_ERR_IIIF_NOT_IIIF');
  t.match(report.failures[0]?.message, /not-iiif\.json/);
});
