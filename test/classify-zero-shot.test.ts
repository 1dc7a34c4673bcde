// Zero-shot classification: a vocabulary's concepts become prompts ("a photograph of a red.", ...
// several templates, averaged) for a CLIP-shaped text tower, and their embeddings a head over the
// paired image tower's vectors, with no training. The towers are test-made
// (test/support/colour-towers.ts); the registry, engine, tokenizer, embed and classify services,
// the vocabulary in the ground-truth store and the pipeline are the real ones.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import type { Annotation, AnnotationPage } from '@loupe/contracts';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import { installColourTowers } from './support/colour-towers.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-zero-shot-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const modelsDir = path.join(dataDir, 'models');
const towers = await installColourTowers(modelsDir);
const server = await startIiifImageServer();
t.teardown(() => server.close());

const COLOURS = { red: { r: 200, g: 30, b: 20 }, green: { r: 20, g: 190, b: 40 }, blue: { r: 30, g: 40, b: 210 } } as const;
const concept = (name: string) => `https://vocab.example.org/colour/${name}`;
const manifest = `${server.url}/m/colours.json`;
const canvases = [];
const images: Record<string, { id: string; service: { id: string; version: 3; level: 2 } }> = {};
for (const [name, rgb] of Object.entries(COLOURS)) {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: rgb } }).png().toBuffer();
  const serviceId = await server.addImage(name, png, { version: 3, level: 2 });
  images[name] = { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } };
  canvases.push({ id: `${manifest}/canvas/${name}`, label: name, width: 64, height: 48, image: { width: 64, height: 48, serviceId, version: 3, level: 2 } });
}
server.addDocument('/m/colours.json', manifestV3({ id: manifest, label: 'Colours', canvases }));

const env = { LOUPE_MODELS_DIR: modelsDir, LOUPE_TEXT_MODEL: towers.text, LOUPE_FETCH_ALLOW: '127.0.0.1' };
const embedded = await createEmbedded(loadConfig(env, { logLevel: 'silent', dataDir, services: ['classify', 'embed', 'ground-truth'] }));
t.teardown(() => embedded.close());
await embedded.app.start();
const call = async <T = Record<string, unknown>>(method: 'GET' | 'POST', url: string, payload?: unknown) => {
  const res = await embedded.app.inject({ method, url, ...(payload !== undefined && { payload: payload as object }) });
  return { status: res.statusCode, body: res.json() as T };
};

await t.test('a vocabulary becomes a zero-shot classifier', async (t) => {
  const vocab = JSON.stringify(Object.fromEntries(Object.keys(COLOURS).map((name) => [name, concept(name)])));
  t.equal((await call('POST', '/v1/vocabularies', { format: 'europeana-json', content: vocab, id: 'colours' })).status, 200);
  for (const name of Object.keys(COLOURS)) {
    const out = await call<{ head: { id: string; source: string; embedding: { model: string } }; predictions: { concept: string; label: string }[]; mode: string }>(
      'POST',
      '/v1/classify',
      { vocabulary: 'colours', image: images[name], k: 3 },
    );
    t.equal(out.status, 200, JSON.stringify(out.body));
    t.equal(out.body.head.source, 'zero-shot');
    t.equal(out.body.head.embedding.model, towers.image, 'the image tower the text card pairs with');
    t.equal(out.body.predictions[0]!.concept, concept(name), `the ${name} picture is ${name}: ${out.body.predictions.map((p) => p.label).join(' > ')}`);
    t.equal(out.body.predictions[0]!.label, name, "the concept's preferred label");
  }
  const missing = await call<{ code: string }>('POST', '/v1/classify', { vocabulary: 'nothing', image: images.red });
  t.equal(missing.status, 404);
});

await t.test('the classify pipeline, zero-shot over the vocabulary', async (t) => {
  const out = path.join(dataDir, 'out');
  const report = await runPipeline(loadConfig(env, { logLevel: 'silent', dataDir }), { source: manifest, outDir: out, pipeline: 'classify', classify: { vocabulary: 'colours' } });
  t.equal(report.state, 'done');
  t.same(report.failures, []);
  for (const file of await fs.readdir(path.join(out, 'annotations'))) {
    const page = JSON.parse(await fs.readFile(path.join(out, 'annotations', file), 'utf8')) as AnnotationPage;
    const [a] = page.items as Annotation[];
    const canvas = a!.target as string;
    const said = (a!.body as { type: string; source?: string }[]).find((b) => b.type === 'SpecificResource')!.source;
    t.equal(said, concept(canvas.split('/').pop()!), `${canvas}: ${said}`);
    t.match(a!.generator, { 'loupe:model': 'zero-shot.colours', 'loupe:embeddingModel': towers.image });
  }
  // The generator id dereferences: a zero-shot head is described from its vocabulary.
  const page = JSON.parse(await fs.readFile(path.join(out, 'annotations', (await fs.readdir(path.join(out, 'annotations')))[0]!), 'utf8')) as AnnotationPage;
  const generator = (page.items[0] as Annotation).generator!;
  const card = await call<{ type: string; name: string }>('GET', new URL(generator.id).pathname);
  t.equal(card.status, 200, JSON.stringify(card.body));
  t.match(card.body, { type: 'Software', name: /zero-shot over vocabulary colours/ });
});

await t.test('without a text model, zero-shot says what is missing', async (t) => {
  const plain = await createEmbedded(loadConfig({ LOUPE_MODELS_DIR: modelsDir, LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['classify', 'embed', 'ground-truth'] }));
  t.teardown(() => plain.close());
  await plain.app.start();
  const res = await plain.app.inject({ method: 'POST', url: '/v1/classify', payload: { vocabulary: 'colours', image: images.red } });
  t.equal(res.statusCode, 503, res.body);
  t.match(res.json(), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /clip-vit-b32-text/ });
});
