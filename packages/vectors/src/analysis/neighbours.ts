import type { VectorCollection, VectorFilter, VectorPayload } from '../port.js';

/** A point as the analyses read it: the port's VectorPoint fits, and so does one without its vector. */
export interface AnalysisPoint {
  readonly id: string;
  readonly payload: VectorPayload;
  /** L2-normalised embedding; absent when only the payload was read (hash tiers need no vector). */
  readonly vector?: Float32Array;
}

export interface Neighbour {
  readonly id: string;
  /** Cosine similarity. */
  readonly score: number;
}

/**
 * The up-to-k most similar points to `point` (itself excluded or not: callers drop it), best
 * first, none scoring below `minScore`. An approximate-nearest-neighbour index answers this for
 * large collections; exactNeighbours does it by brute force for small ones.
 */
export type NeighbourFn = (point: AnalysisPoint, k: number, minScore: number) => Promise<readonly Neighbour[]>;

/**
 * Neighbours by brute force over the given vectors: every query scores every row (O(n d) per
 * query, O(n^2 d) for all), so it is exact and meant for small sets and tests. Rows are copied
 * into one matrix and L2-normalised, so scores are cosines even for unnormalised input; a query
 * whose id is among the rows uses its stored row, any other its own vector.
 */
export function exactNeighbours(points: readonly { readonly id: string; readonly vector: Float32Array }[]): NeighbourFn {
  const n = points.length;
  const dims = points[0]?.vector.length ?? 0;
  const matrix = new Float32Array(n * dims);
  const rowOf = new Map<string, number>();
  points.forEach((p, i) => {
    if (p.vector.length !== dims) throw new RangeError(`vector ${p.id} has ${p.vector.length} dimensions, expected ${dims}`);
    matrix.set(normalised(p.vector), i * dims);
    rowOf.set(p.id, i);
  });
  return async (point, k, minScore) => {
    const row = rowOf.get(point.id);
    let query: Float32Array;
    if (row !== undefined) query = matrix.subarray(row * dims, (row + 1) * dims);
    else if (point.vector && point.vector.length === dims) query = normalised(point.vector);
    else return [];
    // The best k so far, kept sorted best first (k is small: insertion is cheaper than a heap).
    const best: Neighbour[] = [];
    for (let i = 0; i < n; i++) {
      let dot = 0;
      const offset = i * dims;
      for (let d = 0; d < dims; d++) dot += query[d]! * matrix[offset + d]!;
      if (dot < minScore || (best.length === k && dot <= best[k - 1]!.score)) continue;
      let at = best.length;
      while (at > 0 && best[at - 1]!.score < dot) at--;
      best.splice(at, 0, { id: points[i]!.id, score: dot });
      if (best.length > k) best.pop();
    }
    return best;
  };
}

/**
 * Neighbours from a vector collection's own search (its ANN index): the point's vector when it
 * has one, else the stored one (so a caller may scroll payloads only and keep memory small).
 */
export function collectionNeighbours(collection: Pick<VectorCollection, 'search' | 'get'>, opts: { readonly filter?: VectorFilter } = {}): NeighbourFn {
  return async (point, k, minScore) => {
    const vector = point.vector ?? (await collection.get(point.id))?.vector;
    if (!vector) return [];
    const hits = await collection.search(vector, {
      limit: Math.min(1000, k),
      minScore,
      excludeIds: [point.id],
      ...(opts.filter ? { filter: opts.filter } : {}),
    });
    return hits.map((h) => ({ id: h.id, score: h.score }));
  };
}

/**
 * Every point of a collection (matching the filter), through its stable scroll. With
 * `vectors: false` the vectors are dropped as they arrive: 100,000 payloads take a few tens of
 * megabytes, their 1280-d vectors half a gigabyte.
 */
export async function readPoints(
  collection: Pick<VectorCollection, 'scroll'>,
  opts: { readonly filter?: VectorFilter; readonly vectors?: boolean; readonly batch?: number } = {},
): Promise<AnalysisPoint[]> {
  const out: AnalysisPoint[] = [];
  const keep = opts.vectors ?? true;
  for await (const batch of collection.scroll({ ...(opts.filter ? { filter: opts.filter } : {}), ...(opts.batch ? { batch: opts.batch } : {}) })) {
    for (const p of batch) out.push(keep ? p : { id: p.id, payload: p.payload });
  }
  return out;
}

function normalised(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i]! / norm;
  return out;
}

/** The cosine of two vectors (0 when either is all zeros). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
