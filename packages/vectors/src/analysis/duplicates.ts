/**
 * The duplicates report: which images of a set are the same picture, in three tiers.
 *
 * - exact: identical perceptual hashes (the same picture, re-encoded or resized);
 * - near: hashes within `nearHamming` bits, not identical (crops, slight rotations, colour shifts);
 * - similar: embedding cosine at least `similarCosine`, the hashes not within `nearHamming`
 *   (or absent): another photograph of the same object, a different scan of the same page.
 *
 * Each pair of images gets the strictest tier it qualifies for and appears once. Groups are the
 * connected components of the pairs, nested: an exact group sits inside at most one near group,
 * which sits inside at most one similar group; a group is reported at a tier only when that tier
 * joins what the stricter tiers left apart (so no group is reported twice).
 *
 * Built for 100,000 images: identical hashes are grouped with a hash map, hashes within
 * `nearHamming` are found by multi-index hashing (hamming.ts) over the distinct hashes, and the
 * similar tier asks the caller's nearest-neighbour function (the vector index's search) for k
 * neighbours per image. Nothing compares all pairs, except exactNeighbours, the brute-force
 * stand-in for small sets.
 */
import { LoupeError } from '@loupe/contracts';
import { toCsv } from '@loupe/datasets';
import { hammingPairs, parseHash, splitDistance } from './hamming.js';
import { cosine, exactNeighbours, type AnalysisPoint, type NeighbourFn } from './neighbours.js';
import { UnionFind } from './union-find.js';

/*
 * CALIBRATION (bench/calibrate-duplicates.ts, mobilenet-v2-features 4.2.1): 83 base images (43
 * heritage fixtures, 40 drawn: shapes, text pages, noise textures, patterns, scenes), each with 10
 * variants (JPEG q15, 50 % and 25 % downsizes, 5 % crop, 1 and 3 degree rotations, hue +30,
 * brightness x1.2, greyscale, a smaller recompressed derivative): 913 images, 416,207 pairs,
 * 4,807 of them the same picture.
 */

/**
 * Near-duplicate threshold on the 64-bit DCT hash: the largest distance with precision >= 0.99
 * on the labelled set that also keeps chance matches rare at 100,000 images. Within 10 bits:
 * precision 1.000 (no false pair), recall 0.816 over all same-picture pairs; per transform (base
 * against variant) recall 1.00 for JPEG q15, 50 % downsize, brightness and greyscale, 0.99 for hue
 * and the derivative, 0.98 for 25 % downsize, 0.96 for 1 degree, 0.65 for 3 degrees, 0.46 for the
 * 5 % crop. 12 bits also passes on the set (precision 0.9998, recall 0.873) but is refused by the
 * chance model: two unrelated hashes (32 bits set, as the median split makes every hash) fall
 * within 12 bits at a rate of 7.7e-7 when their bits are random, 3,800 false pairs among 100,000
 * images (and real hashes are less spread: the set measured 2.4e-6), against 3.9e-8 and about
 * 190 within 10 bits. (Distances are always even: 11 finds what 10 does.)
 */
export const DEFAULT_NEAR_HAMMING = 10;

/**
 * Visual-similarity threshold on the MobileNetV2 feature cosine, for the pairs the hash missed
 * (distance > 10): the best F1 with precision >= 0.95. At 0.985: precision 0.971, recall 0.113 of
 * those pairs (5 % crops 0.22, 3 degree rotations 0.21); with the near tier, precision 0.999 and
 * recall 0.837 over all same-picture pairs. The features put look-alikes close together (noise
 * textures, text pages, coins): at 0.95 precision is 0.33 (0.82 on the heritage images alone), at
 * 0.97 0.58 (0.99). Lower it to explore what looks alike, not to find duplicates.
 */
export const DEFAULT_SIMILAR_COSINE = 0.985;

/** Neighbours searched per image in the similar tier. */
export const DEFAULT_NEIGHBOURS = 10;

/** exactNeighbours compares every pair: above this many images a caller must pass an index's search. */
export const EXACT_NEIGHBOURS_LIMIT = 10_000;

