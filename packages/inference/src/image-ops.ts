import { LoupeError, type Rect } from '@loupe/contracts';
import sharp from 'sharp';
import type { InputSpec } from './cards/model-card.js';
import { toTensor, type TensorSpec } from './pixel-tensor.js';
import type { Tensor } from './session.js';
import { handOverOnRun, pixelThread } from './session.worker-pool.js';

export { toTensor, type TensorSpec } from './pixel-tensor.js';

/**
 * Interleaved 8-bit RGB, row-major, 3 bytes per pixel. Coordinates are continuous:
 * pixel (i, j) covers [i, i+1) x [j, j+1), so its centre is (i + 0.5, j + 0.5).
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface PreparedImage extends RawImage {
  /** The EXIF orientation (1-8) that was applied to make the pixels upright; 1 when none. */
  orientation: number;
}

export interface PrepareOptions {
  /** Decoded pixel limit (width x height); larger images fail before decoding. */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

/** Decodes any image sharp reads into upright sRGB RGB pixels, alpha flattened on white (paper). */
export async function prepareImage(input: Buffer | Uint8Array, opts: PrepareOptions = {}): Promise<PreparedImage> {
  const limitInputPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    const meta = await sharp(input, { limitInputPixels }).metadata();
    const { data, info } = await sharp(input, { limitInputPixels })
      .rotate()
      .toColourspace('srgb')
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new LoupeError('LOUPE_ERR_IMAGE_UNSUPPORTED', `Decoded image has ${info.channels} channels, expected 3`);
    }
    return { data: asBytes(data), width: info.width, height: info.height, orientation: meta.orientation ?? 1 };
  } catch (err) {
    throw toImageError(err);
  }
}

function toImageError(err: unknown): LoupeError {
  if (err instanceof LoupeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(message)) {
    return new LoupeError('LOUPE_ERR_IMAGE_TOO_MANY_PIXELS', message, { cause: err });
  }
  if (/unsupported image format|bad seek|input (buffer|file) is missing/i.test(message)) {
    return new LoupeError('LOUPE_ERR_IMAGE_UNSUPPORTED', message, { cause: err });
  }
  return new LoupeError('LOUPE_ERR_IMAGE_DECODE', message, { cause: err });
}

function asBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Maps result pixels back to input pixels: input = result * scale + offset (continuous coordinates). */
export interface PixelTransform {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export function mapPoint(t: PixelTransform, x: number, y: number): [number, number] {
  return [x * t.scaleX + t.offsetX, y * t.scaleY + t.offsetY];
}

export interface ResizeSpec {
  width: number;
  height: number;
  /** stretch: ignore aspect; letterbox: fit inside and pad; crop: cover and cut the centre. */
  mode: 'stretch' | 'letterbox' | 'crop';
  /** Letterbox padding colour; black by default. */
  background?: { r: number; g: number; b: number };
}

export async function resizeTo(raw: RawImage, spec: ResizeSpec): Promise<{ image: RawImage; transform: PixelTransform }> {
  const { width: outW, height: outH } = spec;
  if (!(outW >= 1 && outH >= 1 && Number.isInteger(outW) && Number.isInteger(outH))) {
    throw new RangeError(`resizeTo needs a positive integer size, got ${outW}x${outH}`);
  }
  const src = () => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } });
  const finish = async (pipeline: sharp.Sharp): Promise<RawImage> => {
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { data: asBytes(data), width: info.width, height: info.height };
  };

  if (spec.mode === 'stretch') {
    const image = await finish(src().resize(outW, outH, { fit: 'fill' }));
    return { image, transform: { scaleX: raw.width / outW, scaleY: raw.height / outH, offsetX: 0, offsetY: 0 } };
  }
  if (spec.mode === 'letterbox') {
    const s = Math.min(outW / raw.width, outH / raw.height);
    const w = clampInt(Math.round(raw.width * s), 1, outW);
    const h = clampInt(Math.round(raw.height * s), 1, outH);
    const left = Math.floor((outW - w) / 2);
    const top = Math.floor((outH - h) / 2);
    const background = { ...(spec.background ?? { r: 0, g: 0, b: 0 }), alpha: 1 };
    // Resize first, then pad: sharp's own 'contain' does the same but hides the padding we need to invert.
    const inner = await finish(src().resize(w, h, { fit: 'fill' }));
    const image = await finish(
      sharp(inner.data, { raw: { width: w, height: h, channels: 3 } }).extend({
        left,
        top,
        right: outW - w - left,
        bottom: outH - h - top,
        background,
      }),
    );
    const scaleX = raw.width / w;
    const scaleY = raw.height / h;
    // `|| 0` keeps -0 out of the transform when there is no padding.
    return { image, transform: { scaleX, scaleY, offsetX: -left * scaleX || 0, offsetY: -top * scaleY || 0 } };
  }
  const s = Math.max(outW / raw.width, outH / raw.height);
  const w = Math.max(outW, Math.round(raw.width * s));
  const h = Math.max(outH, Math.round(raw.height * s));
  const left = Math.floor((w - outW) / 2);
  const top = Math.floor((h - outH) / 2);
  const inner = await finish(src().resize(w, h, { fit: 'fill' }));
  const image = await finish(
    sharp(inner.data, { raw: { width: w, height: h, channels: 3 } }).extract({ left, top, width: outW, height: outH }),
  );
  const scaleX = raw.width / w;
  const scaleY = raw.height / h;
  return { image, transform: { scaleX, scaleY, offsetX: left * scaleX, offsetY: top * scaleY } };
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Images at least this large (in pixels) become float tensors on the pixel thread: converting a
 * page for OCR detection took the main thread up to 0.7 s in the serve benchmark, and the bytes
 * travel there at a quarter of the floats' size. Smaller ones are cheaper to convert than to send.
 */
