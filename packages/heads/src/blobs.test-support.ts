import { gaussian, seededRandom } from '@loupe/datasets';

export interface Blobs {
  /** n x d row-major. */
  x: Float32Array;
  /** Class of each example. */
  y: Int32Array;
  /** k x d, unit vectors. */
  centres: Float32Array;
}

export interface BlobOptions {
  d: number;
  /** Examples per class. */
  sizes: readonly number[];
  /** Standard deviation of the noise added to each coordinate. */
  noise: number;
  seed: string | number;
  /** Seeds the examples, apart from the centres (default: the seed): same centres, fresh examples. */
  sampleSeed?: string | number;
  /** Scale each example to unit length, as embedding models do (default true). */
  normalise?: boolean;
}


/**
 * Gaussian clusters around random unit centres: example = centre + noise * N(0, I), then (by
 * default) normalised. Examples are interleaved (class 0, 1, ..., 0, 1, ...) until a class runs out.
 */
export function blobs(opts: BlobOptions): Blobs {
  const { d, sizes, noise } = opts;
  const k = sizes.length;
  let normal = gaussian(seededRandom(opts.seed));
  const centres = new Float32Array(k * d);
  for (let c = 0; c < k; c++) {
    let sq = 0;
    for (let j = 0; j < d; j++) {
      const v = normal();
      centres[c * d + j] = v;
      sq += v * v;
    }
    const inv = 1 / Math.sqrt(sq);
    for (let j = 0; j < d; j++) centres[c * d + j]! *= inv;
  }
  if (opts.sampleSeed !== undefined) normal = gaussian(seededRandom(`${opts.sampleSeed}`));
  const n = sizes.reduce((a, b) => a + b, 0);
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const left = [...sizes];
  let i = 0;
  while (i < n) {
    for (let c = 0; c < k; c++) {
      if (left[c]! === 0) continue;
      left[c]!--;
      y[i] = c;
      let sq = 0;
      for (let j = 0; j < d; j++) {
        const v = centres[c * d + j]! + noise * normal();
        x[i * d + j] = v;
        sq += v * v;
      }
      if (opts.normalise !== false) {
        const inv = 1 / Math.sqrt(sq);
        for (let j = 0; j < d; j++) x[i * d + j]! *= inv;
      }
      i++;
    }
  }
  return { x, y, centres };
}

/** Share of examples whose nearest centre (largest dot product) is their own: the Bayes rule for equal isotropic clusters. */
export function nearestCentreAccuracy(b: Blobs, d: number): number {
  const k = b.centres.length / d;
  const n = b.y.length;
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += b.x[i * d + j]! * b.centres[c * d + j]!;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (best === b.y[i]) right++;
  }
  return right / n;
}
