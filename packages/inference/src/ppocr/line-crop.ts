import { cropQuad, toTensor, type Quad, type RawImage } from '../image-ops.js';

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
  const [tl, tr, br, bl] = quad;
  const width = Math.max(dist(tl, tr), dist(bl, br));
  const height = Math.max(dist(tl, bl), dist(tr, br));
  if (height / Math.max(width, 1e-6) >= 1.5) return { quad: [tr, br, bl, tl], width: height, height: width };
  return { quad, width, height };
}

/** The same quad read upside down: what was bottom-right becomes the start of the line. */
export function turnQuad180(q: Quad): Quad {
  return [q[2], q[3], q[0], q[1]];
}

function dist(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
}

// Both the classifier and the recogniser were trained on (x / 255 - 0.5) / 0.5 of OpenCV's BGR pixels.
const HALF = [0.5, 0.5, 0.5] as const;

/**
 * Cuts lines out at a fixed height, each as wide as its aspect ratio asks (up to
 * maxWidth), and packs them into one NCHW batch padded with zeros on the right.
 */
export function lineBatch(
  image: RawImage,
  quads: readonly Quad[],
  aspect: readonly number[],
  height: number,
  batchWidth: number,
): Float32Array {
  const plane = height * batchWidth;
  const out = new Float32Array(quads.length * 3 * plane);
  quads.forEach((quad, n) => {
    const w = Math.max(1, Math.min(batchWidth, Math.ceil(height * aspect[n]!)));
    const crop = cropQuad(image, quad, w, height);
    const t = toTensor(crop, { mean: HALF, std: HALF, channelOrder: 'BGR', layout: 'NCHW' });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < height; y++) {
        const src = c * height * w + y * w;
        out.set(t.subarray(src, src + w), n * 3 * plane + c * plane + y * batchWidth);
      }
    }
  });
  return out;
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