const OFF_THREAD_PIXELS = 256 * 256;

/** The bytes as they are (0-255), reordered to the channel order and layout a uint8 model takes. */
export function toByteTensor(raw: RawImage, spec: Pick<TensorSpec, 'layout' | 'channelOrder'> = {}): Uint8Array {
  const { width, height, data } = raw;
  const plane = width * height;
  const bgr = spec.channelOrder === 'BGR';
  if (spec.layout === 'NHWC' && !bgr) return data.slice(0, plane * 3);
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const srcC = bgr ? 2 - c : c;
    if (spec.layout === 'NHWC') {
      for (let i = 0; i < plane; i++) out[i * 3 + c] = data[i * 3 + srcC]!;
    } else {
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = data[i * 3 + srcC]!;
    }
  }
  return out;
}

/** A model's input for one image: a batch of one, and how to map its pixels back to the image's. */
export interface InputTensor {
  /** [1, 3, height, width] (NCHW) or [1, height, width, 3] (NHWC), float32 or uint8 as the spec says. */
  tensor: Tensor;
  width: number;
  height: number;
  transform: PixelTransform;
}

/** The parts of a card's InputSpec that shape pixels; absent fields take the schema's defaults. */
export type InputTensorSpec = Partial<Omit<InputSpec, 'name' | 'batch'>>;

/**
 * Applies a card's whole input spec to an image: resize (to the fixed size with the card's mode; to
 * the fixed height or width keeping the aspect; or to the nearest multiple of `multipleOf`), then
 * colour order, layout and dtype. float32 values are (byte * scale - mean) / std per channel in the
 * output order; uint8 inputs carry the bytes unchanged, their model normalises them itself.
 */
export async function toInputTensor(raw: RawImage, spec: InputTensorSpec = {}): Promise<InputTensor> {
  const { width, height } = inputSize(raw.width, raw.height, spec);
  const same = width === raw.width && height === raw.height;
  const { image, transform } = same
    ? { image: raw, transform: { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 } }
    : await resizeTo(raw, { width, height, mode: spec.width && spec.height ? (spec.resize ?? 'stretch') : 'stretch' });
  const layout = spec.layout ?? 'NCHW';
  const channelOrder = spec.channelOrder ?? 'RGB';
  const dims = layout === 'NHWC' ? [1, height, width, 3] : [1, 3, height, width];
  if (spec.dtype === 'uint8') return { tensor: { data: toByteTensor(image, { layout, channelOrder }), dims, type: 'uint8' }, width, height, transform };
  const tensorSpec: TensorSpec = { mean: spec.mean ?? [0, 0, 0], std: spec.std ?? [1, 1, 1], scale: spec.scale ?? 1 / 255, layout, channelOrder };
  const data =
    width * height >= OFF_THREAD_PIXELS
      ? await pixelThread().call<Float32Array>({ op: 'tensor', image: { data: ownBytes(image.data, width * height * 3), width, height }, spec: tensorSpec })
      : toTensor(image, tensorSpec);
  // Made here and read by nobody after its run: the run hands it to the inference thread.
  handOverOnRun(data);
  return { tensor: { data, dims, type: 'float32' }, width, height, transform };
}

/** The bytes alone: a view into a larger buffer would send the whole buffer to the pixel thread. */
function ownBytes(data: Uint8Array, length: number): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === length && data.buffer.byteLength === length ? data : data.slice(0, length);
}

/** The network input size an image of width x height gets under `spec`. */
export function inputSize(width: number, height: number, spec: Pick<InputTensorSpec, 'width' | 'height' | 'multipleOf'>): { width: number; height: number } {
  const m = spec.multipleOf ?? 1;
  const snap = (v: number) => Math.max(m, Math.round(v / m) * m);
  if (spec.width && spec.height) return { width: spec.width, height: spec.height };
  if (spec.height) return { width: snap((width * spec.height) / height), height: spec.height };
  if (spec.width) return { width: spec.width, height: snap((height * spec.width) / width) };
  return { width: snap(width), height: snap(height) };
}

export type Point = [number, number];
/** Corners in order: top-left, top-right, bottom-right, bottom-left of the content. */
export type Quad = [Point, Point, Point, Point];

/**
 * The integer box around a line's corners (floor the near sides, ceil the far ones). Within
 * `bounds`, it is clamped to the image and at least a pixel each way, as a box a crop can use.
 */
