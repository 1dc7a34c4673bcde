// Which way a page reads, on the page that fooled PP-OCR's line classifier: the synthetic Latin page
// of the OCR quality script (EB Garamond, 300 dpi, lightly degraded), whose lines the classifier
// called upside down with confidence, so that the whole page was turned and read upside down
// (CER 0.61). The reading check reads the longest lines both ways up and keeps the way the
// recogniser is surer of. The same page turned half a turn must still come out upside down.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { createTextRecognizer } from '@loupe/inference';
import { renderSyntheticPage, type SyntheticSetting } from './quality/ocr-synthetic.js';

const reference = JSON.parse(await readFile(new URL('./quality/ocr-references/synthetic-lat.json', import.meta.url), 'utf8')) as {
  synthetic: SyntheticSetting;
  regions: { text: string }[];
};
const dir = await mkdtemp(path.join(os.tmpdir(), 'loupe-orientation-'));
const recognizer = await createTextRecognizer({ intraOpNumThreads: 1 });
t.teardown(async () => {
  await recognizer.close();
  await rm(dir, { recursive: true, force: true });
});

const file = await renderSyntheticPage(dir, 'lat', reference.synthetic, reference.regions.map((r) => r.text).join('\n'));
const raw = async (turn: 0 | 180) => {
  const { data, info } = await sharp(file).rotate(turn).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};

t.test('a Garamond page the line classifier calls upside down reads upright, every line', async (t) => {
  const found = await recognizer.findLines(await raw(0));
  const { lines, upright, upsideDown } = found.orientation;
  t.ok(lines >= 8, `${lines} lines found`);
  t.equal(found.orientation.angle, 0, `the page is upright (the classifier's vote: ${upright} upright, ${upsideDown} upside down)`);
  t.ok(found.lines.every((l) => l.angle === 0), 'and so is every line');
});

t.test('the same page turned half a turn is found upside down', async (t) => {
  const found = await recognizer.findLines(await raw(180));
  t.equal(found.orientation.angle, 180);
  t.ok(found.lines.every((l) => l.angle === 180), 'every line read turned back');
});
