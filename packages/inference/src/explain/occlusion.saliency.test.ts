import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { buildOnnxModel } from '@loupe/testing';
import { parseCard } from '../cards/card.loader.js';
import { createEngine } from '../engine/model-runner.js';
import { toInputTensor, type RawImage } from '../image-ops.js';
import { occlusionSaliency, scoreEach } from './occlusion.saliency.js';
import { saliencyOverlayPng, sampleMap } from './saliency.overlay.js';

const engine = createEngine({ executionProvider: 'cpu' });
t.teardown(() => engine.close());

/**
 * A model that only looks at the top-left quarter of its 32 x 32 input: its score is that
 * quarter's mean brightness. Made here, run through the engine like any card.
 */
async function topLeftModel(dir: string) {
  const onnx = buildOnnxModel({
    inputs: [{ name: 'x', type: 'float32', dims: ['batch', 3, 32, 32] }],
    outputs: [{ name: 'score', type: 'float32', dims: ['batch'] }],
    initializers: [
      { name: 'starts', type: 'int64', dims: [2], values: [0n, 0n] },
      { name: 'ends', type: 'int64', dims: [2], values: [16n, 16n] },
      { name: 'axes', type: 'int64', dims: [2], values: [2n, 3n] },
    ],
    nodes: [
      { op: 'Slice', inputs: ['x', 'starts', 'ends', 'axes'], outputs: ['quarter'] },
      { op: 'ReduceMean', inputs: ['quarter'], outputs: ['score'], attributes: { axes: [1, 2, 3], keepdims: 0 } },
    ],
  });
  const path = join(dir, 'top-left.onnx');
  await writeFile(path, onnx);
  const card = parseCard(
    {
      id: 'top-left',
      version: '1',
      task: 'classification',
      name: 'Looks at the top-left quarter only',
      files: { model: { path: 'top-left.onnx', sha256: createHash('sha256').update(onnx).digest('hex'), size: onnx.byteLength } },
      input: { name: 'x', width: 32, height: 32, scale: 1 / 255 },
      output: { decoder: 'scores' },
      licence: 'CC0-1.0',
      source: 'made by the test',
    },
    'top-left card',
  );
  const runner = await engine.load(card, { model: path });
  const score = scoreEach(async (image) => {
    const { tensor } = await toInputTensor(image, card.input);
    const out = await runner.run({ x: tensor });
    return (out['score']!.data as Float32Array)[0]!;
  });
  return { runner, score };
}

/** Mid grey with a white square: the square is the only thing the model can see change. */
function greyWithSquare(width: number, height: number, square: { x: number; y: number; side: number }): RawImage {
  const data = new Uint8Array(width * height * 3).fill(110);
  for (let y = square.y; y < square.y + square.side; y++) data.fill(250, (y * width + square.x) * 3, (y * width + square.x + square.side) * 3);
  return { data, width, height };
}

t.test('occlusion: the peak falls on the one region the model reads, through batched engine runs', async (t) => {
  const { runner, score } = await topLeftModel(t.testdir());
  const square = { x: 24, y: 24, side: 64 };
  const inside = (p: { x: number; y: number }) => p.x >= square.x && p.x <= square.x + square.side && p.y >= square.y && p.y <= square.y + square.side;
  const image = greyWithSquare(256, 256, square);
  const map = await occlusionSaliency(image, score);
  t.equal(map.passes, 50, '7 x 7 windows and the whole image');
  t.ok(inside(map.peak), `peak ${JSON.stringify(map.peak)} inside the square`);
  t.ok(map.peak.value > 0.02, `hiding the square lowers the score (by ${map.peak.value})`);
  const far = sampleMap(map, 0.8, 0.8);
  t.ok(Math.abs(far) < 1e-6, `hiding the far corner changes nothing (${far})`);
  t.ok(runner.metrics().meanBatch > 1, `the masked images shared runs (mean batch ${runner.metrics().meanBatch})`);

  const mean = await occlusionSaliency(image, score, { baseline: 'mean', window: 0.125, stride: 1 });
  t.equal(mean.width * mean.height, 64, 'an 8 x 8 map from a 1/8 window without overlap');
  t.ok(inside(mean.peak), `mean-colour baseline finds it too (${JSON.stringify(mean.peak)})`);
});

t.test('occlusion: the peak is given in the pixels of the image asked about, however large', async (t) => {
  const { score } = await topLeftModel(t.testdir());
  const image = greyWithSquare(1200, 900, { x: 100, y: 120, side: 200 });
  const map = await occlusionSaliency(image, score, { maxSide: 256 });
  t.same(map.image, { width: 1200, height: 900 });
  t.ok(map.peak.x >= 100 && map.peak.x <= 300 && map.peak.y >= 120 && map.peak.y <= 320, `peak ${JSON.stringify(map.peak)} inside the square`);
});

t.test('the overlay is a PNG of the image with heat where the map is high', async (t) => {
  const { score } = await topLeftModel(t.testdir());
  const image = greyWithSquare(256, 256, { x: 24, y: 24, side: 64 });
  const map = await occlusionSaliency(image, score);
  const png = await saliencyOverlayPng(image, map, { maxSide: 128 });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  t.same([info.format, info.width, info.height], ['raw', 128, 128]);
  const at = (x: number, y: number) => Array.from(data.subarray((y * 128 + x) * 3, (y * 128 + x) * 3 + 3));
  const [r, g, b] = at(10, 12);
  t.ok(r! > b! + 40 && g! >= b!, `warm near the square (${at(10, 12)})`);
  t.same(at(110, 110), [110, 110, 110], 'untouched far from it');
});

t.test('options out of range are refused before any run', async (t) => {
  const image = greyWithSquare(64, 64, { x: 0, y: 0, side: 8 });
  const never = () => Promise.reject(new Error('ran'));
  await t.rejects(occlusionSaliency(image, never, { window: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
  await t.rejects(occlusionSaliency(image, never, { batch: 0.5 }), { code: 'LOUPE_ERR_VALIDATION' });
  // A one-pixel window at the smallest stride would be 64 x 64 passes: refused, with the count, before the first.
  await t.rejects(occlusionSaliency(image, never, { window: 0.01, stride: 0.01 }), { code: 'LOUPE_ERR_VALIDATION', details: { passes: 4097, maxPasses: 400 } });
});