export function polygonBox(points: readonly (readonly [number, number])[], bounds?: { width: number; height: number }): Rect {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, y0, x1, y1] = [Math.floor(Math.min(...xs)), Math.floor(Math.min(...ys)), Math.ceil(Math.max(...xs)), Math.ceil(Math.max(...ys))];
  if (!bounds) return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  const x = Math.max(0, x0);
  const y = Math.max(0, y0);
  return { x, y, w: Math.max(1, Math.min(bounds.width, x1) - x), h: Math.max(1, Math.min(bounds.height, y1) - y) };
}

/**
 * Samples a quadrilateral of the image into an upright width x height image.
 * Enlarging uses bicubic interpolation (bilinear blurs small print enough to
 * lose the gaps between words); shrinking averages several bilinear samples per
 * output pixel so thin strokes survive.
 */
export function cropQuad(raw: RawImage, quad: Quad, width: number, height: number): RawImage {
  const [tl, tr, br, bl] = quad;
  const out = new Uint8Array(width * height * 3);
  const srcW = Math.max(dist(tl, tr), dist(bl, br));
  const srcH = Math.max(dist(tl, bl), dist(tr, br));
  const k = clampInt(Math.ceil(Math.max(srcW / width, srcH / height)), 1, 4);
  const inv = 1 / (k * k);
  const acc = [0, 0, 0];
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sj = 0; sj < k; sj++) {
        const t = (v + (sj + 0.5) / k) / height;
        for (let si = 0; si < k; si++) {
          const s = (u + (si + 0.5) / k) / width;
          const x = (1 - s) * (1 - t) * tl[0] + s * (1 - t) * tr[0] + s * t * br[0] + (1 - s) * t * bl[0];
          const y = (1 - s) * (1 - t) * tl[1] + s * (1 - t) * tr[1] + s * t * br[1] + (1 - s) * t * bl[1];
          if (k === 1) sampleBicubic(raw, x, y, acc);
          else sampleBilinear(raw, x, y, acc);
        }
      }
      const o = (v * width + u) * 3;
      out[o] = clampByte(acc[0]! * inv);
      out[o + 1] = clampByte(acc[1]! * inv);
      out[o + 2] = clampByte(acc[2]! * inv);
    }
  }
  return { data: out, width, height };
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), weights for taps at -1, 0, 1, 2. */
function cubicWeights(t: number, w: number[]): void {
  const t2 = t * t;
  const t3 = t2 * t;
  w[0] = -0.5 * t3 + t2 - 0.5 * t;
  w[1] = 1.5 * t3 - 2.5 * t2 + 1;
  w[2] = -1.5 * t3 + 2 * t2 + 0.5 * t;
  w[3] = 0.5 * t3 - 0.5 * t2;
}

const wx = [0, 0, 0, 0];
const wy = [0, 0, 0, 0];

/** Adds the bicubic colour at continuous point (x, y) to acc (may overshoot 0-255; the caller clamps). */
function sampleBicubic(raw: RawImage, x: number, y: number, acc: number[]): void {
  const { width, height, data } = raw;
  const fx = Math.min(Math.max(x - 0.5, 0), width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  cubicWeights(fx - x0, wx);
  cubicWeights(fy - y0, wy);
  for (let j = 0; j < 4; j++) {
    const yy = Math.min(Math.max(y0 + j - 1, 0), height - 1);
    const wj = wy[j]!;
    for (let i = 0; i < 4; i++) {
      const xx = Math.min(Math.max(x0 + i - 1, 0), width - 1);
      const w = wj * wx[i]!;
      const o = (yy * width + xx) * 3;
      acc[0]! += data[o]! * w;
      acc[1]! += data[o + 1]! * w;
      acc[2]! += data[o + 2]! * w;
    }
  }
}

function dist(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Adds the colour at continuous point (x, y) to acc, clamping to the edge pixels. */
function sampleBilinear(raw: RawImage, x: number, y: number, acc: number[]): void {
  const { width, height, data } = raw;
  const fx = Math.min(Math.max(x - 0.5, 0), width - 1);
  const fy = Math.min(Math.max(y - 0.5, 0), height - 1);
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const ax = fx - x0;
  const ay = fy - y0;
  const i00 = (y0 * width + x0) * 3;
  const i10 = (y0 * width + x1) * 3;
  const i01 = (y1 * width + x0) * 3;
  const i11 = (y1 * width + x1) * 3;
  const w00 = (1 - ax) * (1 - ay);
  const w10 = ax * (1 - ay);
  const w01 = (1 - ax) * ay;
  const w11 = ax * ay;
  for (let c = 0; c < 3; c++) {
    acc[c]! += data[i00 + c]! * w00 + data[i10 + c]! * w10 + data[i01 + c]! * w01 + data[i11 + c]! * w11;
  }
}

/** The image turned half a turn. */
export function rotate180(raw: RawImage): RawImage {
  const n = raw.width * raw.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const j = (n - 1 - i) * 3;
    out[i * 3] = raw.data[j]!;
    out[i * 3 + 1] = raw.data[j + 1]!;
    out[i * 3 + 2] = raw.data[j + 2]!;
  }
  return { data: out, width: raw.width, height: raw.height };
}
