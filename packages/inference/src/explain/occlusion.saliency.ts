import { LoupeError } from '@loupe/contracts';
import sharp from 'sharp';
import type { RawImage } from '../image-ops.js';

/**
 * Scores images with the model being explained: one number per image, higher meaning "more of
 * what is being explained". Every image of a call is the same size, so a scorer that starts one
 * engine run per image at once lets the engine batch them (see scoreEach).
 */
export type ImageScorer = (images: readonly RawImage[], signal?: AbortSignal) => Promise<readonly number[]>;

/** What hidden parts of the image are replaced with: the picture blurred beyond recognition, or its mean colour. */
export type OcclusionBaseline = 'blur' | 'mean';

export interface OcclusionOptions {
  /** Side of the hidden square, as a fraction of the image's shorter side. */
  window?: number;
  /** Step between two windows, as a fraction of the window: 0.5 makes neighbours overlap by half. */
  stride?: number;
  baseline?: OcclusionBaseline;
  /** Masked images handed to the scorer in one call. */
  batch?: number;
  /** The image is masked at this longest side at most: models see a few hundred pixels anyway. */
  maxSide?: number;
  /**
   * Forward passes allowed, the unmasked one included: a small window at a small stride asks for
   * thousands, and the explanation routes are open to readers. Refused before any pass is made.
   */
  maxPasses?: number;
  signal?: AbortSignal;
}

export const OCCLUSION_DEFAULTS = Object.freeze({ window: 0.25, stride: 0.5, baseline: 'blur' as OcclusionBaseline, batch: 16, maxSide: 512, maxPasses: 400 });

export interface SaliencyMap {
  readonly method: 'occlusion';
  /** Cells across and down: one cell per stride step. */
  readonly width: number;
  readonly height: number;
  /**
   * Row-major, one value per cell: how much the score falls, on average, when a window covering
   * the cell's centre is hidden. Positive: the cell supports the score; negative: it works against it.
   */
  readonly values: Float32Array;
  /** The image the map lies over, in its own pixels (the size given, not the masked copy's). */
  readonly image: { readonly width: number; readonly height: number };
  /** The score of the whole, unmasked image. */
  readonly score: number;
  /** The cell with the largest value, its centre in the image's pixels. */
  readonly peak: { readonly x: number; readonly y: number; readonly value: number };
  /** Forward passes made, the unmasked one included. */
  readonly passes: number;
  readonly options: { readonly window: number; readonly stride: number; readonly baseline: OcclusionBaseline };
}

/**
 * Occlusion saliency: hide one square of the image at a time and watch the score fall. Forward
 * passes only, so it explains any model that gives a score (a head's probability, a detector's box)
 * without gradients; deterministic, so the same annotation always gets the same explanation; and
 * its cost is known before it starts (a 0.25 window at 0.5 stride is 49 passes). RISE needs
 * thousands of random masks for a map as steady, which a CPU detector cannot afford.
 */
