// Classification into a vocabulary, end to end with real images and real models: three kinds of
// picture the test renders (line drawings, photograph-like scenes, printed pages: truly separable
// classes), labelled in the Europeana pilot's CSV and imported as ground truth; `loupe train` fits a
// head on the offline MobileNetV2 features (cross-validated, calibrated, saved as version 1);
// `loupe run --pipeline classify` classifies unseen canvases; the classify API answers top-k or
// above-threshold; the review queue orders canvases by uncertainty; a second version trained while
// the service runs is used without a restart.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import type { Annotation, AnnotationPage } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { toCsv } from '@loupe/datasets';
import { DRAWINGS, manifestV3, startIiifImageServer, type DrawingKind } from '@loupe/testing';
import { runLoupe } from './support/loupe-process.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-classify-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const env = { LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' };
const server = await startIiifImageServer();
t.teardown(() => server.close());

const CONCEPTS: Record<DrawingKind, string> = {
  'line drawing': 'https://vocab.example.org/technique/line-drawing',
  photograph: 'https://vocab.example.org/technique/photograph',
  'printed text': 'https://vocab.example.org/technique/printed-text',
};
const KINDS = Object.keys(CONCEPTS) as DrawingKind[];
const TRAIN_PER_CLASS = 12;
const NEW_PER_CLASS = 4;

/** One IIIF image per picture; the canvas id says which kind it is (the test's answer key). */
async function picture(kind: DrawingKind, seed: number, manifest: string) {
  const { image, width, height } = await DRAWINGS[kind]({ seed });
  const name = `${kind.replace(' ', '-')}-${seed}`;
  const serviceId = await server.addImage(name, image, { version: 3, level: 2 });
  return { kind, canvas: { id: `${manifest}#${name}`, label: name, width, height, image: { width, height, serviceId, version: 3, level: 2 } }, serviceId };
}

const trainManifest = `${server.url}/m/train.json`;
const train = [];
for (const kind of KINDS) for (let s = 1; s <= TRAIN_PER_CLASS; s++) train.push(await picture(kind, s, trainManifest));
const newManifest = `${server.url}/m/new.json`;
const unseen = [];
for (const kind of KINDS) for (let s = 1001; s < 1001 + NEW_PER_CLASS; s++) unseen.push(await picture(kind, s, newManifest));
server.addDocument('/m/new.json', manifestV3({ id: newManifest, label: 'Not yet described', canvases: unseen.map((p) => p.canvas) as never }));
const kindOf = new Map([...train, ...unseen].map((p) => [p.canvas.id, p.kind]));

// The ground truth, as a library would bring it: the pilot's CSV (category, skos_concept, URI, URL, ID).
const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-classify-cwd-'));
t.teardown(() => fs.rm(cwd, { recursive: true, force: true }));
const csv = toCsv(
  ['category', 'skos_concept', 'URI', 'URL', 'ID'],
  train.map((p) => [p.kind.replace(' ', '_'), CONCEPTS[p.kind], p.canvas.id, `${p.serviceId}/full/max/0/default.jpg`, `/train/${p.canvas.label}`]),
);
await fs.writeFile(path.join(cwd, 'techniques.csv'), csv);

const run = async (args: string[]) => {
  const ran = await runLoupe(args, { env, cwd });
  if (ran.code !== 0) throw new Error(`loupe ${args.join(' ')}: exit ${ran.code}\n${ran.stderr}\n${ran.stdout}`);
  return ran;
};

// A second Loupe (classify, embed, ground-truth) in this process, started before the subtests: it
// answers the API while the CLI trains and runs.
const embedded = await createEmbedded({ ...loadConfig(env), services: ['classify', 'embed', 'ground-truth'] });
t.teardown(() => embedded.close());
await embedded.app.start();
const call = async <T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, payload?: unknown) => {
  const res = await embedded.app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as T };
};

