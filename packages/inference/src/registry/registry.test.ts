import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { LoupeError } from '@loupe/contracts';
import { tessdataFolder } from '../tesseract/tessdata.js';
import { describeModels, findModel } from './installed-model.js';
import { joinChunks, sha256File } from './model-files.js';
import { BUILTIN_CARDS_DIR, openRegistry } from './registry.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A card whose one file is downloaded from `url`; `bytes` are what the card pins. */
function urlCard(id: string, bytes: Buffer, extra: Record<string, unknown> = {}) {
  return {
    id,
    version: '1',
    task: 'classification',
    name: `Test model ${id}`,
    files: { model: { url: `https://models.example.org/${id}/model.onnx`, sha256: sha(bytes), size: bytes.length } },
    input: { width: 8, height: 8 },
    output: { decoder: 'softmax' },
    licence: 'CC0-1.0',
    source: 'made by the test',
    ...extra,
  };
}

t.test('the built-in pack resolves offline, ISNet joined from its chunks and checked whole', async (t) => {
  const modelsDir = t.testdir();
  const registry = openRegistry({ modelsDir });
  t.equal(registry.builtinCardsDir, BUILTIN_CARDS_DIR);

  const offline = registry.list().filter((m) => m.state === 'installed').map((m) => m.id);
  t.same(
    offline,
    [
      'blazeface-back',
      'centernet-coco',
      // Converted at install or on first use (ESRGAN thick, MAXIM): either way in the pack, nothing to pull.
      ...['medium', 'slim', 'thick'].flatMap((size) => [2, 3, 4, 8].map((x) => `esrgan-${size}-x${x}`)),
      'faceres-embedding',
      'isnet-general-medium',
      'maxim-deblurring',
      'mobilenet-v2-features',
      'nanodet-coco',
      'ppocr-mobile-v2-cls',
      'ppocr-v4-det',
      'ppocr-v4-rec',
      'tesseract-lstm',
    ],
    'present after pnpm install, nothing to pull',
  );
  t.same(
    registry.list().filter((m) => m.state === 'missing').map((m) => m.id),
    ['clip-vit-b32-image', 'clip-vit-b32-text', 'vit-gpt2-captioning', 'yolov8n-coco'],
    'the network models wait for loupe models pull',
  );

  const isnet = await registry.resolve('isnet-general-medium');
  const joined = isnet.files['model']!;
  t.equal(joined, join(modelsDir, '.cache', 'isnet-general-medium', 'isnet-general-medium.onnx'), 'written once under the models folder');
  t.equal((await stat(joined)).size, 88_188_479);
  t.equal(await sha256File(joined), isnet.card.files['model']!.sha256);
  t.equal(isnet.card.files['model']!.sha256, 'b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb');
  t.match(isnet.card.input, { width: 1024, height: 1024, scale: 1, mean: [128, 128, 128], std: [256, 256, 256], channelOrder: 'RGB' });
  t.equal(registry.get('isnet-general-medium')?.files[0]?.state, 'ok', 'list knows the joined file is good without reading it again');

  const rec = await registry.resolve('ppocr-v4-rec');
  t.match(rec.files['model'], /@gutenye[/\\]ocr-models[/\\]assets[/\\]ch_PP-OCRv4_rec_infer\.onnx$/);
  t.match(rec.files['keys'], /ppocr_keys_v1\.txt$/);
  t.equal(rec.card.task, 'text-recognition');
});

t.test('a joined file is rebuilt from its chunks, and a bad chunk is named with both hashes', async (t) => {
  const chunks = [Buffer.from('first chunk '), Buffer.from('second chunk '), Buffer.from('third')];
  const whole = Buffer.concat(chunks);
  let at = 0;
  const manifest = {
    '/models/tiny': {
      chunks: chunks.map((c) => ({ hash: sha(c), offsets: [at, (at += c.length)] })),
      size: whole.length,
    },
  };
  const dir = t.testdir({
    pkg: { dist: { 'resources.json': JSON.stringify(manifest), ...Object.fromEntries(chunks.map((c) => [sha(c), c])) } },
    cache: {},
  });
  const pkg = join(dir, 'pkg');
  const file = { package: 'tiny', path: 'tiny.onnx', chunks: { manifest: 'dist/resources.json', key: '/models/tiny' }, sha256: sha(whole), size: whole.length };
  const target = join(dir, 'cache', 'tiny.onnx');

  await joinChunks(pkg, file, target, 'tiny');
  t.same(await readFile(target), whole);
  await writeFile(target, 'a cache someone truncated');
  await joinChunks(pkg, file, target, 'tiny');
  t.same(await readFile(target), whole, 'a damaged cache is rebuilt, not trusted');

  await t.rejects(joinChunks(pkg, { ...file, sha256: 'f'.repeat(64) }, join(dir, 'cache', 'other.onnx'), 'tiny'), {
    code: 'LOUPE_ERR_MODEL_CHECKSUM',
    message: new RegExp(`tiny has sha256 ${sha(whole)}, expected f{64}.*joined from 3 chunks`),
  });

  const second = join(pkg, 'dist', sha(chunks[1]!));
  await writeFile(second, 'SECOND chunk ');
  await t.rejects(joinChunks(pkg, file, join(dir, 'cache', 'again.onnx'), 'tiny'), {
    code: 'LOUPE_ERR_MODEL_CHECKSUM',
    message: new RegExp(`tiny chunk 2/3 has sha256 ${sha('SECOND chunk ')}, expected ${sha(chunks[1]!)}`),
  });
});

