import { cropQuad, toTensor, type InputTensorSpec, type Point, type Quad, type RawImage } from '../image-ops.js';
import type { Tensor } from '../session.js';

/**
 * Lets the event loop answer what waits (HTTP, in serve) between two lines' pixel work: cutting a
 * page's lines in one go held the main thread for up to 0.2 s. Batches stay as they were: the
 * callers cut every line of a window first and hand them to the engine together.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A detected line ready to be cut out: its corners in reading order and its size in input pixels. */
export interface LineGeometry {
  quad: Quad;
  width: number;
  height: number;
}

/**
 * Measures a quad, treating a box much taller than wide as vertical text turned
 * a quarter counter-clockwise, as PaddleOCR does, so the recogniser always sees
 * a horizontal strip.
 */
export function lineGeometry(quad: Quad): LineGeometry {
  const { width, height } = quadSize(quad);
  const [tl, tr, br, bl] = quad;
  if (height / Math.max(width, 1e-6) >= 1.5) return { quad: [tr, br, bl, tl], width: height, height: width };
  return { quad, width, height };
}

/** Length along the quad's top edge (width) and across it (height), the longer of each pair of sides. */
export function quadSize(quad: Quad): { width: number; height: number } {
  const [tl, tr, br, bl] = quad;
  return { width: Math.max(dist(tl, tr), dist(bl, br)), height: Math.max(dist(tl, bl), dist(tr, br)) };
}

/** The part of a line's quad between two fractions of its length, full height: where a word sits in it. */
export function subQuad(quad: Quad, from: number, to: number): Quad {
  const [tl, tr, br, bl] = quad;
  const at = (a: Point, b: Point, f: number): Point => [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
  return [at(tl, tr, from), at(tl, tr, to), at(bl, br, to), at(bl, br, from)];
}

/** The same quad read upside down: what was bottom-right becomes the start of the line. */
export function turnQuad180(q: Quad): Quad {
  return [q[2], q[3], q[0], q[1]];
}

function dist(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
}

/**
 * Cuts one line out at the card's height, as wide as its aspect ratio asks (up to `width`), and
 * normalises it as the card says, as a [3, height, width] tensor padded with zeros on the right.
 */
export function lineTensor(image: RawImage, quad: Quad, aspect: number, spec: InputTensorSpec, width: number): Tensor {
  const height = spec.height ?? 48;
  const w = cropWidth(height, aspect, width);
  const crop = cropQuad(image, quad, w, height);
  const t = toTensor(crop, {
    mean: spec.mean ?? [0, 0, 0],
    std: spec.std ?? [1, 1, 1],
    scale: spec.scale ?? 1 / 255,
    channelOrder: spec.channelOrder ?? 'RGB',
    layout: 'NCHW',
  });
  if (w === width) return { data: t, dims: [3, height, width] };
  const out = new Float32Array(3 * height * width);
  for (let row = 0; row < 3 * height; row++) out.set(t.subarray(row * w, (row + 1) * w), row * width);
  return { data: out, dims: [3, height, width] };
}

/** How many of a line tensor's `width` columns the line itself fills; the rest is padding. */
export function cropWidth(height: number, aspect: number, width: number): number {
  return Math.max(1, Math.min(width, Math.ceil(height * aspect)));
}

/** The quad grown outward by `by` pixels on every side, along its own axes. */
export function padQuad(q: Quad, by: number): Quad {
  const [tl, tr, br, bl] = q;
  const unit = (a: readonly number[], b: readonly number[]): [number, number] => {
    const len = Math.hypot(b[0]! - a[0]!, b[1]! - a[1]!) || 1;
    return [(b[0]! - a[0]!) / len, (b[1]! - a[1]!) / len];
  };
  const u = unit(tl, tr);
  const v = unit(tl, bl);
  const move = (p: readonly number[], su: number, sv: number): [number, number] => [
    p[0]! + by * (su * u[0] + sv * v[0]),
    p[1]! + by * (su * u[1] + sv * v[1]),
  ];
  return [move(tl, -1, -1), move(tr, 1, -1), move(br, 1, 1), move(bl, -1, 1)];
}
