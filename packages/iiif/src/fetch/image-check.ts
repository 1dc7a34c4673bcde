import sharp from 'sharp';
import { LoupeError } from '@loupe/contracts';
import type { PixelBudget } from './pixel-budget.js';

export interface ImageFacts {
  readonly width: number;
  readonly height: number;
  /** sharp's name of the encoding: jpeg, png, webp, gif, tiff, jp2k... */
  readonly format: string;
}

/**
 * Checks that `bytes` are an image Loupe can use, cheapest test first: the header (size and format)
 * before any pixel is decoded, so a decompression bomb is refused at the cost of reading a few
 * bytes; then a full decode to a thumbnail, which catches truncation (a JPEG cut in half decodes
 * "fine" with its lower part grey unless told to fail) without holding the full-size pixels.
 * The decode still waits for the image's pixels in `budget`: only JPEG shrinks on load, and many
 * decodes at once add up.
 */
export async function inspectImage(bytes: Buffer, url: string, maxPixels: number, budget: PixelBudget): Promise<ImageFacts> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    const unsupported = /unsupported image format/i.test(String((err as Error).message));
    throw new LoupeError(
      unsupported ? 'LOUPE_ERR_IMAGE_UNSUPPORTED' : 'LOUPE_ERR_IMAGE_DECODE',
      `${url}: ${unsupported ? 'not an image format Loupe can read' : 'the image header cannot be read'} (${(err as Error).message})`,
      { cause: err, details: { url } },
    );
  }
  const { width, height, format } = meta;
  if (format === 'svg') {
    // Rendering SVG runs a whole XML renderer on remote input, for images no IIIF server serves.
    throw new LoupeError('LOUPE_ERR_IMAGE_UNSUPPORTED', `${url}: SVG images are not supported`, { details: { url } });
  }
  if (!width || !height) {
    throw new LoupeError('LOUPE_ERR_IMAGE_DECODE', `${url}: the image has no size in its header`, { details: { url } });
  }
  if (width * height > maxPixels) {
    throw new LoupeError(
      'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS',
      `${url}: ${width}x${height} is ${width * height} pixels, above the limit of ${maxPixels}`,
      { details: { url, width, height, maxPixels } },
    );
  }
  try {
    await budget.hold(width * height, () => decoder(bytes, maxPixels).resize(32, 32, { fit: 'inside' }).raw().toBuffer());
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IMAGE_DECODE', `${url}: the image cannot be decoded, it is corrupt or truncated (${(err as Error).message})`, {
      cause: err,
      details: { url },
    });
  }
  return { width, height, format };
}

/** A sharp pipeline over untrusted bytes: fails on truncation and refuses more than `maxPixels`. */
export function decoder(bytes: Buffer, maxPixels: number): sharp.Sharp {
  return sharp(bytes, { failOn: 'truncated', limitInputPixels: maxPixels, sequentialRead: true });
}

/** Decodes to 8-bit interleaved RGB of exactly `width` x `height`: alpha flattened on white, grey expanded. */
export async function toRgb(bytes: Buffer, url: string, maxPixels: number, width: number, height: number): Promise<Buffer> {
  try {
    const { data, info } = await decoder(bytes, maxPixels)
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
    }
    return data;
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IMAGE_DECODE', `${url}: the image cannot be decoded (${(err as Error).message})`, {
      cause: err,
      details: { url },
    });
  }
}