/** Pairs listed at most (groups are always complete). */
export const DEFAULT_MAX_PAIRS = 1_000_000;

export const DUPLICATE_TIERS = ['exact', 'near', 'similar'] as const;
export type DuplicateTier = (typeof DUPLICATE_TIERS)[number];

export interface DuplicatesOptions {
  /** Largest Hamming distance (0..63) of a near pair; DEFAULT_NEAR_HAMMING. 0 turns the near tier off. */
  readonly nearHamming?: number;
  /** Smallest cosine of a similar pair; DEFAULT_SIMILAR_COSINE. */
  readonly similarCosine?: number;
  /**
   * The similar tier's neighbour search (collectionNeighbours(collection) for a store), called
   * once per image; false leaves the tier out. Absent: exactNeighbours over the points that carry
   * vectors, refused above EXACT_NEIGHBOURS_LIMIT of them.
   */
  readonly neighbours?: NeighbourFn | false;
  /** Neighbours asked per image; DEFAULT_NEIGHBOURS. */
  readonly k?: number;
  /** Neighbour searches in flight at once (an index behind a network likes a few); 4. */
  readonly concurrency?: number;
  /** Pairs listed at most, stricter tiers first; DEFAULT_MAX_PAIRS. */
  readonly maxPairs?: number;
  readonly onProgress?: (progress: { readonly stage: 'similar'; readonly done: number; readonly total: number }) => void;
}

export interface DuplicatePair {
  readonly tier: DuplicateTier;
  /** The pair's images, `a` the earlier in input order. */
  readonly a: string;
  readonly b: string;
  /** Hash distance in bits; null unless both images have a hash. */
  readonly hamming: number | null;
  /** Embedding cosine (6 decimals); null unless both vectors were at hand (or the index scored the pair). */
  readonly cosine: number | null;
}

export interface DuplicateGroup {
  /** `${tier}-${n}`, n from 1 by size. */
  readonly id: string;
  readonly tier: DuplicateTier;
  /** The member with the most duplicate pairs at this tier or stricter (the earliest on a tie). */
  readonly representative: string;
  readonly size: number;
  /** Representative first, then input order. */
  readonly members: readonly string[];
  /** The looser group that contains this one, when one is reported. */
  readonly parent: string | null;
}

export interface DuplicateImage {
  readonly canvasId: string;
  readonly imageIndex: number;
  readonly manifestId: string;
  readonly phash?: string;
  readonly thumbnail?: string;
}

type TierCounts = Record<DuplicateTier, number>;

export interface DuplicatesReport {
  readonly thresholds: { readonly nearHamming: number; readonly similarCosine: number; readonly k: number | null };
  readonly counts: {
    readonly images: number;
    /** Images with a perceptual hash (the exact and near tiers). */
    readonly hashed: number;
    /** Images whose neighbours were searched (the similar tier). */
    readonly searched: number;
    /**
     * Pairs of images found per tier. An exact group of s images holds s(s-1)/2 pairs but lists
     * only s-1 (each member with the representative): identical hashes are an equivalence, the
     * other pairs would say the same thing again.
     */
    readonly pairs: TierCounts;
    /** Pairs in `pairs`, per tier. */
    readonly listed: TierCounts;
    readonly groups: TierCounts;
  };
  /**
   * True when pairs were left out of the list for maxPairs (counts and groups stay complete). Near
   * pairs are cut as the search meets them, so a cut list need not hold the closest ones.
   */
  readonly truncated: boolean;
  /** Stricter tiers first; within a tier, closest first. */
  readonly pairs: readonly DuplicatePair[];
  /** Stricter tiers first; within a tier, largest first. */
  readonly groups: readonly DuplicateGroup[];
  /** Every image named in a pair or group. */
  readonly images: Readonly<Record<string, DuplicateImage>>;
}

/** A pair while the report is built: input indices instead of ids. */
interface RawPair {
  tier: DuplicateTier;
  a: number;
  b: number;
  hamming: number | null;
  cosine: number | null;
}

const TIER_RANK: Record<DuplicateTier, number> = { exact: 0, near: 1, similar: 2 };

