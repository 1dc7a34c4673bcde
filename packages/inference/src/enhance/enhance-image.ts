import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import type { RawImage } from '../image-ops.js';
import type { ModelCard } from '../cards/model-card.js';
import type { ModelSession, Tensor } from '../session.js';
import { spans, spanWeights, type Span } from './tile-grid.js';

/** What the runner reads of a card: its input's pixel transform and tile, its output's factor and white. */
export type EnhanceCard = Pick<ModelCard, 'id' | 'input' | 'output'>;

/** A session (tests, tools) or the engine's runner (services: it queues, batches and measures). */
export type EnhanceModel = ModelSession | ModelRunner;

export interface EnhanceOptions {
  /** Side of the square tile the model is run on (input pixels); the card's input width by default. */
  readonly tile?: number;
  /** Input pixels two neighbouring tiles share; an eighth of the tile (at least 8) by default. */
  readonly overlap?: number;
  /** The most output pixels (width x height) the call may make; checked before any work. */
  readonly pixelBudget?: number;
  /** Tiles handed to the model in one run, where the card allows batches; 4 by default. */
  readonly batch?: number;
  readonly signal?: AbortSignal;
  /** After each run of tiles: how many of the image's tiles are done. */
  readonly onProgress?: (progress: { readonly done: number; readonly total: number }) => void;
}

/** 24 megapixels out (a 4000 x 6000 page): what one enhancement may make unless told otherwise. */
export const ENHANCE_DEFAULTS = Object.freeze({ tile: 128, batch: 4, pixelBudget: 24_000_000 });

/** What a card's `output.options` say: the scale factor and the value the model gives for white. */
export function enhanceFactor(card: EnhanceCard): { factor: number; range: number } {
  const options = card.output.options ?? {};
  const factor = typeof options['factor'] === 'number' ? options['factor'] : 1;
  const range = typeof options['range'] === 'number' ? options['range'] : 1;
  if (!(Number.isInteger(factor) && factor >= 1) || !(range > 0)) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `${card.id}: output.options.factor must be a whole number of 1 or more and range positive, got ${factor} and ${range}`);
  }
  return { factor, range };
}

interface Tile {
  readonly x: Span;
  readonly y: Span;
}

/**
 * Runs an image-to-image model (super-resolution, deblurring) over an image of any size: tiles of
 * the card's size with overlap, batched where the card allows, blended with feathered weights so
 * no seam shows. An image no larger than a tile runs whole. A graph fixed to one size gets edge-
 * padded tiles; a graph that wants multiples of `input.multipleOf` gets them padded up to one.
 */
export async function enhanceImage(model: EnhanceModel, card: EnhanceCard, image: RawImage, opts: EnhanceOptions = {}): Promise<RawImage> {
  const { factor, range } = enhanceFactor(card);
  const fixed = fixedSize(model, card);
  const tile = opts.tile ?? fixed ?? card.input.width ?? ENHANCE_DEFAULTS.tile;
  const overlap = opts.overlap ?? Math.max(8, Math.round(tile / 8));
  const budget = opts.pixelBudget ?? ENHANCE_DEFAULTS.pixelBudget;
  const outW = image.width * factor;
  const outH = image.height * factor;
  if (outW * outH > budget) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `enhancing ${image.width}x${image.height} by ${factor} makes ${outW}x${outH} = ${outW * outH} pixels, over the pixel budget of ${budget}: ask for a region or a smaller factor`,
      { details: { width: outW, height: outH, pixels: outW * outH, pixelBudget: budget } },
    );
  }
  if (!(Number.isInteger(tile) && tile >= 8) || !(Number.isInteger(overlap) && overlap >= 0 && overlap * 2 <= tile) || (fixed !== undefined && tile !== fixed)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `tiles must be whole, at least 8 px${fixed ? ` and exactly ${fixed} (the graph's size)` : ''}, with an overlap of at most half a tile; got ${tile} and ${overlap}`, {
      details: { tile, overlap },
    });
  }
  opts.signal?.throwIfAborted();
  const xs = spans(image.width, tile, overlap);
  const ys = spans(image.height, tile, overlap);
  const tiles: Tile[] = ys.flatMap((y) => xs.map((x) => ({ x, y })));
  const batch = card.input.batch === false ? 1 : Math.max(1, Math.min(opts.batch ?? ENHANCE_DEFAULTS.batch, 'limits' in model ? model.limits.maxBatch : Infinity));
  const multiple = card.input.multipleOf ?? 1;
  const padded = (size: number): number => fixed ?? Math.ceil(size / multiple) * multiple;

  const sum = new Float32Array(outW * outH * 3);
  let done = 0;
  // Tiles of one shape share a run: all of them, except an axis shorter than a tile.
  for (let i = 0; i < tiles.length; ) {
    const shape = (t: Tile): string => `${padded(t.x.size)}x${padded(t.y.size)}`;
    const group = [tiles[i]!];
    while (group.length < batch && i + group.length < tiles.length && shape(tiles[i + group.length]!) === shape(group[0]!)) group.push(tiles[i + group.length]!);
    i += group.length;
    opts.signal?.throwIfAborted();
    const w = padded(group[0]!.x.size);
    const h = padded(group[0]!.y.size);
    const input = new Float32Array(group.length * w * h * 3);
    group.forEach((t, k) => writeTile(image, t, w, h, card, input, k * w * h * 3));
    const output = await runTiles(model, card, input, group.length, w, h, opts.signal);
    const outTile = { w: w * factor, h: h * factor };
    const layout = outputLayout(output, card, group.length, outTile);
    group.forEach((t, k) => addTile(sum, outW, t, factor, output.data as Float32Array, k * outTile.w * outTile.h * 3, outTile, layout));
    done += group.length;
    opts.onProgress?.({ done, total: tiles.length });
  }

  const bgr = card.input.channelOrder === 'BGR';
  const data = new Uint8Array(outW * outH * 3);
  for (let p = 0; p < outW * outH; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round((sum[p * 3 + (bgr ? 2 - c : c)]! * 255) / range);
      data[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { data, width: outW, height: outH };
}

/** The side a graph is fixed to (both sides equal), or undefined when its spatial axes are free. */
function fixedSize(model: EnhanceModel, card: EnhanceCard): number | undefined {
  const name = inputNameOf(model, card);
  const shape = model.inputs.find((i) => i.name === name)?.shape;
  if (!shape || shape.length !== 4) return undefined;
  const [h, w] = card.input.layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  if (typeof h !== 'number' || typeof w !== 'number' || h <= 0 || w <= 0) return undefined;
  if (h !== w) throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `${card.id}: the graph is fixed to ${w}x${h}; the tiled runner needs square tiles`);
  return w;
}

