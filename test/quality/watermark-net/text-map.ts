// Issue 20's fifth try: does a text detector trained on far more pictures than Loupe has see the
// marks? Runs the offline PP-OCRv4 text detector (DB, its card's own input) over every view of a
// watermark set and keeps its text probability map, the maximum over each 8 x 8 px cell of the
// network input, for text_detector.py to score. Measured, not shipped (docs/watermarks.md).
//
//   node --import tsx --conditions=loupe-source test/quality/watermark-net/text-map.ts <set> <out.json> [side, default 960]
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { builtinCard, floatOutput, loadBuiltinModel, networkSize, toInputTensor } from '@loupe/inference';

const CELL = 8;
const [setDir, outFile, sideArg = '960'] = process.argv.slice(2);
if (!setDir || !outFile) {
  console.error('usage: text-map.ts <watermark set folder> <out.json> [longer side, default 960]');
  process.exit(2);
}
const side = Number(sideArg);
const card = builtinCard('ppocr-v4-det');
const session = await loadBuiltinModel('ppocr-v4-det');
const output = String(card.output.options?.['output']);
const files = (await readdir(setDir)).filter((f) => /\.(clean|marked)\.jpg$/.test(f)).sort();
const maps: Record<string, { w: number; h: number; max: number[] }> = {};
const started = performance.now();
for (const [i, file] of files.entries()) {
  const { data, info } = await sharp(path.join(setDir, file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  // The detector's own sizing, enlarging too: every view is read at the same scale.
  const { width, height } = networkSize(info.width, info.height, side, true);
  const { tensor } = await toInputTensor({ data, width: info.width, height: info.height }, { ...card.input, width, height, resize: 'stretch' });
  const prob = floatOutput(await session.run({ [session.inputNames[0]!]: tensor }), output, card.id).data;
  const w = width / CELL;
  const max = new Array<number>(w * (height / CELL)).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = Math.floor(y / CELL) * w + Math.floor(x / CELL);
      max[k] = Math.max(max[k]!, prob[y * width + x]!);
    }
  }
  maps[file] = { w, h: height / CELL, max: max.map((v) => Math.round(v * 1000)) };
  if ((i + 1) % 50 === 0) console.error(`${i + 1}/${files.length} views, ${((performance.now() - started) / (i + 1)).toFixed(0)} ms each`);
}
await writeFile(outFile, JSON.stringify(maps));
console.error(`wrote ${outFile}: ${files.length} views`);