/** The tiered duplicates report over `points` (see the module comment). */
export async function findDuplicates(points: readonly AnalysisPoint[], opts: DuplicatesOptions = {}): Promise<DuplicatesReport> {
  const nearHamming = opts.nearHamming ?? DEFAULT_NEAR_HAMMING;
  const similarCosine = opts.similarCosine ?? DEFAULT_SIMILAR_COSINE;
  const k = opts.k ?? DEFAULT_NEIGHBOURS;
  const maxPairs = opts.maxPairs ?? DEFAULT_MAX_PAIRS;
  const concurrency = opts.concurrency ?? 4;
  if (!Number.isInteger(nearHamming) || nearHamming < 0 || nearHamming > 63) invalid(`nearHamming must be an integer 0..63, got ${nearHamming}`);
  if (!(similarCosine >= -1 && similarCosine <= 1)) invalid(`similarCosine must be within -1..1, got ${similarCosine}`);
  if (!Number.isInteger(k) || k < 1 || k > 1000) invalid(`k must be an integer 1..1000, got ${k}`);
  if (!Number.isInteger(maxPairs) || maxPairs < 0) invalid(`maxPairs must be a non-negative integer, got ${maxPairs}`);
  if (!Number.isInteger(concurrency) || concurrency < 1) invalid(`concurrency must be a positive integer, got ${concurrency}`);

  const n = points.length;
  const indexOf = new Map<string, number>();
  points.forEach((p, i) => {
    if (indexOf.has(p.id)) invalid(`point id ${p.id} appears twice`, { id: p.id });
    indexOf.set(p.id, i);
  });

  // Hash classes: the images sharing one hash value, members in input order.
  const classOf = new Int32Array(n).fill(-1);
  const classMembers: number[][] = [];
  const classHi: number[] = [];
  const classLo: number[] = [];
  const hiOf = new Uint32Array(n);
  const loOf = new Uint32Array(n);
  const classByHash = new Map<string, number>();
  let hashed = 0;
  points.forEach((p, i) => {
    const hex = p.payload.phash;
    if (hex === undefined) return;
    const split = parseHash(hex);
    if (!split) invalid(`point ${p.id} has phash ${JSON.stringify(hex)}, not 16 hex digits`, { id: p.id });
    hashed++;
    hiOf[i] = split.hi;
    loOf[i] = split.lo;
    const key = hex.toLowerCase();
    let c = classByHash.get(key);
    if (c === undefined) {
      c = classMembers.length;
      classByHash.set(key, c);
      classMembers.push([]);
      classHi.push(split.hi);
      classLo.push(split.lo);
    }
    classOf[i] = c;
    classMembers[c]!.push(i);
  });
  const hasHash = (i: number) => classOf[i]! >= 0;
  const vectorCosine = (i: number, j: number): number | null => {
    const va = points[i]!.vector;
    const vb = points[j]!.vector;
    return va && vb && va.length === vb.length ? round6(cosine(va, vb)) : null;
  };

  const uf = new UnionFind(n);
  const found: TierCounts = { exact: 0, near: 0, similar: 0 };
  const exactPairs: RawPair[] = [];
  const nearPairs: RawPair[] = [];
  const similarPairs = new Map<number, RawPair>();

  // Exact: each class is one group; listed as links to its first member.
  for (const members of classMembers) {
    const first = members[0]!;
    for (let x = 1; x < members.length; x++) {
      uf.union(first, members[x]!);
      exactPairs.push({ tier: 'exact', a: first, b: members[x]!, hamming: 0, cosine: vectorCosine(first, members[x]!) });
    }
    found.exact += (members.length * (members.length - 1)) / 2;
  }
  const exactRoots = uf.roots();

  // Near: distinct hashes within nearHamming, every image of one class against every image of the other.
  const nearDegreeOfClass = new Float64Array(classMembers.length);
  if (nearHamming > 0 && classMembers.length > 1) {
    hammingPairs(Uint32Array.from(classHi), Uint32Array.from(classLo), nearHamming, (x, y, distance) => {
      const mx = classMembers[x]!;
      const my = classMembers[y]!;
      uf.union(mx[0]!, my[0]!);
      nearDegreeOfClass[x]! += my.length;
      nearDegreeOfClass[y]! += mx.length;
      found.near += mx.length * my.length;
      for (const i of mx) {
        for (const j of my) {
          if (nearPairs.length >= maxPairs) return;
          const [a, b] = i < j ? [i, j] : [j, i];
          nearPairs.push({ tier: 'near', a, b, hamming: distance, cosine: vectorCosine(a, b) });
        }
      }
    });
  }
  const nearRoots = uf.roots();

  // Similar: the neighbours of every image, keeping pairs the hashes did not already claim.
  let neighbours: NeighbourFn | undefined;
  let queried: number[] = [];
  if (opts.neighbours) {
    neighbours = opts.neighbours;
    queried = points.map((_, i) => i);
  } else if (opts.neighbours === undefined) {
    queried = points.flatMap((p, i) => (p.vector ? [i] : []));
    if (queried.length > EXACT_NEIGHBOURS_LIMIT) {
      invalid(`${queried.length} images are too many to compare pair by pair (at most ${EXACT_NEIGHBOURS_LIMIT}): pass neighbours, the vector index's search`, {
        images: queried.length,
      });
    }
    if (queried.length > 1) neighbours = exactNeighbours(queried.map((i) => ({ id: points[i]!.id, vector: points[i]!.vector! })));
    else queried = [];
  }
  const similarDegree = new Float64Array(n);
  if (neighbours) {
    const search = neighbours;
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < queried.length) {
        const i = queried[next++]!;
        const hits = await search(points[i]!, k + 1, similarCosine);
        let taken = 0;
        for (const hit of hits) {
          const j = indexOf.get(hit.id);
          if (j === undefined || j === i) continue;
          if (++taken > k) break;
          if (!(hit.score >= similarCosine)) continue;
          const hamming = hasHash(i) && hasHash(j) ? splitDistance(hiOf[i]!, loOf[i]!, hiOf[j]!, loOf[j]!) : null;
          if (hamming !== null && hamming <= nearHamming) continue; // an exact or near pair already
          const [a, b] = i < j ? [i, j] : [j, i];
          const key = a * n + b;
          const seen = similarPairs.get(key);
          const score = round6(hit.score);
          if (seen) {
            if (score > seen.cosine!) seen.cosine = score; // both directions found it: keep one, deterministically
            continue;
          }
          similarPairs.set(key, { tier: 'similar', a, b, hamming, cosine: score });
          uf.union(a, b);
          similarDegree[a]!++;
          similarDegree[b]!++;
        }
        done++;
        if (opts.onProgress && (done % 1000 === 0 || done === queried.length)) opts.onProgress({ stage: 'similar', done, total: queried.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queried.length) }, worker));
    found.similar = similarPairs.size;
  }
  const similarRoots = uf.roots();

  // Pairs: sorted, then cut to maxPairs, stricter tiers first.
  const all = [...exactPairs, ...nearPairs, ...similarPairs.values()].sort(comparePairs);
  const listedPairs = all.slice(0, maxPairs);
  const expectedListed = exactPairs.length + found.near + similarPairs.size;

  // Groups, tier by tier: components that join at least two components of the stricter tier.
  const exactDegree = (i: number) => (hasHash(i) ? classMembers[classOf[i]!]!.length - 1 : 0);
  const nearDegree = (i: number) => exactDegree(i) + (hasHash(i) ? nearDegreeOfClass[classOf[i]!]! : 0);
  const degree: Record<DuplicateTier, (i: number) => number> = {
    exact: exactDegree,
    near: nearDegree,
    similar: (i) => nearDegree(i) + similarDegree[i]!,
  };
  const tiers: { tier: DuplicateTier; roots: Int32Array; stricter: Int32Array | null }[] = [
    { tier: 'exact', roots: exactRoots, stricter: null },
    { tier: 'near', roots: nearRoots, stricter: exactRoots },
    { tier: 'similar', roots: similarRoots, stricter: nearRoots },
  ];
  const groups: DuplicateGroup[] = [];
  const groupIdByRoot: Record<DuplicateTier, Map<number, string>> = { exact: new Map(), near: new Map(), similar: new Map() };
  const groupCounts: TierCounts = { exact: 0, near: 0, similar: 0 };
  const pending: { tier: DuplicateTier; root: number; members: number[]; representative: number }[] = [];
  for (const { tier, roots, stricter } of tiers) {
    const byRoot = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const members = byRoot.get(roots[i]!);
      if (members) members.push(i);
      else byRoot.set(roots[i]!, [i]);
    }
    const inTier: { root: number; members: number[]; representative: number }[] = [];
    for (const [root, members] of byRoot) {
      if (members.length < 2) continue;
      if (stricter && new Set(members.map((i) => stricter[i]!)).size < 2) continue;
      const deg = degree[tier];
      let representative = members[0]!;
      for (const i of members) if (deg(i) > deg(representative)) representative = i;
      inTier.push({ root, members, representative });
    }
    inTier.sort((x, y) => y.members.length - x.members.length || x.representative - y.representative);
    inTier.forEach((g, at) => {
      groupIdByRoot[tier].set(g.root, `${tier}-${at + 1}`);
      pending.push({ tier, ...g });
    });
    groupCounts[tier] = inTier.length;
  }
  const rootsOf: Record<DuplicateTier, Int32Array> = { exact: exactRoots, near: nearRoots, similar: similarRoots };
  for (const g of pending) {
    let parent: string | null = null;
    for (const looser of DUPLICATE_TIERS.slice(TIER_RANK[g.tier] + 1)) {
      parent = groupIdByRoot[looser].get(rootsOf[looser][g.representative]!) ?? null;
      if (parent) break;
    }
    const members = [g.representative, ...g.members.filter((i) => i !== g.representative)];
    groups.push({
      id: groupIdByRoot[g.tier].get(g.root)!,
      tier: g.tier,
      representative: points[g.representative]!.id,
      size: members.length,
      members: members.map((i) => points[i]!.id),
      parent,
    });
  }

  const images: Record<string, DuplicateImage> = {};
  const describe = (i: number) => {
    const p = points[i]!;
    if (Object.hasOwn(images, p.id)) return;
    const { canvasId, imageIndex, manifestId, phash, thumbnail } = p.payload;
    images[p.id] = { canvasId, imageIndex, manifestId, ...(phash !== undefined ? { phash } : {}), ...(thumbnail !== undefined ? { thumbnail } : {}) };
  };
  for (const g of pending) g.members.forEach(describe);

  const listed: TierCounts = { exact: 0, near: 0, similar: 0 };
  for (const p of listedPairs) listed[p.tier]++;
  return {
    thresholds: { nearHamming, similarCosine, k: neighbours ? k : null },
    counts: { images: n, hashed, searched: neighbours ? queried.length : 0, pairs: found, listed, groups: groupCounts },
    truncated: listedPairs.length < expectedListed,
    pairs: listedPairs.map((p) => ({ tier: p.tier, a: points[p.a]!.id, b: points[p.b]!.id, hamming: p.hamming, cosine: p.cosine })),
    groups,
    images,
  };
}

/** One CSV row per listed pair (RFC 4180): tier, ids, canvases, manifests, hamming, cosine. */
export function duplicatesCsv(report: DuplicatesReport): string {
  const header = ['tier', 'id_a', 'id_b', 'canvas_a', 'canvas_b', 'manifest_a', 'manifest_b', 'hamming', 'cosine'];
  return toCsv(
    header,
    report.pairs.map((p) => {
      const a = report.images[p.a];
      const b = report.images[p.b];
      return [p.tier, p.a, p.b, a?.canvasId, b?.canvasId, a?.manifestId, b?.manifestId, p.hamming, p.cosine];
    }),
  );
}

function comparePairs(x: RawPair, y: RawPair): number {
  const byTier = TIER_RANK[x.tier] - TIER_RANK[y.tier];
  if (byTier !== 0) return byTier;
  const byHamming = x.tier === 'similar' ? 0 : x.hamming! - y.hamming!;
  if (byHamming !== 0) return byHamming;
  const byCosine = (y.cosine ?? -2) - (x.cosine ?? -2);
  return byCosine !== 0 ? byCosine : x.a - y.a || x.b - y.b;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);
}
