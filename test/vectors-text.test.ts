// Text queries: a text-embedding card paired with an image-embedding card (CLIP's layout) searches
// that image model's vectors. The towers are test-made (test/support/colour-towers.ts); the
// registry, the engine, the tokenizer, the embed pipeline, the vector index and the search are the
// real ones.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import { installColourTowers } from './support/colour-towers.js';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-text-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const modelsDir = path.join(dataDir, 'models');
const server = await startIiifImageServer();
t.teardown(() => server.close());

await installColourTowers(modelsDir);

// Three pictures, one per colour, through the embed pipeline.
const manifest = `${server.url}/m/colours.json`;
const canvases = [];
for (const [name, rgb] of [
  ['red', { r: 200, g: 30, b: 20 }],
  ['green', { r: 20, g: 190, b: 40 }],
  ['blue', { r: 30, g: 40, b: 210 }],
] as const) {
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: rgb } }).png().toBuffer();
  const serviceId = await server.addImage(name, png, { version: 3, level: 2 });
  canvases.push({ id: `${manifest}#${name}`, label: name, width: 64, height: 48, image: { width: 64, height: 48, serviceId, version: 3, level: 2 } });
}
server.addDocument('/m/colours.json', manifestV3({ id: manifest, label: 'Colours', canvases }));

const env = { LOUPE_MODELS_DIR: modelsDir, LOUPE_EMBED_MODEL: 'colour-image', LOUPE_TEXT_MODEL: 'colour-text', LOUPE_FETCH_ALLOW: '127.0.0.1' };
const report = await runPipeline(loadConfig(env, { logLevel: 'silent', dataDir }), { source: manifest, outDir: path.join(dataDir, 'out'), pipeline: 'embed' });
const embedded = await createEmbedded(loadConfig(env, { logLevel: 'silent', dataDir, services: ['embed'] }));
t.teardown(() => embedded.close());
await embedded.app.start();

t.test('a text query finds the pictures its words describe, in the paired image model\'s space', async (t) => {
  t.equal(report.state, 'done');
  t.same(report.failures, []);
  for (const word of ['red', 'green', 'blue']) {
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/search', payload: { text: word.toUpperCase(), limit: 3 } });
    t.equal(res.statusCode, 200, res.body);
    const out = res.json() as { query: string; model: { id: string }; hits: { canvasId: string; score: number }[] };
    t.equal(out.query, 'text');
    t.equal(out.model.id, 'colour-image', 'the image model the text card pairs with');
    t.equal(out.hits[0]!.canvasId, `${manifest}#${word}`, `"${word}" finds the ${word} picture first (${out.hits.map((h) => `${h.canvasId.split('#')[1]} ${h.score.toFixed(3)}`).join(', ')})`);
  }
  const other = await embedded.app.inject({ method: 'POST', url: '/v1/search', payload: { text: 'red', model: 'mobilenet-v2-features' } });
  t.match(other.json(), { code: 'LOUPE_ERR_VALIDATION', message: /text queries search the vectors of colour-image/ });
});
