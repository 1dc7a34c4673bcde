import type { Point, Quad } from '../image-ops.js';

/**
 * Differentiable Binarization post-processing: turns the detector's text
 * probability map into text-line rectangles. The network predicts a shrunk
 * "kernel" of each line, so every region found here is grown back ("unclipped")
 * by a distance proportional to its area over its perimeter, as in training.
 */
export interface DbOptions {
  /** Probability above which a pixel is text. */
  threshold?: number;
  /** Mean probability a region needs to count as a line. */
  boxThreshold?: number;
  unclipRatio?: number;
  /** Regions whose shorter side (in map pixels) is below this are noise. */
  minSize?: number;
  maxCandidates?: number;
}

/** A rotated rectangle: centre, unit direction along the text (mostly +x), full extents along it and across it. */
export interface RotatedRect {
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  width: number;
  height: number;
}

export interface DbBox {
  rect: RotatedRect;
  /** Mean text probability inside the region before it was grown. */
  score: number;
}

export const DB_DEFAULTS: Required<DbOptions> = {
  threshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
  minSize: 3,
  maxCandidates: 1000,
};

/** Boxes in probability-map coordinates (continuous, pixel centres at i + 0.5). */
export function dbBoxes(prob: Float32Array, width: number, height: number, options: DbOptions = {}): DbBox[] {
  const opts = { ...DB_DEFAULTS, ...options };
  const out: DbBox[] = [];
  for (const hull of componentHulls(prob, width, height, opts.threshold, opts.maxCandidates)) {
    const rect = minAreaRect(hull);
    if (!rect || Math.min(rect.width, rect.height) < opts.minSize) continue;
    const score = meanInside(prob, width, height, rect);
    if (score < opts.boxThreshold) continue;
    const grown = unclip(rect, opts.unclipRatio);
    if (Math.min(grown.width, grown.height) < opts.minSize + 2) continue;
    out.push({ rect: grown, score });
  }
  return out;
}

/**
 * Convex hull of each 8-connected region above threshold. The hull of a region
 * equals the hull of each row's leftmost and rightmost pixel centres, which is
 * all we keep while flooding.
 */
export function componentHulls(
  prob: Float32Array,
  width: number,
  height: number,
  threshold: number,
  maxCandidates = Infinity,
): Point[][] {
  const n = width * height;
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (!(prob[i]! > threshold)) seen[i] = 1;
  const stack = new Int32Array(n);
  const rowMin = new Int32Array(height).fill(width);
  const rowMax = new Int32Array(height).fill(-1);
  const hulls: Point[][] = [];

  for (let start = 0; start < n && hulls.length < maxCandidates; start++) {
    if (seen[start]) continue;
    let top = 0;
    let yMin = height;
    let yMax = -1;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top]!;
      const y = (p / width) | 0;
      const x = p - y * width;
      if (x < rowMin[y]!) rowMin[y] = x;
      if (x > rowMax[y]!) rowMax[y] = x;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    const pts: Point[] = [];
    for (let y = yMin; y <= yMax; y++) {
      if (rowMax[y]! >= 0) {
        pts.push([rowMin[y]! + 0.5, y + 0.5]);
        if (rowMax[y] !== rowMin[y]) pts.push([rowMax[y]! + 0.5, y + 0.5]);
      }
      rowMin[y] = width;
      rowMax[y] = -1;
    }
    hulls.push(convexHull(pts));
  }
  return hulls;
}

/** Andrew's monotone chain; counter-clockwise in y-down coordinates, no collinear points. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower.at(-2)!, lower.at(-1)!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper.at(-2)!, upper.at(-1)!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * Smallest-area enclosing rectangle of a convex hull (one side lies on a hull
 * edge), oriented so that `u` runs along the longer, text-like direction when
 * the rectangle is near horizontal, and always points right.
 */
export function minAreaRect(hull: Point[]): RotatedRect | undefined {
  if (hull.length < 2) return undefined;
  let best: RotatedRect | undefined;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len;
    const uy = (b[1] - a[1]) / len;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const pu = p[0] * ux + p[1] * uy;
      const pv = -p[0] * uy + p[1] * ux;
      if (pu < minU) minU = pu;
      if (pu > maxU) maxU = pu;
      if (pv < minV) minV = pv;
      if (pv > maxV) maxV = pv;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, ux, uy, width: maxU - minU, height: maxV - minV };
    }
  }
  return best && orient(best);
}

/** Picks the axis closest to +x as `u`, so width is measured along the reading direction of a horizontal line. */
function orient(r: RotatedRect): RotatedRect {
  let { ux, uy, width, height } = r;
  if (Math.abs(ux) < Math.abs(uy)) {
    // Swap axes: v = (-uy, ux) becomes the new u.
    [ux, uy] = [-uy, ux];
    [width, height] = [height, width];
  }
  if (ux < 0) {
    ux = -ux;
    uy = -uy;
  }
  return { cx: r.cx, cy: r.cy, ux, uy, width, height };
}

/** Corners top-left, top-right, bottom-right, bottom-left (v = (-uy, ux) points down). */
export function rectCorners(r: RotatedRect): Quad {
  const hx = (r.ux * r.width) / 2;
  const hy = (r.uy * r.width) / 2;
  const vx = (-r.uy * r.height) / 2;
  const vy = (r.ux * r.height) / 2;
  return [
    [r.cx - hx - vx, r.cy - hy - vy],
    [r.cx + hx - vx, r.cy + hy - vy],
    [r.cx + hx + vx, r.cy + hy + vy],
    [r.cx - hx + vx, r.cy - hy + vy],
  ];
}

/** Mean probability over pixels whose centre falls in the rectangle (its border included). */
export function meanInside(prob: Float32Array, width: number, height: number, r: RotatedRect): number {
  const corners = rectCorners(r);
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  const halfW = r.width / 2 + 0.5;
  const halfH = r.height / 2 + 0.5;
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - r.cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - r.cx;
      if (Math.abs(dx * r.ux + dy * r.uy) <= halfW && Math.abs(-dx * r.uy + dy * r.ux) <= halfH) {
        sum += prob[y * width + x]!;
        count++;
      }
    }
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Grows a rectangle by distance area * ratio / perimeter on every side. Offsetting
 * a rectangle with round joins and taking the enclosing rectangle again, as the
 * reference implementation does, gives exactly this.
 */
export function unclip(r: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (r.width + r.height);
  const d = perimeter === 0 ? 0 : (r.width * r.height * ratio) / perimeter;
  return { ...r, width: r.width + 2 * d, height: r.height + 2 * d };
}
