/**
 * Clusters of images by their embeddings: spherical k-means (cosine k-means: points and centroids
 * on the unit sphere, each point assigned to the centroid of highest cosine, each centroid the
 * normalised mean of its points), seeded by k-means++ from a seeded generator, with k chosen by
 * the silhouette (cosine distance) over a range. Same seed, same input order: same clusters.
 *
 * Lloyd's iterations are accelerated with Hamerly's bounds (G. Hamerly, "Making k-means even
 * faster", SDM 2010): per point an upper bound on the distance to its centroid and a lower bound
 * on the distance to any other; a point whose bounds still separate after the centroids move
 * needs no distances computed. On unit vectors the Euclidean distance is sqrt(2 - 2 cos), a
 * monotone function of the cosine, so the nearest centroid is the same under either and the
 * triangle inequality holds for the bounds. The result is Lloyd's, only sooner.
 *
 * Large sets: the silhouette costs O(s^2 d) on s points, so it is computed on a seeded sample
 * (silhouetteSample, 2,000 by default, as scikit-learn's sample_size does); and fitting every k of
 * the range on all points would cost the range's sum of k times one fit, so above fitSample points
 * (20,000) k is chosen on a seeded sample of that size and only the chosen k is fitted on all.
 * The report says which happened.
 */
import { LoupeError } from '@loupe/contracts';
import { seededRandom, toCsv } from '@loupe/datasets';
import type { VectorPayload } from '../port.js';
import { deriveSeed, randomInt, sampleIndices, type Random } from './random.js';

export interface ClusterPoint {
  readonly id: string;
  readonly vector: Float32Array;
  readonly payload?: VectorPayload;
}

export interface KMeansOptions {
  readonly seed?: number;
  /** Lloyd iterations at most per run; 100. */
  readonly maxIterations?: number;
  /** Independent k-means++ seedings; the run with the least inertia wins. 3. */
  readonly restarts?: number;
}

export interface KMeansResult {
  readonly k: number;
  /** Cluster of every vector, in input order. */
  readonly labels: Int32Array;
  /** k unit vectors, row-major (k x dims). */
  readonly centroids: Float32Array;
  /** Cosine of every vector to its centroid. */
  readonly similarity: Float64Array;
  /** Sum over the vectors of 1 - cosine to the centroid: what spherical k-means minimises. */
  readonly inertia: number;
  /** Lloyd iterations of the winning run. */
  readonly iterations: number;
  /** Whether the winning run stopped because no assignment changed (rather than at maxIterations). */
  readonly converged: boolean;
}

export interface ClusterOptions extends KMeansOptions {
  /** A fixed k: no selection. */
  readonly k?: number;
  /** The range k is chosen from by silhouette; 2..20, clamped to n - 1. */
  readonly kMin?: number;
  readonly kMax?: number;
  /** Most central images listed per cluster; 5. */
  readonly central?: number;
  /** Points the silhouette is computed on at most (a seeded sample above); 2,000. */
  readonly silhouetteSample?: number;
  /** Points k is chosen on at most (a seeded sample above; the chosen k is then fitted on all); 20,000. */
  readonly fitSample?: number;
}

export interface ClusterSelection {
  readonly kMin: number;
  readonly kMax: number;
  /** Silhouette (and inertia on the points fitted) of every k tried. */
  readonly scores: readonly { readonly k: number; readonly silhouette: number; readonly inertia: number }[];
  /** Points each k was fitted on while choosing (all of them, or a seeded sample). */
  readonly fittedOn: number;
  /** Points the silhouettes were computed on. */
  readonly silhouetteOn: number;
  readonly sampled: boolean;
}

export interface ClusterMember {
  readonly id: string;
  /** 1 - cosine to the cluster's centroid. */
  readonly distance: number;
}

export interface ImageCluster {
  /** 0 is the largest cluster. */
  readonly cluster: number;
  readonly size: number;
  /** Mean cosine of the members to their centroid (how tight the cluster is). */
  readonly cohesion: number;
  /** The members nearest the centroid, nearest first. */
  readonly central: readonly ClusterMember[];
}

export interface ClusterAssignment {
  readonly id: string;
  readonly cluster: number;
  readonly canvasId: string | null;
  readonly manifestId: string | null;
  readonly distance: number;
  /** 1 for the member nearest the centroid. */
  readonly rank: number;
  readonly central: boolean;
}