export async function occlusionSaliency(image: RawImage, score: ImageScorer, opts: OcclusionOptions = {}): Promise<SaliencyMap> {
  const d = OCCLUSION_DEFAULTS;
  const o = {
    window: opts.window ?? d.window,
    stride: opts.stride ?? d.stride,
    baseline: opts.baseline ?? d.baseline,
    batch: opts.batch ?? d.batch,
    maxSide: opts.maxSide ?? d.maxSide,
    maxPasses: opts.maxPasses ?? d.maxPasses,
    signal: opts.signal,
  };
  if (!(o.window > 0 && o.window <= 1) || !(o.stride > 0 && o.stride <= 1) || !(Number.isInteger(o.batch) && o.batch >= 1) || !(o.maxSide >= 16)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'Occlusion needs 0 < window <= 1, 0 < stride <= 1, a whole batch of 1 or more and maxSide of 16 or more', {
      details: { window: o.window, stride: o.stride, batch: o.batch, maxSide: o.maxSide },
    });
  }
  const small = await fitInside(image, o.maxSide);
  const side = Math.max(1, Math.round(o.window * Math.min(small.width, small.height)));
  const step = Math.max(1, Math.round(side * o.stride));
  const xs = positions(small.width, side, step);
  const ys = positions(small.height, side, step);
  if (xs.length * ys.length + 1 > o.maxPasses) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `window ${o.window} at stride ${o.stride} needs ${xs.length * ys.length + 1} forward passes; at most ${o.maxPasses} are made for one explanation: widen the window or the stride`,
      { details: { window: o.window, stride: o.stride, passes: xs.length * ys.length + 1, maxPasses: o.maxPasses } },
    );
  }
  const fill = o.baseline === 'mean' ? meanColour(small) : await blurred(small, side);

  const windows = ys.flatMap((y) => xs.map((x) => ({ x, y })));
  const [whole] = await score([small], o.signal);
  if (whole === undefined || !Number.isFinite(whole)) throw new LoupeError('LOUPE_ERR_INFERENCE', 'The scorer gave no score for the unmasked image');
  const drops = new Float32Array(windows.length);
  for (let start = 0; start < windows.length; start += o.batch) {
    o.signal?.throwIfAborted();
    const chunk = windows.slice(start, start + o.batch);
    const scores = await score(
      chunk.map((w) => masked(small, fill, w.x, w.y, side)),
      o.signal,
    );
    if (scores.length !== chunk.length) throw new LoupeError('LOUPE_ERR_INFERENCE', `The scorer gave ${scores.length} scores for ${chunk.length} images`);
    scores.forEach((s, i) => (drops[start + i] = whole - s));
  }

  const width = Math.ceil(small.width / step);
  const height = Math.ceil(small.height / step);
  const sum = new Float32Array(width * height);
  const count = new Uint16Array(width * height);
  windows.forEach((w, i) => {
    // A cell takes part in every window that covers its centre.
    for (let cy = 0; cy < height; cy++) {
      const py = Math.min(small.height, (cy + 0.5) * step);
      if (py < w.y || py >= w.y + side) continue;
      for (let cx = 0; cx < width; cx++) {
        const px = Math.min(small.width, (cx + 0.5) * step);
        if (px < w.x || px >= w.x + side) continue;
        sum[cy * width + cx]! += drops[i]!;
        count[cy * width + cx]!++;
      }
    }
  });
  const values = sum.map((s, i) => (count[i]! > 0 ? s / count[i]! : 0));
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  const sx = image.width / small.width;
  const sy = image.height / small.height;
  return {
    method: 'occlusion',
    width,
    height,
    values,
    image: { width: image.width, height: image.height },
    score: whole,
    peak: {
      x: Math.min(small.width, ((best % width) + 0.5) * step) * sx,
      y: Math.min(small.height, (Math.floor(best / width) + 0.5) * step) * sy,
      value: values[best]!,
    },
    passes: windows.length + 1,
    options: { window: o.window, stride: o.stride, baseline: o.baseline },
  };
}

/**
 * A scorer from a one-image score: the images of a call start their runs together, which is
 * what lets the engine's batcher put them in one forward pass where the model takes batches.
 */
export function scoreEach(one: (image: RawImage, signal?: AbortSignal) => Promise<number>): ImageScorer {
  return (images, signal) => Promise.all(images.map((image) => one(image, signal)));
}

/** Window origins along one axis, from 0 every step, the last one flush with the far edge. */
function positions(length: number, side: number, step: number): number[] {
  const last = Math.max(0, length - side);
  const out: number[] = [];
  for (let p = 0; p < last; p += step) out.push(p);
  out.push(last);
  return out;
}

function masked(image: RawImage, fill: RawImage, x0: number, y0: number, side: number): RawImage {
  const data = Uint8Array.from(image.data);
  const x1 = Math.min(image.width, x0 + side);
  const y1 = Math.min(image.height, y0 + side);
  for (let y = y0; y < y1; y++) {
    const from = (y * image.width + x0) * 3;
    data.set(fill.data.subarray(from, (y * image.width + x1) * 3), from);
  }
  return { data, width: image.width, height: image.height };
}

function meanColour(image: RawImage): RawImage {
  const sums = [0, 0, 0];
  for (let i = 0; i < image.data.length; i++) sums[i % 3]! += image.data[i]!;
  const pixels = image.width * image.height;
  const mean = sums.map((s) => Math.round(s / pixels));
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = mean[i % 3]!;
  return { data, width: image.width, height: image.height };
}

/** Blurred with a sigma of half the window: what the window hid is gone, the colours around it stay. */
async function blurred(image: RawImage, side: number): Promise<RawImage> {
  const { data } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .blur(Math.max(0.3, side / 2))
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: image.width, height: image.height };
}

async function fitInside(image: RawImage, maxSide: number): Promise<RawImage> {
  if (Math.max(image.width, image.height) <= maxSide) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(maxSide, maxSide, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
