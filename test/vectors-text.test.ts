// Text queries: a text-embedding card paired with an image-embedding card (CLIP's layout) searches
// that image model's vectors. CLIP itself needs `loupe models pull`, which tests never do, so both
// towers here are small ONNX graphs made by the test with CLIP's names and shapes: the image tower
// gives an image's mean colour, the text tower adds up colour words letter by letter. The registry,
// the engine, the tokenizer, the embed pipeline, the vector index and the search are the real ones.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { createEmbedded, loadConfig, runPipeline } from '@loupe/cli';
import { BYTE_CHARS_IN_VOCAB_ORDER } from '@loupe/inference';
import { buildOnnxModel, manifestV3, startIiifImageServer } from '@loupe/testing';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-text-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
const modelsDir = path.join(dataDir, 'models');
const server = await startIiifImageServer();
t.teardown(() => server.close());

async function install(id: string, files: Record<string, Uint8Array | string>, card: Record<string, unknown>): Promise<void> {
  const dir = path.join(modelsDir, id);
  await fs.mkdir(dir, { recursive: true });
  const entries: Record<string, unknown> = {};
  for (const [role, bytes] of Object.entries(files)) {
    const name = role === 'model' ? 'model.onnx' : `${role}.${typeof bytes === 'string' && role === 'vocab' ? 'json' : 'txt'}`;
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    await fs.writeFile(path.join(dir, name), data);
    entries[role] = { path: name, sha256: createHash('sha256').update(data).digest('hex'), size: data.byteLength };
  }
  await fs.writeFile(path.join(dir, 'card.json'), JSON.stringify({ id, version: '1', licence: 'CC0-1.0', source: 'made by the test', files: entries, ...card }));
}

// The image tower: [N, 3, 16, 16] -> each channel's mean: a picture's colour, as a 3-d vector.
await install(
  'colour-image',
  {
    model: buildOnnxModel({
      inputs: [{ name: 'pixel_values', type: 'float32', dims: ['batch_size', 3, 16, 16] }],
      outputs: [{ name: 'image_embeds', type: 'float32', dims: ['batch_size', 3] }],
      nodes: [{ op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['image_embeds'], attributes: { axes: [2, 3], keepdims: 0 } }],
    }),
  },
  { task: 'image-embedding', name: 'Colour (test image tower)', input: { name: 'pixel_values', width: 16, height: 16 }, output: { decoder: 'clip-image', options: { output: 'image_embeds' } } },
);

// The text tower: a byte-level vocabulary with no merges (one token per character), and an
// embedding table in which one letter of each colour word that the other two lack ("reD",
// "greeN", "blUe") points along R, G or B.
const vocab: Record<string, number> = {};
[...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`)].forEach((tok, id) => (vocab[tok] = id));
vocab['<|startoftext|>'] = 49406;
vocab['<|endoftext|>'] = 49407;
const table = new Float32Array(49408 * 3);
const letters: Record<string, [number, number, number]> = { d: [1, 0, 0], n: [0, 1, 0], u: [0, 0, 1] };
for (const [ch, v] of Object.entries(letters)) for (const tok of [ch, `${ch}</w>`]) table.set(v, vocab[tok]! * 3);
await install(
  'colour-text',
  {
    model: buildOnnxModel({
      inputs: [{ name: 'input_ids', type: 'int64', dims: ['batch_size', 77] }],
      outputs: [{ name: 'text_embeds', type: 'float32', dims: ['batch_size', 3] }],
      initializers: [
        { name: 'W', type: 'float32', dims: [49408, 3], values: table },
        { name: 'axes', type: 'int64', dims: [1], values: BigInt64Array.from([1n]) },
      ],
      nodes: [
        { op: 'Gather', inputs: ['W', 'input_ids'], outputs: ['per_token'] },
        { op: 'ReduceSum', inputs: ['per_token', 'axes'], outputs: ['text_embeds'], attributes: { keepdims: 0 } },
      ],
    }),
    vocab: JSON.stringify(vocab),
    merges: '#version: 0.2\n',
  },
  {
    task: 'text-embedding',
    name: 'Colour words (test text tower)',
    input: { name: 'input_ids', dtype: 'int64' },
    output: { decoder: 'clip-text', options: { output: 'text_embeds', imageModel: 'colour-image', maxLength: 77 } },
  },
);

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

const env = { LOUPE_MODELS_DIR: modelsDir, LOUPE_EMBED_MODEL: 'colour-image', LOUPE_TEXT_MODEL: 'colour-text' };
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