t.test('verify and resolve refuse a corrupted file, naming it and both hashes', async (t) => {
  const bytes = Buffer.from('the real model bytes');
  const modelsDir = t.testdir({ 'my-model': { 'card.json': JSON.stringify(urlCard('my-model', bytes)), 'model.onnx': bytes } });
  const registry = openRegistry({ modelsDir });
  t.match(registry.get('my-model'), { origin: 'installed', state: 'installed' });
  t.equal((await registry.resolve('my-model')).files['model'], join(modelsDir, 'my-model', 'model.onnx'));

  const evil = Buffer.from('the fake model bytes');
  await writeFile(join(modelsDir, 'my-model', 'model.onnx'), evil);
  const [report] = await registry.verify('my-model');
  t.match(report, { id: 'my-model', state: 'corrupt', files: [{ role: 'model', state: 'corrupt', expectedSha256: sha(bytes), actualSha256: sha(evil) }] });
  const err = await registry.resolve('my-model').catch((e: LoupeError) => e);
  t.match(err, { code: 'LOUPE_ERR_MODEL_CHECKSUM', details: { expectedSha256: sha(bytes), actualSha256: sha(evil) } });
  t.match((err as Error).message, new RegExp(`my-model/model \\(model\\.onnx\\) has sha256 ${sha(evil)}, expected ${sha(bytes)}`));
  t.equal(registry.get('my-model')?.state, 'corrupt', 'list now knows, without hashing again');
});

t.test('a verified file is not hashed again until it changes', async (t) => {
  const bytes = Buffer.from('twelve bytes');
  const modelsDir = t.testdir({ cached: { 'card.json': JSON.stringify(urlCard('cached', bytes)), 'model.onnx': bytes } });
  const registry = openRegistry({ modelsDir });
  const path = join(modelsDir, 'cached', 'model.onnx');
  const then = new Date('2024-01-01T00:00:00Z');
  await utimes(path, then, then);
  await registry.resolve('cached');
  // Same size, same mtime: the verdict is kept by (path, size, mtime), so no re-read happens.
  await writeFile(path, 'TWELVE BYTES');
  await utimes(path, then, then);
  await t.resolves(registry.resolve('cached'), 'the second resolve costs a stat');
  // Any ordinary write moves the mtime, and the next resolve reads the file again.
  await utimes(path, then, new Date(then.getTime() + 5000));
  await t.rejects(registry.resolve('cached'), { code: 'LOUPE_ERR_MODEL_CHECKSUM' });
});

t.test('add validates a card and installs it; bad cards are refused or skipped, never half-used', async (t) => {
  const bytes = Buffer.from('model');
  const dir = t.testdir({
    'good.json': JSON.stringify(urlCard('good-model', bytes)),
    'bad.json': JSON.stringify({ ...urlCard('bad-model', bytes), task: 'painting', licence: '' }),
    'clash.json': JSON.stringify(urlCard('ppocr-v4-det', bytes)),
    models: { stray: { 'card.json': '{ not json' }, 'wrong-folder': { 'card.json': JSON.stringify(urlCard('elsewhere', bytes)) } },
  });
  const registry = openRegistry({ modelsDir: join(dir, 'models') });

  const added = await registry.add(join(dir, 'good.json'));
  t.match(added, { id: 'good-model', origin: 'installed', state: 'missing', cardPath: join(dir, 'models', 'good-model', 'card.json') });
  t.equal(await readFile(join(dir, 'models', 'good-model', 'card.json'), 'utf8'), await readFile(join(dir, 'good.json'), 'utf8'), 'kept as written');
  t.ok(registry.list({ task: 'classification' }).some((m) => m.id === 'good-model'));

  await t.rejects(registry.add(join(dir, 'bad.json')), {
    code: 'LOUPE_ERR_MODEL_CARD_INVALID',
    details: { errors: [{ path: '/task' }, { path: '/licence' }] },
  });
  await t.rejects(registry.add(join(dir, 'clash.json')), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /built-in model/ });
  t.equal(registry.get('bad-model'), undefined);

  const invalid = registry.invalidCards().map((c) => c.path);
  t.same(invalid, [join(dir, 'models', 'stray', 'card.json'), join(dir, 'models', 'wrong-folder', 'card.json')]);
  t.notOk(registry.list().some((m) => m.id === 'elsewhere'));
});

