/**
 * Full-reference image quality, as super-resolution papers report it: PSNR and SSIM on the luminance
 * (ITU-R BT.601 Y, 16..235, as MATLAB's rgb2ycbcr), a border of `crop` pixels left out on every side
 * (where an upscaler has no neighbours to read).
 */

export interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A single-channel float image. */
export interface Plane {
  data: Float64Array;
  width: number;
  height: number;
}

/** BT.601 luma of RGB bytes, `crop` pixels trimmed from every side. */
export function luma(img: Rgb, crop = 0): Plane {
  const width = img.width - 2 * crop;
  const height = img.height - 2 * crop;
  if (width < 1 || height < 1) throw new RangeError(`a ${img.width}x${img.height} image has nothing left after cropping ${crop} px`);
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = ((y + crop) * img.width + x + crop) * 3;
      data[y * width + x] = 16 + (65.481 * img.data[i]! + 128.553 * img.data[i + 1]! + 24.966 * img.data[i + 2]!) / 255;
    }
  }
  return { data, width, height };
}

function sameSize(a: Plane, b: Plane): void {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`${a.width}x${a.height} against ${b.width}x${b.height}`);
}

/** Peak signal-to-noise ratio in dB for 8-bit values (Infinity for identical planes). */
export function psnr(a: Plane, b: Plane): number {
  sameSize(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += (a.data[i]! - b.data[i]!) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.data.length));
}

/** The 11-tap Gaussian of sigma 1.5, normalised; the 11 x 11 window is its outer product. */
function gaussian(size = 11, sigma = 1.5): Float64Array {
  const w = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const total = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / total);
}

/** The window's weighted mean at every position where it lies wholly inside (a 'valid' filter), separably. */
function filterValid(p: Plane, w: Float64Array): Plane {
  const k = w.length;
  const width = p.width - k + 1;
  const height = p.height - k + 1;
  const rows = new Float64Array(width * p.height);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += w[j]! * p.data[y * p.width + x + j]!;
      rows[y * width + x] = s;
    }
  }
  const data = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += w[j]! * rows[(y + j) * width + x]!;
      data[y * width + x] = s;
    }
  }
  return { data, width, height };
}

function product(a: Plane, b: Plane): Plane {
  return { ...a, data: a.data.map((v, i) => v * b.data[i]!) };
}

/**
 * Mean SSIM (Wang, Bovik, Sheikh, Simoncelli 2004): per window, (2 mu_a mu_b + C1)(2 cov + C2) /
 * ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)), with C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 255,
 * Gaussian-weighted 11 x 11 windows (sigma 1.5) at every whole-window position, averaged.
 */
export function ssim(a: Plane, b: Plane): number {
  sameSize(a, b);
  const w = gaussian();
  if (a.width < w.length || a.height < w.length) throw new RangeError(`SSIM needs at least ${w.length}x${w.length} pixels, got ${a.width}x${a.height}`);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const muA = filterValid(a, w);
  const muB = filterValid(b, w);
  const aa = filterValid(product(a, a), w);
  const bb = filterValid(product(b, b), w);
  const ab = filterValid(product(a, b), w);
  let total = 0;
  for (let i = 0; i < muA.data.length; i++) {
    const ma = muA.data[i]!;
    const mb = muB.data[i]!;
    const varA = aa.data[i]! - ma * ma;
    const varB = bb.data[i]! - mb * mb;
    const cov = ab.data[i]! - ma * mb;
    total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (varA + varB + c2));
  }
  return total / muA.data.length;
}
