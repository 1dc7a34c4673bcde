import sharp from 'sharp';
import type { RawImage } from '../image-ops.js';
import type { SaliencyMap } from './occlusion.saliency.js';

export interface OverlayOptions {
  /** The PNG's longest side at most: a curator's screen, not the master's resolution. */
  maxSide?: number;
  /** Opacity of the heat where the map is strongest (0..1). */
  opacity?: number;
}

/**
 * The map as a heat overlay on the image, as a PNG: only what supports the score is coloured
 * (dark red rising to yellow at the peak), so the picture stays readable where the model did not
 * look. The map is interpolated between cell centres, as a smooth map is what a reader expects.
 */
export async function saliencyOverlayPng(image: RawImage, map: SaliencyMap, opts: OverlayOptions = {}): Promise<Buffer> {
  const maxSide = opts.maxSide ?? 768;
  const opacity = opts.opacity ?? 0.6;
  const shrink = Math.min(1, maxSide / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * shrink));
  const height = Math.max(1, Math.round(image.height * shrink));
  const base =
    shrink === 1
      ? image.data
      : (await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(width, height, { fit: 'fill' }).raw().toBuffer());
  const top = Math.max(0, ...map.values);
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const heat = top > 0 ? Math.max(0, sampleMap(map, (x + 0.5) / width, (y + 0.5) / height)) / top : 0;
      const a = opacity * heat;
      // Dark red at low heat, through orange to yellow at the peak.
      const colour = [255 * Math.min(1, 0.5 + heat), 255 * Math.max(0, heat * 1.4 - 0.4), 0];
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        out[i] = Math.round(base[i]! * (1 - a) + colour[c]! * a);
      }
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** The map's value at a point given as fractions of the image's width and height, bilinear between cell centres. */
export function sampleMap(map: SaliencyMap, u: number, v: number): number {
  const fx = Math.min(map.width - 1, Math.max(0, u * map.width - 0.5));
  const fy = Math.min(map.height - 1, Math.max(0, v * map.height - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(map.width - 1, x0 + 1);
  const y1 = Math.min(map.height - 1, y0 + 1);
  const tx = fx - x0;
  const ty = fy - y0;
  const at = (x: number, y: number) => map.values[y * map.width + x]!;
  return (at(x0, y0) * (1 - tx) + at(x1, y0) * tx) * (1 - ty) + (at(x0, y1) * (1 - tx) + at(x1, y1) * tx) * ty;
}