t.test('findModel says what is missing, and resolving refuses changed bytes', async (t) => {
  const bytes = Buffer.from('a captioner');
  const modelsDir = t.testdir({
    present: { 'card.json': JSON.stringify(urlCard('present', bytes, { task: 'captioning' })), 'model.onnx': bytes },
    absent: { 'card.json': JSON.stringify(urlCard('absent', bytes, { task: 'captioning' })) },
  });
  const registry = openRegistry({ modelsDir });
  t.throws(() => findModel(registry, 'captioning', 'nope'), {
    code: 'LOUPE_ERR_MODEL_NOT_INSTALLED',
    message: /captioning model "nope" is not installed .*captioning models with a card: vit-gpt2-captioning, absent, present/,
  });
  t.throws(() => findModel(registry, 'captioning', 'absent'), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /loupe models pull absent/ });
  t.throws(() => findModel(registry, 'classification', 'present'), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /classification model "present"/ });
  t.match(findModel(registry, 'captioning', 'present'), { id: 'present', state: 'installed' });
  await mkdir(join(modelsDir, 'present'), { recursive: true });
  await writeFile(join(modelsDir, 'present', 'model.onnx'), 'a different captioner');
  await t.rejects(registry.resolve('present'), { code: 'LOUPE_ERR_MODEL_CHECKSUM' });
});

t.test('the Tesseract engine is a built-in card: listed, verified against the installed files, never resolved for onnxruntime', async (t) => {
  const registry = openRegistry({ modelsDir: t.testdir() });
  const entry = registry.get('tesseract-lstm');
  t.match(entry, { kind: 'engine', origin: 'builtin', state: 'installed', card: { task: 'text-recognition', engine: { runtime: 'tesseract.js' } } });
  if (entry?.kind !== 'engine') return;
  const codes = entry.card.engine.languages.map((l) => l.code);
  t.same(codes, ['deu', 'eng', 'fra', 'frk', 'ita', 'lat'], 'every language Loupe installs, osd left out');
  t.equal(entry.card.engine.languages.find((l) => l.code === 'frk')?.script, 'Fraktur');
  t.ok(registry.list({ task: 'text-recognition' }).some((m) => m.id === 'tesseract-lstm'), 'beside PP-OCR among the recognisers');

  for (const code of codes) {
    const pinned = entry.card.files[code]!;
    const installed = join(tessdataFolder(code), `${code}.traineddata.gz`);
    t.equal(sha(await readFile(installed)), pinned.sha256, `${code}: the card pins the bytes Tesseract loads`);
  }
  const [report] = await registry.verify('tesseract-lstm');
  t.equal(report?.state, 'installed');
  t.ok(report?.files.every((f) => f.state === 'ok' && f.source === 'package'));

  await t.rejects(registry.resolve('tesseract-lstm'), { code: 'LOUPE_ERR_MODEL_LOAD', message: /tesseract-lstm is an engine card \(run by tesseract\.js\), not an ONNX model: onnxruntime cannot load it/ });
  t.throws(() => findModel(registry, 'text-recognition', 'tesseract-lstm'), { code: 'LOUPE_ERR_MODEL_LOAD', message: /is an engine \(tesseract\.js\), not an ONNX model/ });
  t.equal(findModel(registry, 'text-recognition', 'ppocr-v4-rec').kind, 'model');
  t.same(
    describeModels(registry, 'text-recognition').models.find((m) => m.id === 'tesseract-lstm'),
    { id: 'tesseract-lstm', state: 'installed', version: entry.card.version, engine: { runtime: 'tesseract.js', languages: codes } },
    'what /readyz can show',
  );
});

t.test('a changed language model fails verify with both hashes', async (t) => {
  const dir = t.testdir();
  const cards = join(dir, 'cards');
  await mkdir(cards);
  const card = JSON.parse(await readFile(join(BUILTIN_CARDS_DIR, 'tesseract-lstm.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
  card.files['fra']!.sha256 = 'f'.repeat(64);
  await writeFile(join(cards, 'tesseract-lstm.json'), JSON.stringify(card));
  const registry = openRegistry({ modelsDir: join(dir, 'models'), builtinCardsDir: cards });
  const [report] = await registry.verify('tesseract-lstm');
  t.equal(report?.state, 'corrupt');
  t.match(report?.files.find((f) => f.role === 'fra'), { state: 'corrupt', expectedSha256: 'f'.repeat(64), actualSha256: /^[0-9a-f]{64}$/ });
  t.ok(report?.files.filter((f) => f.role !== 'fra').every((f) => f.state === 'ok'));
});
