/**
 * Synthetic image embeddings for the vector benchmarks: unit vectors drawn from a mixture around
 * random centres, shaped like real CNN/CLIP embeddings rather than like uniform noise.
 *
 * Why not plain isotropic Gaussians around centres: in 512 dimensions isotropic noise makes every
 * point of a cluster almost equally far from every other (distances concentrate), so the "nearest
 * neighbours" are arbitrary and every ANN index looks bad for reasons no real collection has. Real
 * embeddings vary along few directions per visual theme, so each cluster here has its own small
 * basis of variation (`rank` directions) plus a little isotropic noise, and clusters differ in
 * spread. With the defaults a point's 10 nearest neighbours sit at cosine ≈ 0.75–0.9, and clusters
 * overlap enough that an approximate index has real work to do (recall is not trivially 1).
 *
 * Everything is deterministic from the seed, so two engines (or two runs) see the same data.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gaussian, seededRandom } from '@loupe/datasets';
import { dotAt } from '../src/embedded/slab.js';
import { TopK } from '../src/embedded/topk.js';

export interface SyntheticOptions {
  readonly dims: number;
  /** Number of cluster centres (visual themes). */
  readonly clusters?: number;
  /** Directions of variation per cluster. */
  readonly rank?: number;
  readonly seed?: number;
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i]! *= inv;
  return v;
}

export class ClusteredVectors {
  readonly dims: number;
  readonly clusters: number;
  readonly rank: number;
  private readonly centres: Float32Array;
  private readonly bases: Float32Array;
  private readonly spread: Float32Array;
  private readonly seed: number;

  constructor(opts: SyntheticOptions) {
    this.dims = opts.dims;
    this.clusters = opts.clusters ?? 1000;
    this.rank = opts.rank ?? 12;
    this.seed = opts.seed ?? 42;
    const d = this.dims;
    const g = gaussian(seededRandom(this.seed));
    this.centres = new Float32Array(this.clusters * d);
    this.bases = new Float32Array(this.clusters * this.rank * d);
    this.spread = new Float32Array(this.clusters);
    const tmp = new Float32Array(d);
    for (let c = 0; c < this.clusters; c++) {
      for (let i = 0; i < d; i++) tmp[i] = g();
      this.centres.set(normalise(tmp), c * d);
      for (let r = 0; r < this.rank; r++) {
        for (let i = 0; i < d; i++) tmp[i] = g();
        this.bases.set(normalise(tmp), (c * this.rank + r) * d);
      }
      // Some themes are tight (a series of scans of one object), some loose (a broad genre).
      this.spread[c] = 0.55 + 0.45 * ((c * 0.618034) % 1);
    }
  }

  /** Writes the i-th vector of stream `stream` (0 = the collection, 1 = the queries) into out. */
  vector(i: number, out: Float32Array, stream = 0): Float32Array {
    const d = this.dims;
    const rand = seededRandom(`${this.seed}/${stream}/${i}`);
    const g = gaussian(rand);
    const c = Math.floor(rand() * this.clusters);
    const a = this.spread[c]!;
    out.set(this.centres.subarray(c * d, (c + 1) * d));
    const perDir = a / Math.sqrt(this.rank);
    for (let r = 0; r < this.rank; r++) {
      const z = g() * perDir;
      const base = (c * this.rank + r) * d;
      for (let k = 0; k < d; k++) out[k]! += z * this.bases[base + k]!;
    }
    const noise = 0.18 / Math.sqrt(d);
    for (let k = 0; k < d; k++) out[k]! += noise * g();
    return normalise(out);
  }

  /** n vectors as one row-major matrix. */
  matrix(n: number, stream = 0, from = 0): Float32Array {
    const m = new Float32Array(n * this.dims);
    for (let i = 0; i < n; i++) this.vector(from + i, m.subarray(i * this.dims, (i + 1) * this.dims), stream);
    return m;
  }
}

/**
 * Exact k nearest rows for each query, by one pass over the matrix (queries × rows dot products;
 * the queries stay in cache). `allowed`, when given, restricts the rows. Returns row numbers.
 */
export function exactKnn(m: Float32Array, n: number, dims: number, queries: readonly Float32Array[], k: number, allowed?: (row: number) => boolean): number[][] {
  const best = queries.map(() => new TopK(k));
  for (let row = 0; row < n; row++) {
    if (allowed && !allowed(row)) continue;
    for (let qi = 0; qi < queries.length; qi++) best[qi]!.push(row, dotAt(m, row * dims, queries[qi]!, dims));
  }
  return best.map((b) => Array.from(b.labels.subarray(0, b.size)));
}

export function recallAt(k: number, truth: readonly (readonly number[])[], got: readonly (readonly number[])[]): number {
  let hit = 0;
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = new Set(truth[i]!.slice(0, k));
    total += t.size;
    for (const x of got[i]!.slice(0, k)) if (t.has(x)) hit++;
  }
  return total === 0 ? 1 : hit / total;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const mb = (bytes: number): number => round(bytes / 1048576, 1);

/** Bytes of a file, or of everything under a folder. */
export function diskBytes(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, name) => s + diskBytes(join(path, name)), 0) : st.size;
}

/** Runs `search` for each query after a warm-up of 20, returns its answers and latency percentiles (ms). */
export async function timeQueries<T>(queries: readonly Float32Array[], search: (q: Float32Array) => T | Promise<T>): Promise<{ results: T[]; p50: number; p95: number }> {
  for (const q of queries.slice(0, 20)) await search(q);
  const results: T[] = [];
  const lat: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    results.push(await search(q));
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  return { results, p50: round(percentile(lat, 0.5)), p95: round(percentile(lat, 0.95)) };
}