export interface ClusterReport {
  readonly method: 'spherical-k-means';
  readonly seed: number;
  readonly k: number;
  /** Silhouette of the final clustering (cosine distance), on `selection.silhouetteOn` points; null for k = 1. */
  readonly silhouette: number | null;
  readonly selection: ClusterSelection | null;
  readonly iterations: number;
  readonly converged: boolean;
  readonly clusters: readonly ImageCluster[];
  /** One per image, in input order. */
  readonly assignments: readonly ClusterAssignment[];
}

/** The rows k-means works on: the caller's vectors (not copied) and their inverse norms. */
interface Rows {
  readonly vectors: readonly Float32Array[];
  readonly invNorm: Float64Array;
  readonly dims: number;
}

function toRows(vectors: readonly Float32Array[]): Rows {
  const dims = vectors[0]?.length ?? 0;
  const invNorm = new Float64Array(vectors.length);
  vectors.forEach((v, i) => {
    if (v.length !== dims) invalid(`vector ${i} has ${v.length} dimensions, expected ${dims}`);
    let sum = 0;
    for (let d = 0; d < dims; d++) sum += v[d]! * v[d]!;
    if (!(sum > 0) || !Number.isFinite(sum)) invalid(`vector ${i} is zero or not finite: it has no direction to cluster by`);
    invNorm[i] = 1 / Math.sqrt(sum);
  });
  return { vectors, invNorm, dims };
}

/** Cosine of row i with centroid c (a unit vector at c * dims). */
function rowCosine(rows: Rows, i: number, centroids: Float64Array, c: number): number {
  return dotAt(rows.vectors[i]!, centroids, c * rows.dims, rows.dims) * rows.invNorm[i]!;
}

/** v . m[offset .. offset + dims), four running sums (V8 pipelines them about a third faster than one). */
function dotAt(v: Float32Array, m: Float64Array, offset: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dims; d += 4) {
    s0 += v[d]! * m[offset + d]!;
    s1 += v[d + 1]! * m[offset + d + 1]!;
    s2 += v[d + 2]! * m[offset + d + 2]!;
    s3 += v[d + 3]! * m[offset + d + 3]!;
  }
  for (; d < dims; d++) s0 += v[d]! * m[offset + d]!;
  return s0 + s1 + s2 + s3;
}

/** Euclidean distance between unit vectors of cosine `cos`. */
function chord(cos: number): number {
  return Math.sqrt(Math.max(0, 2 - 2 * cos));
}

/**
 * k-means++: the first centre uniformly, each next one with probability proportional to its
 * squared distance to the nearest centre so far. Every point meets every centre on the way, so
 * the first assignment (nearest and second-nearest centre) comes out of it for free.
 */
function seedCentroids(rows: Rows, k: number, random: Random) {
  const n = rows.vectors.length;
  const dims = rows.dims;
  const centroids = new Float64Array(k * dims);
  const labels = new Int32Array(n);
  const upper = new Float64Array(n); // distance to the nearest centre
  const lower = new Float64Array(n).fill(Infinity); // to the second nearest
  const place = (c: number, i: number) => {
    const v = rows.vectors[i]!;
    const s = rows.invNorm[i]!;
    for (let d = 0; d < dims; d++) centroids[c * dims + d] = v[d]! * s;
  };
  const meet = (c: number) => {
    for (let i = 0; i < n; i++) {
      const dist = chord(rowCosine(rows, i, centroids, c));
      if (c === 0 || dist < upper[i]!) {
        lower[i] = c === 0 ? Infinity : upper[i]!;
        upper[i] = dist;
        labels[i] = c;
      } else if (dist < lower[i]!) lower[i] = dist;
    }
  };
  place(0, randomInt(random, n));
  meet(0);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += upper[i]! * upper[i]!;
    let pick = randomInt(random, n);
    if (total > 0) {
      let target = random() * total;
      for (let i = 0; i < n; i++) {
        target -= upper[i]! * upper[i]!;
        if (target < 0) {
          pick = i;
          break;
        }
      }
    }
    place(c, pick);
    meet(c);
  }
  return { centroids, labels, upper, lower };
}

