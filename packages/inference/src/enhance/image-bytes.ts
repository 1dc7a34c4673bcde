import sharp from 'sharp';
import type { RawImage } from '../image-ops.js';

/** A whole-pixel rectangle of an RGB image, copied row by row. */
export function cropRgb(image: RawImage, part: { x: number; y: number; w: number; h: number }): RawImage {
  if (part.x === 0 && part.y === 0 && part.w === image.width && part.h === image.height) return image;
  const data = new Uint8Array(part.w * part.h * 3);
  for (let y = 0; y < part.h; y++) {
    const from = ((part.y + y) * image.width + part.x) * 3;
    data.set(image.data.subarray(from, from + part.w * 3), y * part.w * 3);
  }
  return { data, width: part.w, height: part.h };
}

/** An RGB image as PNG: lossless, so a derived image keeps every pixel the models made. */
export function rgbPng(image: RawImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
