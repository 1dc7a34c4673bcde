/**
 * The pairs of the duplicates report, tier by tier: exact and near from the perceptual hashes,
 * similar from the caller's neighbour search. Every pair joins its images in one union-find, so
 * the roots after each tier are that tier's components (duplicate-groups.ts reads them).
 */
import { LoupeError } from '@loupe/contracts';
import { hammingPairs, parseHash, splitDistance } from './hamming.js';
import { cosine, type AnalysisPoint, type NeighbourFn } from './neighbours.js';
import type { UnionFind } from './union-find.js';

export const DUPLICATE_TIERS = ['exact', 'near', 'similar'] as const;
export type DuplicateTier = (typeof DUPLICATE_TIERS)[number];
export type TierCounts = Record<DuplicateTier, number>;
export const TIER_RANK: Record<DuplicateTier, number> = { exact: 0, near: 1, similar: 2 };

/** A pair while the report is built: input indices instead of ids. */
export interface RawPair {
  tier: DuplicateTier;
  a: number;
  b: number;
  hamming: number | null;
  cosine: number | null;
}

/** The images sharing one hash value (a class), members in input order; -1 for an image without a hash. */
export interface HashClasses {
  readonly classOf: Int32Array;
  readonly members: number[][];
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly hashed: number;
}

export function hashClasses(points: readonly AnalysisPoint[]): HashClasses {
  const n = points.length;
  const classOf = new Int32Array(n).fill(-1);
  const members: number[][] = [];
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  const classByHash = new Map<string, number>();
  let hashed = 0;
  points.forEach((p, i) => {
    const hex = p.payload.phash;
    if (hex === undefined) return;
    const split = parseHash(hex);
    if (!split) invalid(`point ${p.id} has phash ${JSON.stringify(hex)}, not 16 hex digits`, { id: p.id });
    hashed++;
    hi[i] = split.hi;
    lo[i] = split.lo;
    const key = hex.toLowerCase();
    let c = classByHash.get(key);
    if (c === undefined) {
      c = members.length;
      classByHash.set(key, c);
      members.push([]);
    }
    classOf[i] = c;
    members[c]!.push(i);
  });
  return { classOf, members, hi, lo, hashed };
}

/** The hash tiers' pairs and how many each found (exact groups list s-1 of their s(s-1)/2 pairs). */
export interface HashPairs {
  readonly exact: RawPair[];
  readonly near: RawPair[];
  readonly found: { exact: number; near: number };
  /** Per class: how many images its members are near to (for choosing representatives). */
  readonly nearDegreeOfClass: Float64Array;
  readonly exactRoots: Int32Array;
  readonly nearRoots: Int32Array;
}

export function hashPairs(points: readonly AnalysisPoint[], classes: HashClasses, uf: UnionFind, nearHamming: number, maxPairs: number): HashPairs {
  const exact: RawPair[] = [];
  const near: RawPair[] = [];
  const found = { exact: 0, near: 0 };
  // Exact: each class is one group; listed as links to its first member.
  for (const members of classes.members) {
    const first = members[0]!;
    for (let x = 1; x < members.length; x++) {
      uf.union(first, members[x]!);
      exact.push({ tier: 'exact', a: first, b: members[x]!, hamming: 0, cosine: vectorCosine(points, first, members[x]!) });
    }
    found.exact += (members.length * (members.length - 1)) / 2;
  }
  const exactRoots = uf.roots();

  // Near: distinct hashes within nearHamming, every image of one class against every image of the other.
  const nearDegreeOfClass = new Float64Array(classes.members.length);
  if (nearHamming > 0 && classes.members.length > 1) {
    const firstOf = classes.members.map((m) => m[0]!);
    const classHi = Uint32Array.from(firstOf, (i) => classes.hi[i]!);
    const classLo = Uint32Array.from(firstOf, (i) => classes.lo[i]!);
    hammingPairs(classHi, classLo, nearHamming, (x, y, distance) => {
      const mx = classes.members[x]!;
      const my = classes.members[y]!;
      uf.union(mx[0]!, my[0]!);
      nearDegreeOfClass[x]! += my.length;
      nearDegreeOfClass[y]! += mx.length;
      found.near += mx.length * my.length;
      for (const i of mx) {
        for (const j of my) {
          if (near.length >= maxPairs) return;
          const [a, b] = i < j ? [i, j] : [j, i];
          near.push({ tier: 'near', a, b, hamming: distance, cosine: vectorCosine(points, a, b) });
        }
      }
    });
  }
  return { exact, near, found, nearDegreeOfClass, exactRoots, nearRoots: uf.roots() };
}

