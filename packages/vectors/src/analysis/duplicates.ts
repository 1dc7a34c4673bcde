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
import { toCsv } from '@loupe/datasets';
import { tieredGroups, type DuplicateGroup } from './duplicate-groups.js';
import {
  DUPLICATE_TIERS,
  comparePairs,
  hashClasses,
  hashPairs,
  invalid,
  similarPairs,
  type DuplicateTier,
  type RawPair,
  type TierCounts,
} from './duplicate-pairs.js';
import { exactNeighbours, type AnalysisPoint, type NeighbourFn } from './neighbours.js';
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

export { DUPLICATE_TIERS, type DuplicateTier };
export type { DuplicateGroup };

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

export interface DuplicateImage {
  readonly canvasId: string;
  readonly imageIndex: number;
  readonly manifestId: string;
  readonly phash?: string;
  readonly thumbnail?: string;
}

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

/** The tiered duplicates report over `points` (see the module comment). */
export async function findDuplicates(points: readonly AnalysisPoint[], opts: DuplicatesOptions = {}): Promise<DuplicatesReport> {
  const { nearHamming, similarCosine, k, maxPairs, concurrency } = checkedOptions(opts);
  const n = points.length;
  const ids = new Set<string>();
  for (const p of points) {
    if (ids.has(p.id)) invalid(`point id ${p.id} appears twice`, { id: p.id });
    ids.add(p.id);
  }
  const classes = hashClasses(points);
  const uf = new UnionFind(n);
  const hashed = hashPairs(points, classes, uf, nearHamming, maxPairs);
  const search = neighbourSearch(points, opts.neighbours);
  const similar = search
    ? await similarPairs(points, classes, uf, { ...search, k, similarCosine, nearHamming, concurrency, onProgress: opts.onProgress })
    : { pairs: new Map<number, RawPair>(), degree: new Float64Array(n) };
  const found: TierCounts = { ...hashed.found, similar: similar.pairs.size };

  // Pairs: sorted, then cut to maxPairs, stricter tiers first.
  const listedPairs = [...hashed.exact, ...hashed.near, ...similar.pairs.values()].sort(comparePairs).slice(0, maxPairs);
  const expectedListed = hashed.exact.length + found.near + similar.pairs.size;

  const inClass = (i: number) => classes.classOf[i]!;
  const exactDegree = (i: number) => (inClass(i) >= 0 ? classes.members[inClass(i)]!.length - 1 : 0);
  const nearDegree = (i: number) => exactDegree(i) + (inClass(i) >= 0 ? hashed.nearDegreeOfClass[inClass(i)]! : 0);
  const { groups, counts: groupCounts, members } = tieredGroups(points, {
    roots: { exact: hashed.exactRoots, near: hashed.nearRoots, similar: uf.roots() },
    degree: { exact: exactDegree, near: nearDegree, similar: (i) => nearDegree(i) + similar.degree[i]! },
  });

  const listed: TierCounts = { exact: 0, near: 0, similar: 0 };
  for (const p of listedPairs) listed[p.tier]++;
  return {
    thresholds: { nearHamming, similarCosine, k: search ? k : null },
    counts: { images: n, hashed: classes.hashed, searched: search ? search.queried.length : 0, pairs: found, listed, groups: groupCounts },
    truncated: listedPairs.length < expectedListed,
    pairs: listedPairs.map((p) => ({ tier: p.tier, a: points[p.a]!.id, b: points[p.b]!.id, hamming: p.hamming, cosine: p.cosine })),
    groups,
    images: describeImages(points, members),
  };
}

function checkedOptions(opts: DuplicatesOptions): { nearHamming: number; similarCosine: number; k: number; maxPairs: number; concurrency: number } {
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
  return { nearHamming, similarCosine, k, maxPairs, concurrency };
}

/** The similar tier's search: the caller's, none (false), or every pair of the points with vectors when the set is small. */
function neighbourSearch(points: readonly AnalysisPoint[], given: NeighbourFn | false | undefined): { neighbours: NeighbourFn; queried: number[] } | undefined {
  if (given) return { neighbours: given, queried: points.map((_, i) => i) };
  if (given === false) return undefined;
  const queried = points.flatMap((p, i) => (p.vector ? [i] : []));
  if (queried.length > EXACT_NEIGHBOURS_LIMIT) {
    invalid(`${queried.length} images are too many to compare pair by pair (at most ${EXACT_NEIGHBOURS_LIMIT}): pass neighbours, the vector index's search`, {
      images: queried.length,
    });
  }
  if (queried.length < 2) return undefined;
  return { neighbours: exactNeighbours(queried.map((i) => ({ id: points[i]!.id, vector: points[i]!.vector! }))), queried };
}

function describeImages(points: readonly AnalysisPoint[], members: readonly number[]): Record<string, DuplicateImage> {
  const images: Record<string, DuplicateImage> = {};
  for (const i of members) {
    const p = points[i]!;
    if (Object.hasOwn(images, p.id)) continue;
    const { canvasId, imageIndex, manifestId, phash, thumbnail } = p.payload;
    images[p.id] = { canvasId, imageIndex, manifestId, ...(phash !== undefined ? { phash } : {}), ...(thumbnail !== undefined ? { thumbnail } : {}) };
  }
  return images;
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