await t.test('loupe train: a head from the imported ground truth, cross-validated and calibrated', async (t) => {
  // The vocabulary names the concepts ('line drawing'); the CSV's categories are the pilot's names ('line_drawing').
  const vocab = JSON.stringify(Object.fromEntries(KINDS.map((k) => [k.replace(' ', '_'), CONCEPTS[k]])));
  t.equal((await call('POST', '/v1/vocabularies', { format: 'europeana-json', content: vocab, id: 'techniques' })).status, 200);
  const imported = await run(['datasets', 'import', 'techniques', '--format', 'europeana-csv', 'techniques.csv']);
  t.match(imported.stderr, `imported ${train.length} images into techniques`);
  const trained = await run(['train', '--dataset', 'techniques', '--embedding', 'mobilenet-v2-features', '--head', 'techniques', '--folds', '4']);
  t.match(trained.stdout, /Head techniques version 1 \(softmax, 3 concepts, 36 canvases\)/);
  t.match(trained.stdout, /Cross-validation \(4 folds\)/);
  t.notMatch(trained.stdout, 'Caution', 'a head that learned its classes is not said to be close to chance');
  const artefact = JSON.parse(await fs.readFile(path.join(dataDir, 'models', 'heads', 'techniques', '1.json'), 'utf8')) as {
    card: { task: string; embedding: { model: string; dims: number } };
    metrics: { accuracy: number; examples: number; classes: { concept: string; recall: number }[] };
    temperature: number;
  };
  t.equal(artefact.card.task, 'classification-head');
  t.same(artefact.card.embedding, { model: 'mobilenet-v2-features', version: artefact.card.embedding['version' as never], dims: 1280 });
  t.equal(artefact.metrics.examples, 36);
  // The bar: these classes are made to be told apart; out-of-fold accuracy at least 0.9.
  t.ok(artefact.metrics.accuracy >= 0.9, `cross-validated accuracy ${artefact.metrics.accuracy}`);
  t.ok(artefact.temperature > 0, 'a temperature was fitted');
});

await t.test('loupe run --pipeline classify: unseen canvases get the concept of their kind', async (t) => {
  const out = path.join(cwd, 'out');
  const ran = await run(['run', newManifest, '--pipeline', 'classify', '--head', 'techniques', '--out', out]);
  t.match(ran.stdout, /^done: 12 canvases/);
  t.notMatch(ran.stderr, 'close to chance');
  const files = await fs.readdir(path.join(out, 'annotations'));
  let right = 0;
  for (const file of files) {
    const page = JSON.parse(await fs.readFile(path.join(out, 'annotations', file), 'utf8')) as AnnotationPage;
    const [a] = page.items as Annotation[];
    t.equal(a!.motivation, 'classifying');
    t.match(a!.generator, { 'loupe:model': 'techniques', 'loupe:version': '1', 'loupe:embeddingModel': 'mobilenet-v2-features' });
    const bodies = a!.body as { type: string; source?: string; value?: string }[];
    const concept = bodies.find((b) => b.type === 'SpecificResource')!.source;
    const label = bodies.find((b) => b.type === 'TextualBody')!.value;
    t.equal(label, KINDS.find((k) => CONCEPTS[k] === concept), "the concept's preferred label from the vocabulary");
    const canvas = typeof a!.target === 'string' ? a!.target : '';
    if (concept === CONCEPTS[kindOf.get(canvas)!]) right += 1;
    t.type(a!['loupe:margin'], 'number', 'the uncertainty travels with the annotation');
  }
  t.equal(files.length, 12);
  t.ok(right >= 11, `${right} of 12 unseen canvases classified right`);

  // The classifications' generator id dereferences to the head's card.
  const card = await call<{ type: string; version: string; 'loupe:task': string; description: string }>('GET', '/v1/models/techniques/1');
  t.equal(card.status, 200, JSON.stringify(card.body));
  t.match(card.body, { type: 'Software', version: '1', 'loupe:task': 'classification-head' });
  t.match(card.body.description, /trained by loupe train on dataset techniques/);
  t.equal((await call('GET', '/v1/models/techniques/9')).status, 404, 'a version not on disk is not described');
});

await t.test('POST /v1/classify: top-k or above threshold, and it says which', async (t) => {
  const photo = unseen.find((p) => p.kind === 'photograph')!;
  const image = { id: `${photo.serviceId}/full/max/0/default.jpg`, service: { id: photo.serviceId, version: 3, level: 2 } };
  const top = await call<{ mode: string; k: number; predictions: { concept: string; probability: number }[]; head: { id: string; version: string } }>('POST', '/v1/classify', {
    head: 'techniques',
    image,
    k: 3,
  });
  t.equal(top.status, 200, JSON.stringify(top.body));
  t.equal(top.body.mode, 'top-k');
  t.equal(top.body.k, 3);
  t.equal(top.body.predictions.length, 3);
  t.equal(top.body.predictions[0]!.concept, CONCEPTS.photograph);
  t.ok(Math.abs(top.body.predictions.reduce((s, p) => s + p.probability, 0) - 1) < 1e-4, 'softmax probabilities sum to 1');
  const above = await call<{ mode: string; predictions: { concept: string; aboveThreshold: boolean }[] }>('POST', '/v1/classify', { head: 'techniques', image, mode: 'threshold' });
  t.equal(above.body.mode, 'threshold');
  t.ok(above.body.predictions.every((p) => p.aboveThreshold));
  t.equal((await call('POST', '/v1/classify', { head: 'nothing-here', image })).status, 404);
  t.equal((await call('POST', '/v1/classify', { image })).status, 400, 'neither a head nor a vocabulary');
});