/** One k-means run from a k-means++ seeding (Hamerly-accelerated Lloyd). */
function runKMeans(rows: Rows, k: number, random: Random, maxIterations: number) {
  const n = rows.vectors.length;
  const dims = rows.dims;
  const seeded = seedCentroids(rows, k, random);
  let centroids = seeded.centroids;
  const { labels, upper, lower } = seeded;

  const assignFully = (i: number): boolean => {
    let best = -1;
    let bestDist = Infinity;
    let second = Infinity;
    for (let c = 0; c < k; c++) {
      const dist = chord(rowCosine(rows, i, centroids, c));
      if (dist < bestDist) {
        second = bestDist;
        bestDist = dist;
        best = c;
      } else if (dist < second) second = dist;
    }
    const changed = labels[i] !== best;
    labels[i] = best;
    upper[i] = bestDist;
    lower[i] = second;
    return changed;
  };

  let iterations = 0;
  let converged = false;
  const sums = new Float64Array(k * dims);
  const counts = new Int32Array(k);
  const shift = new Float64Array(k);
  const half = new Float64Array(k);
  while (iterations < maxIterations) {
    iterations++;
    // Move every centroid to the normalised mean of its points.
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      counts[c]!++;
      const v = rows.vectors[i]!;
      const s = rows.invNorm[i]!;
      const offset = c * dims;
      for (let d = 0; d < dims; d++) sums[offset + d]! += v[d]! * s;
    }
    const next = new Float64Array(k * dims);
    let reset = false;
    for (let c = 0; c < k; c++) {
      const offset = c * dims;
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += sums[offset + d]! * sums[offset + d]!;
      norm = Math.sqrt(norm);
      if (counts[c] === 0 || norm === 0) {
        // An empty cluster takes the point farthest from its own centroid (among clusters of two or more).
        let far = -1;
        for (let i = 0; i < n; i++) if (counts[labels[i]!]! > 1 && (far < 0 || upper[i]! > upper[far]!)) far = i;
        if (far < 0) {
          next.set(centroids.subarray(offset, offset + dims), offset);
          continue;
        }
        const v = rows.vectors[far]!;
        const s = rows.invNorm[far]!;
        for (let d = 0; d < dims; d++) next[offset + d] = v[d]! * s;
        counts[labels[far]!]!--;
        counts[c] = 1;
        labels[far] = c;
        reset = true;
        continue;
      }
      for (let d = 0; d < dims; d++) next[offset + d] = sums[offset + d]! / norm;
    }
    let maxShift = 0;
    let maxShiftAt = -1;
    let secondShift = 0;
    for (let c = 0; c < k; c++) {
      let sq = 0;
      for (let d = 0; d < dims; d++) sq += (next[c * dims + d]! - centroids[c * dims + d]!) ** 2;
      shift[c] = Math.sqrt(sq);
      if (shift[c]! > maxShift) {
        secondShift = maxShift;
        maxShift = shift[c]!;
        maxShiftAt = c;
      } else if (shift[c]! > secondShift) secondShift = shift[c]!;
    }
    centroids = next;
    // Half the distance from each centroid to its nearest other: a point nearer than that to its own stays.
    for (let c = 0; c < k; c++) {
      let nearest = Infinity;
      for (let o = 0; o < k; o++) {
        if (o === c) continue;
        let dot = 0;
        for (let d = 0; d < dims; d++) dot += centroids[c * dims + d]! * centroids[o * dims + d]!;
        nearest = Math.min(nearest, chord(dot));
      }
      half[c] = nearest / 2;
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = labels[i]!;
      if (reset) {
        if (assignFully(i)) changed++;
        continue;
      }
      upper[i]! += shift[a]!;
      lower[i]! -= a === maxShiftAt ? secondShift : maxShift;
      const bound = Math.max(half[a]!, lower[i]!);
      if (upper[i]! <= bound) continue;
      upper[i] = chord(rowCosine(rows, i, centroids, a));
      if (upper[i]! <= bound) continue;
      if (assignFully(i)) changed++;
    }
    if (changed === 0 && !reset) {
      converged = true;
      break;
    }
  }
  // Exact cosines for the final assignment (the bounds are only bounds).
  const similarity = new Float64Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    similarity[i] = rowCosine(rows, i, centroids, labels[i]!);
    inertia += 1 - similarity[i]!;
  }
  return { labels, centroids, similarity, inertia, iterations, converged };
}