export interface SimilarSearch {
  readonly neighbours: NeighbourFn;
  /** The images whose neighbours are asked for, by input index. */
  readonly queried: readonly number[];
  readonly k: number;
  readonly similarCosine: number;
  readonly nearHamming: number;
  readonly concurrency: number;
  readonly onProgress?: ((progress: { readonly stage: 'similar'; readonly done: number; readonly total: number }) => void) | undefined;
}

/** The similar tier: the neighbours of every queried image, keeping pairs the hashes did not already claim. */
export async function similarPairs(
  points: readonly AnalysisPoint[],
  classes: HashClasses,
  uf: UnionFind,
  search: SimilarSearch,
): Promise<{ pairs: Map<number, RawPair>; degree: Float64Array }> {
  const n = points.length;
  const indexOf = new Map(points.map((p, i) => [p.id, i]));
  const pairs = new Map<number, RawPair>();
  const degree = new Float64Array(n);
  const { queried, k, similarCosine, nearHamming } = search;
  const hashed = (i: number) => classes.classOf[i]! >= 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < queried.length) {
      const i = queried[next++]!;
      const hits = await search.neighbours(points[i]!, k + 1, similarCosine);
      let taken = 0;
      for (const hit of hits) {
        const j = indexOf.get(hit.id);
        if (j === undefined || j === i) continue;
        if (++taken > k) break;
        if (!(hit.score >= similarCosine)) continue;
        const hamming = hashed(i) && hashed(j) ? splitDistance(classes.hi[i]!, classes.lo[i]!, classes.hi[j]!, classes.lo[j]!) : null;
        if (hamming !== null && hamming <= nearHamming) continue; // an exact or near pair already
        const [a, b] = i < j ? [i, j] : [j, i];
        const key = a * n + b;
        const seen = pairs.get(key);
        const score = round6(hit.score);
        if (seen) {
          if (score > seen.cosine!) seen.cosine = score; // both directions found it: keep one, deterministically
          continue;
        }
        pairs.set(key, { tier: 'similar', a, b, hamming, cosine: score });
        uf.union(a, b);
        degree[a]!++;
        degree[b]!++;
      }
      done++;
      if (search.onProgress && (done % 1000 === 0 || done === queried.length)) search.onProgress({ stage: 'similar', done, total: queried.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(search.concurrency, queried.length) }, worker));
  return { pairs, degree };
}

/** Stricter tiers first; within a tier, closest first; then input order. */
export function comparePairs(x: RawPair, y: RawPair): number {
  const byTier = TIER_RANK[x.tier] - TIER_RANK[y.tier];
  if (byTier !== 0) return byTier;
  const byHamming = x.tier === 'similar' ? 0 : x.hamming! - y.hamming!;
  if (byHamming !== 0) return byHamming;
  const byCosine = (y.cosine ?? -2) - (x.cosine ?? -2);
  return byCosine !== 0 ? byCosine : x.a - y.a || x.b - y.b;
}

function vectorCosine(points: readonly AnalysisPoint[], i: number, j: number): number | null {
  const va = points[i]!.vector;
  const vb = points[j]!.vector;
  return va && vb && va.length === vb.length ? round6(cosine(va, vb)) : null;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function invalid(message: string, details?: Record<string, unknown>): never {
  throw new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);
}