const inputNameOf = (model: EnhanceModel, card: EnhanceCard): string =>
  'inputName' in model ? model.inputName : (card.input.name ?? model.inputNames[0] ?? 'input');

/** A tile's pixels into the model's input, edge pixels repeated out to the padded size. */
function writeTile(image: RawImage, t: Tile, w: number, h: number, card: EnhanceCard, into: Float32Array, offset: number): void {
  const { scale, mean, std, channelOrder, layout } = card.input;
  const order = channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let y = 0; y < h; y++) {
    const sy = t.y.start + Math.min(y, t.y.size - 1);
    for (let x = 0; x < w; x++) {
      const sx = t.x.start + Math.min(x, t.x.size - 1);
      const src = (sy * image.width + sx) * 3;
      for (let c = 0; c < 3; c++) {
        const value = (image.data[src + order[c]!]! * scale - mean[c]!) / std[c]!;
        into[offset + (layout === 'NCHW' ? c * w * h + y * w + x : (y * w + x) * 3 + c)] = value;
      }
    }
  }
}

async function runTiles(model: EnhanceModel, card: EnhanceCard, data: Float32Array, n: number, w: number, h: number, signal: AbortSignal | undefined): Promise<Tensor> {
  const dims = card.input.layout === 'NCHW' ? [n, 3, h, w] : [n, h, w, 3];
  const feeds = { [inputNameOf(model, card)]: { data, dims } };
  const outputs = 'runBatch' in model ? await model.runBatch(feeds, { ...(signal && { signal }) }) : await model.run(feeds, { ...(signal && { signal }) });
  const name = typeof card.output.options?.['output'] === 'string' ? card.output.options['output'] : Object.keys(outputs)[0]!;
  const out = outputs[name];
  if (!out || !(out.data instanceof Float32Array)) throw new LoupeError('LOUPE_ERR_INFERENCE', `${card.id}: no float32 output ${name} (outputs: ${Object.keys(outputs).join(', ')})`);
  return out;
}

/** Whether the output is channels-last, checked against the size the factor promises. */
function outputLayout(out: Tensor, card: EnhanceCard, n: number, size: { w: number; h: number }): 'NHWC' | 'NCHW' {
  const d = out.dims;
  if (d.length === 4 && d[0] === n && d[1] === size.h && d[2] === size.w && d[3] === 3) return 'NHWC';
  if (d.length === 4 && d[0] === n && d[1] === 3 && d[2] === size.h && d[3] === size.w) return 'NCHW';
  throw new LoupeError('LOUPE_ERR_INFERENCE', `${card.id}: output [${d.join(', ')}] is not ${n} RGB images of ${size.w}x${size.h} (the card's factor times the tile)`, {
    details: { dims: [...d], expected: [n, size.h, size.w, 3] },
  });
}

/** One tile's output, weighted, added into the whole; only the part that is not padding. */
function addTile(sum: Float32Array, outW: number, t: Tile, factor: number, out: Float32Array, offset: number, size: { w: number; h: number }, layout: 'NHWC' | 'NCHW'): void {
  const wx = spanWeights(t.x, factor);
  const wy = spanWeights(t.y, factor);
  const plane = size.w * size.h;
  for (let y = 0; y < t.y.size * factor; y++) {
    const row = (t.y.start * factor + y) * outW + t.x.start * factor;
    for (let x = 0; x < t.x.size * factor; x++) {
      const weight = wx[x]! * wy[y]!;
      if (weight === 0) continue;
      const to = (row + x) * 3;
      for (let c = 0; c < 3; c++) {
        const from = layout === 'NHWC' ? offset + (y * size.w + x) * 3 + c : offset + c * plane + y * size.w + x;
        sum[to + c] = sum[to + c]! + weight * out[from]!;
      }
    }
  }
}