function kMeansRows(rows: Rows, k: number, opts: KMeansOptions): KMeansResult {
  const n = rows.vectors.length;
  const seed = opts.seed ?? 1;
  const maxIterations = opts.maxIterations ?? 100;
  const restarts = opts.restarts ?? 3;
  if (!Number.isInteger(k) || k < 1 || k > n) invalid(`k must be an integer 1..${n}, got ${k}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1) invalid(`maxIterations must be a positive integer, got ${maxIterations}`);
  if (!Number.isInteger(restarts) || restarts < 1) invalid(`restarts must be a positive integer, got ${restarts}`);
  let best: ReturnType<typeof runKMeans> | undefined;
  for (let r = 0; r < restarts; r++) {
    const run = runKMeans(rows, k, seededRandom(deriveSeed(seed, k, r)), maxIterations);
    if (!best || run.inertia < best.inertia - 1e-9) best = run;
  }
  return { k, ...best!, centroids: Float32Array.from(best!.centroids) };
}

/**
 * Spherical k-means of the vectors into k clusters (see the module comment). Each restart draws
 * from its own generator, derived from (seed, k, restart), so one k's result does not depend on
 * which other k were tried.
 */
export function kMeans(vectors: readonly Float32Array[], k: number, opts: KMeansOptions = {}): KMeansResult {
  if (vectors.length === 0) invalid('k-means needs at least one vector');
  return kMeansRows(toRows(vectors), k, opts);
}

/** Cosine distances (1 - cos) between every two of the chosen rows, row-major. */
function distanceMatrix(rows: Rows, pick: ArrayLike<number>): Float64Array {
  const s = pick.length;
  const dims = rows.dims;
  const unit = new Float64Array(s * dims);
  for (let a = 0; a < s; a++) {
    const v = rows.vectors[pick[a]!]!;
    const scale = rows.invNorm[pick[a]!]!;
    for (let d = 0; d < dims; d++) unit[a * dims + d] = v[d]! * scale;
  }
  const out = new Float64Array(s * s);
  for (let a = 0; a < s; a++) {
    const v = rows.vectors[pick[a]!]!;
    const scale = rows.invNorm[pick[a]!]!;
    for (let b = a + 1; b < s; b++) {
      const dist = Math.max(0, 1 - dotAt(v, unit, b * dims, dims) * scale);
      out[a * s + b] = dist;
      out[b * s + a] = dist;
    }
  }
  return out;
}

/**
 * The mean silhouette of points given their pairwise distances and labels: for each point, a is
 * its mean distance to the other members of its cluster, b the least mean distance to the members
 * of another cluster, and s = (b - a) / max(a, b); a point alone in its cluster scores 0. Null
 * when fewer than two clusters appear.
 */
function silhouetteOf(dist: Float64Array, labels: ArrayLike<number>): number | null {
  const s = labels.length;
  const clusters = [...new Set(Array.from(labels))].sort((x, y) => x - y);
  if (clusters.length < 2) return null;
  const slot = new Map(clusters.map((c, i) => [c, i]));
  const size = new Float64Array(clusters.length);
  for (let i = 0; i < s; i++) size[slot.get(labels[i]!)!]!++;
  const sums = new Float64Array(clusters.length);
  let total = 0;
  for (let i = 0; i < s; i++) {
    sums.fill(0);
    for (let j = 0; j < s; j++) if (j !== i) sums[slot.get(labels[j]!)!]! += dist[i * s + j]!;
    const own = slot.get(labels[i]!)!;
    if (size[own]! < 2) continue; // a singleton scores 0
    const a = sums[own]! / (size[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < clusters.length; c++) if (c !== own && size[c]! > 0) b = Math.min(b, sums[c]! / size[c]!);
    const denom = Math.max(a, b);
    total += denom > 0 ? (b - a) / denom : 0;
  }
  return total / s;
}

/**
 * The mean silhouette of a labelling under cosine distance (1 - cos), on all vectors or, with
 * `sample`, on that many chosen by the seeded generator. Null when fewer than two clusters appear.
 */
export function silhouetteScore(vectors: readonly Float32Array[], labels: ArrayLike<number>, opts: { readonly sample?: number; readonly seed?: number } = {}): number | null {
  if (labels.length !== vectors.length) invalid(`${labels.length} labels for ${vectors.length} vectors`);
  const rows = toRows(vectors);
  const pick = opts.sample !== undefined && opts.sample < vectors.length ? sampleIndices(seededRandom(opts.seed ?? 1), vectors.length, opts.sample) : Uint32Array.from(vectors.keys());
  return silhouetteOf(distanceMatrix(rows, pick), Array.from(pick, (i) => labels[i]!));
}

/**
 * Adjusted Rand index of two labellings of the same items: 1 for the same partition (whatever the
 * label names), about 0 for unrelated ones (Hubert and Arabie, 1985).
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) invalid(`labellings differ in length (${n} and ${b.length})`);
  const pairs = (x: number) => (x * (x - 1)) / 2;
  const cells = new Map<string, number>();
  const rowsCount = new Map<number, number>();
  const colsCount = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]}\u0000${b[i]}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
    rowsCount.set(a[i]!, (rowsCount.get(a[i]!) ?? 0) + 1);
    colsCount.set(b[i]!, (colsCount.get(b[i]!) ?? 0) + 1);
  }
  let index = 0;
  for (const c of cells.values()) index += pairs(c);
  let sumA = 0;
  for (const c of rowsCount.values()) sumA += pairs(c);
  let sumB = 0;
  for (const c of colsCount.values()) sumB += pairs(c);
  const expected = (sumA * sumB) / pairs(n);
  const max = (sumA + sumB) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}

/**
 * Clusters images by embedding: k chosen by silhouette over kMin..kMax (or fixed), spherical
 * k-means with k-means++ seeding, clusters numbered largest first, and every image ranked by its
 * distance to its centroid. CPU-bound and synchronous: for 100,000 images run it in a worker.
 */
export function clusterImages(points: readonly ClusterPoint[], opts: ClusterOptions = {}): ClusterReport {
  const n = points.length;
  const seed = opts.seed ?? 1;
  const centralCount = opts.central ?? 5;
  const silhouetteSample = opts.silhouetteSample ?? 2000;
  const fitSample = opts.fitSample ?? 20_000;
  if (!Number.isInteger(centralCount) || centralCount < 0) invalid(`central must be a non-negative integer, got ${centralCount}`);
  if (!Number.isInteger(silhouetteSample) || silhouetteSample < 2) invalid(`silhouetteSample must be an integer of at least 2, got ${silhouetteSample}`);
  if (!Number.isInteger(fitSample) || fitSample < 2) invalid(`fitSample must be an integer of at least 2, got ${fitSample}`);
  const ids = new Set<string>();
  for (const p of points) {
    if (ids.has(p.id)) invalid(`point id ${p.id} appears twice`, { id: p.id });
    ids.add(p.id);
  }
  const base = { method: 'spherical-k-means' as const, seed };
  if (n === 0) return { ...base, k: 0, silhouette: null, selection: null, iterations: 0, converged: true, clusters: [], assignments: [] };
  const rows = toRows(points.map((p) => p.vector));
  const kmOpts: KMeansOptions = { seed, ...(opts.maxIterations ? { maxIterations: opts.maxIterations } : {}), ...(opts.restarts ? { restarts: opts.restarts } : {}) };

  let chosen: KMeansResult;
  let selection: ClusterSelection | null = null;
  let silhouetteIdx: Uint32Array;
  let silhouetteDist: Float64Array | undefined;
  if (opts.k !== undefined) {
    if (!Number.isInteger(opts.k) || opts.k < 1 || opts.k > n) invalid(`k must be an integer 1..${n}, got ${opts.k}`);
    chosen = kMeansRows(rows, opts.k, kmOpts);
    silhouetteIdx = sampleIndices(seededRandom(deriveSeed(seed, -1)), n, Math.min(n, silhouetteSample));
  } else {
    const kMin = Math.max(2, opts.kMin ?? 2);
    const kMax = Math.min(n - 1, opts.kMax ?? 20);
    if (!Number.isInteger(kMin) || !Number.isInteger(kMax)) invalid(`kMin and kMax must be integers, got ${opts.kMin} and ${opts.kMax}`);
    if (kMax < kMin) {
      // Too few images to compare two clusterings: one cluster.
      chosen = kMeansRows(rows, 1, kmOpts);
      silhouetteIdx = new Uint32Array(0);
    } else {
      // The points k is chosen on (all, or a seeded sample), and the silhouette's points among them.
      const fitted = n > fitSample ? sampleIndices(seededRandom(deriveSeed(seed, -2)), n, fitSample) : Uint32Array.from(points.keys());
      const fitRows: Rows = n > fitSample ? { vectors: Array.from(fitted, (i) => rows.vectors[i]!), invNorm: Float64Array.from(fitted, (i) => rows.invNorm[i]!), dims: rows.dims } : rows;
      const within = sampleIndices(seededRandom(deriveSeed(seed, -1)), fitted.length, Math.min(fitted.length, silhouetteSample));
      silhouetteIdx = Uint32Array.from(within, (w) => fitted[w]!);
      silhouetteDist = distanceMatrix(rows, silhouetteIdx);
      const scores: { k: number; silhouette: number; inertia: number }[] = [];
      let best: { k: number; silhouette: number; result: KMeansResult } | undefined;
      for (let k = kMin; k <= kMax; k++) {
        const result = kMeansRows(fitRows, k, kmOpts);
        const silhouette = silhouetteOf(silhouetteDist, Array.from(within, (w) => result.labels[w]!)) ?? 0;
        scores.push({ k, silhouette: round6(silhouette), inertia: round6(result.inertia) });
        if (!best || silhouette > best.silhouette + 1e-12) best = { k, silhouette, result };
      }
      chosen = n > fitSample ? kMeansRows(rows, best!.k, kmOpts) : best!.result;
      selection = { kMin, kMax, scores, fittedOn: fitted.length, silhouetteOn: silhouetteIdx.length, sampled: n > fitSample || silhouetteIdx.length < n };
    }
  }
  const silhouette =
    chosen.k < 2 || silhouetteIdx.length < 2
      ? null
      : silhouetteOf(silhouetteDist ?? distanceMatrix(rows, silhouetteIdx), Array.from(silhouetteIdx, (i) => chosen.labels[i]!));

  // Number clusters largest first (ties: the one whose first member comes first).
  const k = chosen.k;
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let i = 0; i < n; i++) members[chosen.labels[i]!]!.push(i);
  const order = members
    .map((m, c) => ({ c, m }))
    .filter((x) => x.m.length > 0)
    .sort((x, y) => y.m.length - x.m.length || x.m[0]! - y.m[0]!);
  const clusters: ImageCluster[] = [];
  const assignments: ClusterAssignment[] = new Array(n);
  order.forEach(({ m }, cluster) => {
    const ranked = [...m].sort((x, y) => chosen.similarity[y]! - chosen.similarity[x]! || x - y);
    let cohesion = 0;
    ranked.forEach((i, at) => {
      cohesion += chosen.similarity[i]!;
      const p = points[i]!;
      assignments[i] = {
        id: p.id,
        cluster,
        canvasId: p.payload?.canvasId ?? null,
        manifestId: p.payload?.manifestId ?? null,
        distance: round6(1 - chosen.similarity[i]!),
        rank: at + 1,
        central: at < centralCount,
      };
    });
    clusters.push({
      cluster,
      size: m.length,
      cohesion: round6(cohesion / m.length),
      central: ranked.slice(0, centralCount).map((i) => ({ id: points[i]!.id, distance: round6(1 - chosen.similarity[i]!) })),
    });
  });
  return {
    ...base,
    k: clusters.length,
    silhouette: silhouette === null ? null : round6(silhouette),
    selection,
    iterations: chosen.iterations,
    converged: chosen.converged,
    clusters,
    assignments,
  };
}

/** One CSV row per image (RFC 4180): cluster, id, canvas, manifest, distance to centroid, rank, central. */
export function clustersCsv(report: ClusterReport): string {
  return toCsv(
    ['cluster', 'id', 'canvas', 'manifest', 'distance', 'rank', 'central'],
    report.assignments.map((a) => [a.cluster, a.id, a.canvasId, a.manifestId, a.distance, a.rank, a.central]),
  );
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);
}
