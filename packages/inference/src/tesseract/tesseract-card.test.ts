import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { tesseractEngineCard } from './tesseract-card.js';
import { tessdataFolder, tesseractCoreVersion } from './tessdata.js';

t.test('the engine card names the engine and every installed language model, its bytes checked against the pinned checksum', async (t) => {
  const card = await tesseractEngineCard();
  t.equal(card.id, 'tesseract-lstm');
  t.equal(card.version, tesseractCoreVersion(), "the version pages name as their engine's");
  t.equal(card.licence, 'Apache-2.0');
  const codes = card.languages.map((l) => l.code);
  t.same(codes, [...codes].sort());
  t.ok(['eng', 'fra', 'deu', 'frk'].every((c) => codes.includes(c)), `installed: ${codes.join(', ')}`);
  t.notOk(codes.includes('osd'), 'no model the LSTM engine cannot read');
  t.equal(card.languages.find((l) => l.code === 'frk')!.script, 'Fraktur');
  t.equal(card.languages.find((l) => l.code === 'fra')!.script, 'Latin');

  const fra = card.languages.find((l) => l.code === 'fra')!;
  t.equal(fra.package.name, '@tesseract.js-data/fra');
  t.match(fra.package.version, /^\d+\.\d+\.\d+/);
  t.equal(fra.licence, 'Apache-2.0');
  const bytes = await readFile(join(tessdataFolder('fra'), 'fra.traineddata.gz'));
  t.equal(fra.sha256, createHash('sha256').update(bytes).digest('hex'), 'the sha256 of the file Tesseract loads');
  t.equal(fra.size, bytes.length);

  t.equal(fra.path, '4.0.0_best_int/fra.traineddata.gz');
  t.equal(fra.package.licence, 'MIT', 'the packaging; the models stay Apache-2.0');

  t.equal(await tesseractEngineCard(), card, 'computed once');
});
