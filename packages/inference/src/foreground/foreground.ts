import sharp from 'sharp';
import type { Rect } from '@loupe/contracts';
import { resizeTo, toTensor, type RawImage } from '../image-ops.js';
import type { FloatTensor } from '../session.js';

/** Runs the background-removal model: `input` [1,3,S,S] -> `output` [1,1,S,S], foreground probability. */
export type MaskModel = (feeds: Record<string, FloatTensor>) => Promise<Record<string, FloatTensor>>;

export interface ForegroundOptions {
  /** The model's square input side (ISNet: 1024). */
  readonly size?: number;
  readonly inputName?: string;
  readonly outputName?: string;
  /** Mask values at or above this (0..1) are foreground. */
  readonly threshold?: number;
  /** Less foreground than this share of the image means there is no object to cut out. */
  readonly minCoverage?: number;
  /** Room left around the object, as a share of its size, so later stages do not cut its edge. */
  readonly margin?: number;
}

export interface Foreground {
  /** The object's bounding box in image pixels; absent when the mask holds no object. */
  readonly region: Rect | undefined;
  /** Share of the image that is foreground. */
  readonly coverage: number;
  /** The mask at the image's size: 8-bit grey, 255 = foreground. */
  readonly mask: RawImage & { readonly channels: 1 };
}

/**
 * Finds the object on a backdrop (a coin on cloth, a sculpture on a plinth): the
 * background-removal mask gives the foreground's bounding box, which later stages turn
 * into a IIIF region so they fetch only the object.
 */
export async function findForeground(image: RawImage, run: MaskModel, opts: ForegroundOptions = {}): Promise<Foreground> {
  const size = opts.size ?? 1024;
  const threshold = opts.threshold ?? 0.5;
  const { image: input } = await resizeTo(image, { width: size, height: size, mode: 'stretch' });
  // ISNet as trained: (px - 128) / 256 per RGB channel.
  const data = toTensor(input, { mean: [128, 128, 128], std: [256, 256, 256], scale: 1, layout: 'NCHW', channelOrder: 'RGB' });
  const outputs = await run({ [opts.inputName ?? 'input']: { data, dims: [1, 3, size, size] } });
  const out = outputs[opts.outputName ?? 'output'] ?? Object.values(outputs)[0];
  if (!out) throw new Error('the background-removal model returned no output');
  const probs = out.data as Float32Array;
  const small = Buffer.alloc(size * size);
  for (let i = 0; i < small.length; i++) small[i] = Math.max(0, Math.min(255, Math.round(probs[i]! * 255)));
  const { data: maskData, info } = await sharp(small, { raw: { width: size, height: size, channels: 1 } })
    .resize(image.width, image.height, { fit: 'fill', kernel: 'linear' })
    // sharp would otherwise hand back three channels for a one-channel input.
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const mask = { data: new Uint8Array(maskData.buffer, maskData.byteOffset, maskData.length), width: info.width, height: info.height, channels: 1 as const };

  const cut = Math.round(threshold * 255);
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -1;
  let maxY = -1;
  let count = 0;
  // Count foreground per row and column first: a few stray pixels far from the object must not stretch the box.
  const rows = new Uint32Array(mask.height);
  const cols = new Uint32Array(mask.width);
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]! >= cut) {
        rows[y]! += 1;
        cols[x]! += 1;
        count += 1;
      }
    }
  }
  const coverage = count / (mask.width * mask.height);
  if (coverage < (opts.minCoverage ?? 0.005)) return { region: undefined, coverage, mask };
  // Trim the thinnest 0.5 % of foreground on each side (noise), then take the box.
  const trim = count * 0.005;
  const bounds = (counts: Uint32Array): [number, number] => {
    let acc = 0;
    let lo = 0;
    while (lo < counts.length - 1 && acc + counts[lo]! <= trim) acc += counts[lo++]!;
    acc = 0;
    let hi = counts.length - 1;
    while (hi > lo && acc + counts[hi]! <= trim) acc += counts[hi--]!;
    return [lo, hi];
  };
  [minY, maxY] = bounds(rows);
  [minX, maxX] = bounds(cols);
  const margin = opts.margin ?? 0.03;
  const mx = Math.round((maxX - minX + 1) * margin);
  const my = Math.round((maxY - minY + 1) * margin);
  const x = Math.max(0, minX - mx);
  const y = Math.max(0, minY - my);
  const region = { x, y, w: Math.min(image.width, maxX + 1 + mx) - x, h: Math.min(image.height, maxY + 1 + my) - y };
  return { region, coverage, mask };
}

/** The mask as a PNG, for a viewer or a curator to check the cut. */
export async function maskPng(mask: Foreground['mask']): Promise<Buffer> {
  return sharp(Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.length), { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .png()
    .toBuffer();
}