await t.test('a region of a canvas: each half of a composite page is classified on its own', async (t) => {
  // A photograph-like scene beside a printed page, on one 1024 x 384 image, painted on a canvas twice its size.
  const left = await DRAWINGS.photograph({ seed: 2001 });
  const right = await DRAWINGS['printed text']({ seed: 2002 });
  const composite = await sharp({ create: { width: 1024, height: 384, channels: 3, background: '#ffffff' } })
    .composite([{ input: left.image, left: 0, top: 0 }, { input: right.image, left: 512, top: 0 }])
    .png()
    .toBuffer();
  const serviceId = await server.addImage('composite', composite, { version: 3, level: 2 });
  const image = { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 }, width: 1024, height: 384 };
  const canvas = { id: `${server.url}/m/composite#p1`, width: 2048, height: 768 };
  const half = async (x: number) =>
    (await call<{ predictions: { concept: string }[]; request: string }>('POST', '/v1/classify', { head: 'techniques', image, canvas, region: { x, y: 0, w: 1024, h: 768 } })).body;
  const l = await half(0);
  const r = await half(1024);
  t.equal(l.predictions[0]!.concept, CONCEPTS.photograph, 'the left half');
  t.equal(r.predictions[0]!.concept, CONCEPTS['printed text'], 'the right half');
  t.match(r.request, /\/512,0,512,384\//, 'only that region was fetched, in image pixels');
});

await t.test('GET /v1/review-queue: the most uncertain unreviewed canvases first; a review takes a canvas out', async (t) => {
  const first = await call<{ items: { canvas: string; uncertainty: number }[] }>('GET', '/v1/review-queue?model=techniques&strategy=margin');
  t.equal(first.status, 200, JSON.stringify(first.body));
  t.equal(first.body.items.length, 12);
  const u = first.body.items.map((i) => i.uncertainty);
  t.same(u, [...u].sort((a, b) => b - a), 'ordered by uncertainty, highest first');
  const entropy = await call<{ items: { uncertainty: number }[] }>('GET', '/v1/review-queue?model=techniques&strategy=entropy&limit=5');
  t.equal(entropy.body.items.length, 5);
  const top = first.body.items[0]!.canvas;
  const [a] = (await call<AnnotationPage>('GET', `/v1/annotations?${new URLSearchParams({ canvas: top, model: 'techniques' }).toString()}`)).body.items;
  await call('POST', `/v1/annotations/${a!.id.split('/').pop()}/review`, { state: 'accepted', reviewer: 'curator' });
  const after = await call<{ items: { canvas: string }[] }>('GET', '/v1/review-queue?model=techniques');
  t.equal(after.body.items.length, 11);
  t.notOk(after.body.items.some((i) => i.canvas === top));
  t.equal((await call('GET', '/v1/review-queue?model=nobody')).status, 404);
});

await t.test('a head trained while the service runs is used at once', async (t) => {
  const before = await call<{ items: { id: string; versions: string[] }[] }>('GET', '/v1/heads');
  // The watermark head ships with Loupe (packages/heads/pack) and is listed beside trained ones.
  t.same(before.body.items.map((h) => [h.id, h.versions]), [['techniques', ['1']], ['watermark', ['1']]]);
  await run(['train', '--dataset', 'techniques', '--head', 'techniques', '--folds', '3', '--seed', 'again']);
  const after = await call<{ items: { id: string; versions: string[] }[] }>('GET', '/v1/heads');
  t.same(after.body.items.map((h) => [h.id, h.versions]), [['techniques', ['1', '2']], ['watermark', ['1']]]);
  const photo = unseen.find((p) => p.kind === 'photograph')!;
  const out = await call<{ head: { version: string } }>('POST', '/v1/classify', { head: 'techniques', image: { id: `${photo.serviceId}/full/max/0/default.jpg` } });
  t.equal(out.body.head.version, '2', 'the latest version, no restart');
  const pinned = await call<{ head: { version: string } }>('POST', '/v1/classify', { head: 'techniques', headVersion: '1', image: { id: `${photo.serviceId}/full/max/0/default.jpg` } });
  t.equal(pinned.body.head.version, '1');
});

await t.test('loupe eval on the classifications against reviewed ground truth', async (t) => {
  // The imported labels are on the training canvases; the accepted classification above is on an unseen one.
  await call('POST', '/v1/datasets', { name: 'new-reviewed', sources: [newManifest] });
  const ran = await run(['eval', '--model', 'techniques', '--dataset', 'new-reviewed', '--out', 'eval.json']);
  t.match(ran.stdout, /Classification: 1 images/);
});
