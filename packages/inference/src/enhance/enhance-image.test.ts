import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { LoupeError } from '@loupe/contracts';
import { generatedModels } from '../decoders/generated-models.test-support.js';
import type { RawImage } from '../image-ops.js';
import { enhanceImage } from './enhance-image.js';
import { generatedUpscaler } from './generated-upscaler.test-support.js';
import { spans, spanWeights } from './tile-grid.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/images');
const open = await generatedModels(t, 'enhance');

/** A smooth diagonal gradient with a soft disc: no edge of its own a seam could hide behind. */
function gradient(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((255 * x) / (width - 1));
      data[i + 1] = Math.round((255 * y) / (height - 1));
      data[i + 2] = Math.round(128 + 100 * Math.cos(Math.hypot(x - width / 2, y - height / 2) / 9));
    }
  return { data, width, height };
}

/** Output columns (or rows) where one tile's part ends and the next one's begins. */
const seams = (length: number, tile: number, overlap: number): number[] =>
  spans(length, tile, overlap).slice(1).map((s) => (s.start + s.before / 2) * 2);

/** The largest difference of two images, on the columns and rows near seams and elsewhere. */
function differences(a: RawImage, b: RawImage, cols: number[], rows: number[]): { seams: number; inside: number } {
  const near = (v: number, lines: number[]): boolean => lines.some((l) => Math.abs(v - l) <= 8);
  const out = { seams: 0, inside: 0 };
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * a.width + x) * 3 + c;
        const d = Math.abs(a.data[i]! - b.data[i]!);
        if (near(x, cols) || near(y, rows)) out.seams = Math.max(out.seams, d);
        else out.inside = Math.max(out.inside, d);
      }
  return out;
}

t.test('the tiles of an axis cover it, share at least the overlap, and their weights sum to 1', async (t) => {
  for (const [length, tile, overlap] of [[300, 64, 8], [64, 64, 8], [65, 64, 8], [1000, 128, 16], [40, 64, 8]] as const) {
    const s = spans(length, tile, overlap);
    t.equal(s[0]!.start, 0);
    t.equal(s.at(-1)!.start + s.at(-1)!.size, length, `${length}/${tile}: the last tile ends on the edge`);
    for (let i = 1; i < s.length; i++) t.ok(s[i]!.before >= overlap - 1 && s[i]!.before === s[i - 1]!.after, 'neighbours share the overlap');
    const total = new Float64Array(length * 2);
    for (const span of s) spanWeights(span, 2).forEach((w, i) => (total[span.start * 2 + i]! += w));
    t.ok(total.every((w) => Math.abs(w - 1) < 1e-6), `${length}/${tile}: weights sum to 1 on every output pixel`);
  }
});

t.test('an identity-like model (each pixel repeated) leaves a gradient unchanged across tile borders', async (t) => {
  const { spec, card } = generatedUpscaler('nearest');
  const session = await open(spec);
  const image = gradient(150, 110);
  const out = await enhanceImage(session, card, image, { tile: 48, overlap: 8 });
  t.same([out.width, out.height], [300, 220]);
  let worst = 0;
  for (let y = 0; y < out.height; y++)
    for (let x = 0; x < out.width; x++)
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(out.data[(y * out.width + x) * 3 + c]! - image.data[((y >> 1) * image.width + (x >> 1)) * 3 + c]!));
  t.equal(worst, 0, 'every output pixel is its input pixel, at the seams too');
});

t.test('tiled and whole agree: no seam where the tiles meet', async (t) => {
  const { spec, card } = generatedUpscaler('bilinear');
  const session = await open(spec);
  const image = gradient(200, 150);
  const whole = await enhanceImage(session, card, image, { tile: 256 });
  const progress: number[] = [];
  const tiled = await enhanceImage(session, card, image, { tile: 64, overlap: 8, onProgress: ({ done }) => progress.push(done) });
  const tiles = spans(200, 64, 8).length * spans(150, 64, 8).length;
  t.equal(progress.at(-1), tiles, `progress reached every one of the ${tiles} tiles`);
  const d = differences(whole, tiled, seams(200, 64, 8), seams(150, 64, 8));
  t.ok(d.seams <= d.inside, `largest difference along the seams ${d.seams}, inside the tiles ${d.inside}`);
  // The check can see a seam: butted tiles (a whole number of them, no overlap) show each tile's zero-padded border.
  const even = gradient(192, 128);
  const butted = await enhanceImage(session, card, even, { tile: 64, overlap: 0 });
  const b = differences(await enhanceImage(session, card, even, { tile: 256 }), butted, seams(192, 64, 0), seams(128, 64, 0));
  t.ok(b.seams > b.inside, `without overlap the seams differ by ${b.seams} (inside ${b.inside})`);
});

t.test('a graph fixed to one size: edge-padded tiles, the padding cropped away', async (t) => {
  const { spec, card } = generatedUpscaler('nearest', { fixed: 32 });
  const session = await open(spec);
  const image = gradient(50, 20);
  const out = await enhanceImage(session, card, image);
  t.same([out.width, out.height], [100, 40]);
  t.equal(out.data[((39 * 100 + 99) * 3)], image.data[(19 * 50 + 49) * 3], 'the corner pixel is the corner pixel');
  await t.rejects(enhanceImage(session, card, image, { tile: 16 }), { code: 'LOUPE_ERR_VALIDATION' }, 'a tile other than the graph size is refused');
});

t.test('the pixel budget is checked before any work, and names the limit', async (t) => {
  const { spec, card } = generatedUpscaler('nearest');
  const session = await open(spec);
  let progressed = false;
  const err = await enhanceImage(session, card, gradient(100, 100), { pixelBudget: 30_000, onProgress: () => (progressed = true) }).catch((e: unknown) => e);
  t.ok(err instanceof LoupeError && err.code === 'LOUPE_ERR_VALIDATION', 'a validation error');
  t.match((err as Error).message, /200x200 = 40000 pixels, over the pixel budget of 30000/);
  t.notOk(progressed, 'no tile was run');
});

t.test('an abort stops between tiles', async (t) => {
  const { spec, card } = generatedUpscaler('nearest');
  const session = await open(spec);
  const controller = new AbortController();
  let done = 0;
  await t.rejects(
    enhanceImage(session, card, gradient(300, 300), { tile: 32, overlap: 8, batch: 1, signal: controller.signal, onProgress: (p) => ((done = p.done), controller.abort()) }),
    { name: 'AbortError' },
  );
  t.equal(done, 1, 'stopped after the first tile');
});

t.test('a real photograph, whole and tiled: the seams are no worse than the inside', { skip: !existsSync(FIXTURES) && `no fixtures at ${FIXTURES} (../shared is absent)` }, async (t) => {
  const { spec, card } = generatedUpscaler('bilinear');
  const session = await open(spec);
  const { data, info } = await sharp(path.join(FIXTURES, 'photo-sailing-ship-california.jpg')).resize(240).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data), width: info.width, height: info.height };
  const whole = await enhanceImage(session, card, image, { tile: 512 });
  const tiled = await enhanceImage(session, card, image, { tile: 64, overlap: 8 });
  const d = differences(whole, tiled, seams(image.width, 64, 8), seams(image.height, 64, 8));
  t.ok(d.seams <= d.inside && d.seams <= 1, `largest difference along the seams ${d.seams}, inside ${d.inside}`);
});
