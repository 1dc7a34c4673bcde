import sharp from 'sharp';
import type { RawImage } from './image-ops.js';

const SIZE = 32;
const KEEP = 8;

/** cos((2x + 1) u pi / 2N) for the 32-point DCT-II, computed once. */
const COS: Float64Array = (() => {
  const table = new Float64Array(SIZE * SIZE);
  for (let u = 0; u < SIZE; u++) for (let x = 0; x < SIZE; x++) table[u * SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * SIZE));
  return table;
})();

/**
 * The 64-bit DCT perceptual hash of an image, as 16 hex digits: the image is reduced to 32x32
 * grey, transformed with a 2-D DCT, and each of the 8x8 lowest frequencies (the DC term left out
 * of the median, which it would dominate) becomes one bit: above the median or not. Re-encoding,
 * resizing and small colour shifts leave it (nearly) unchanged: the Hamming distance between two
 * hashes says how alike two images look.
 */
export async function perceptualHash(image: RawImage | Buffer): Promise<string> {
  const input = Buffer.isBuffer(image) ? sharp(image) : sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const grey = await input.greyscale().resize(SIZE, SIZE, { fit: 'fill', kernel: 'cubic' }).extractChannel(0).raw().toBuffer();
  return hashOfGrey(grey);
}

/** The hash of a 32x32 8-bit grey image (row-major). */
export function hashOfGrey(grey: Uint8Array): string {
  if (grey.length !== SIZE * SIZE) throw new RangeError(`perceptual hash needs ${SIZE}x${SIZE} grey pixels, got ${grey.length}`);
  // Separable DCT: rows first, then columns, keeping only the 8x8 low frequencies.
  const rows = new Float64Array(SIZE * KEEP);
  for (let y = 0; y < SIZE; y++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let x = 0; x < SIZE; x++) sum += grey[y * SIZE + x]! * COS[u * SIZE + x]!;
      rows[y * KEEP + u] = sum;
    }
  }
  const coeffs = new Float64Array(KEEP * KEEP);
  for (let v = 0; v < KEEP; v++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let y = 0; y < SIZE; y++) sum += rows[y * KEEP + u]! * COS[v * SIZE + y]!;
      coeffs[v * KEEP + u] = sum;
    }
  }
  const sorted = Array.from(coeffs.subarray(1)).sort((a, b) => a - b);
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hash = 0n;
  for (let i = 0; i < KEEP * KEEP; i++) hash = (hash << 1n) | (coeffs[i]! > median ? 1n : 0n);
  return hash.toString(16).padStart(16, '0');
}

/** Bits that differ between two hashes (0: identical; up to 64). */
export function hammingDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (x) {
    count += Number(x & 1n);
    x >>= 1n;
  }
  return count;
}
