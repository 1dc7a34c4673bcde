/**
 * Train/validation/test splits and k folds that are reproducible from a seed and stratified by
 * class. Items are ordered by a hash of (seed, id), not shuffled by position, so the same seed gives
 * the same split whatever order the items come in, and adding an item moves only a few others.
 *
 * Stratifying multi-label items: each item joins the stratum of its rarest label (across the whole
 * set), the class most at risk of missing from a split; items without labels form their own.
 */
import { createHash } from 'node:crypto';
import { LoupeError, SPLITS } from '@loupe/contracts';

// The API's split names, so that a split named here is one the API accepts.
export { SPLITS };
export type Split = (typeof SPLITS)[number];

export interface SplitItem {
  readonly id: string;
  readonly labels: readonly string[];
}

export interface SplitRatios {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

export const DEFAULT_SPLIT_RATIOS: SplitRatios = Object.freeze({ train: 0.7, validation: 0.15, test: 0.15 });

export interface SplitOptions {
  readonly seed: string | number;
  /** Shares of train, validation and test; they must sum to 1. Default 0.7 / 0.15 / 0.15. */
  readonly ratios?: SplitRatios;
}

export interface FoldOptions {
  readonly seed: string | number;
  readonly k: number;
}

function invalid(message: string, details: Record<string, unknown>): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, { details });
}

/** The order within a stratum: sha256 of seed and id, so it depends on nothing else. */
function hashKey(seed: string, id: string): string {
  return createHash('sha256').update(seed).update('\u0000').update(id).digest('hex');
}

interface Stratum {
  readonly key: string;
  readonly items: readonly SplitItem[];
}

/**
 * The strata in a fixed order (rarest class first, then by name; the unlabelled last), each in
 * hash order.
 */
function stratify(items: readonly SplitItem[], seed: string | number): Stratum[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (seen.has(item.id)) throw invalid(`the item '${item.id}' is listed twice`, { id: item.id });
    seen.add(item.id);
  }
  const counts = new Map<string, number>();
  for (const item of items) for (const label of new Set(item.labels)) counts.set(label, (counts.get(label) ?? 0) + 1);
  const rarer = (a: string, b: string): number => counts.get(a)! - counts.get(b)! || (a < b ? -1 : a > b ? 1 : 0);

  const groups = new Map<string, SplitItem[]>();
  const unlabelled: SplitItem[] = [];
  for (const item of items) {
    const rarest = [...new Set(item.labels)].sort(rarer)[0];
    if (rarest === undefined) unlabelled.push(item);
    else if (groups.has(rarest)) groups.get(rarest)!.push(item);
    else groups.set(rarest, [item]);
  }
  const text = String(seed);
  const byHash = (list: readonly SplitItem[]): SplitItem[] =>
    list
      .map((item) => ({ item, key: hashKey(text, item.id) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.item.id < b.item.id ? -1 : 1))
      .map((e) => e.item);
  const strata = [...groups.keys()].sort(rarer).map((key) => ({ key, items: byHash(groups.get(key)!) }));
  if (unlabelled.length > 0) strata.push({ key: '', items: byHash(unlabelled) });
  return strata;
}

function checkRatios(ratios: SplitRatios): readonly number[] {
  const shares = SPLITS.map((s) => ratios[s]);
  const sum = shares.reduce((a, b) => a + b, 0);
  if (shares.some((r) => typeof r !== 'number' || !Number.isFinite(r) || r < 0) || Math.abs(sum - 1) > 1e-9) {
    throw invalid(`split ratios must be non-negative and sum to 1: train ${ratios.train}, validation ${ratios.validation}, test ${ratios.test} sum to ${Number(sum.toPrecision(12))}`, {
      ratios,
      sum,
    });
  }
  return shares;
}

/**
 * Item counts per split for one stratum of n: each the floor or ceiling of its exact share. The
 * items left after the floors go to the splits furthest behind their share over all strata so far
 * (`deficit`, updated here), so that many small strata do not all round the same way. Where the
 * stratum has an item for every split with a share, every such split gets one, taken from the
 * largest: a class of three still appears in train, validation and test.
 */
function apportion(n: number, shares: readonly number[], deficit: number[]): number[] {
  const exact = shares.map((r) => r * n);
  const counts = exact.map((e) => Math.floor(e + 1e-9));
  let left = n - counts.reduce((a, b) => a + b, 0);
  const candidates = shares
    .map((_, i) => i)
    .filter((i) => exact[i]! - counts[i]! > 1e-9)
    .sort((a, b) => deficit[b]! + exact[b]! - counts[b]! - (deficit[a]! + exact[a]! - counts[a]!) || a - b);
  for (const i of candidates) {
    if (left === 0) break;
    counts[i]!++;
    left--;
  }
  const sharing = shares.map((_, i) => i).filter((i) => shares[i]! > 0);
  if (n >= sharing.length) {
    for (const i of sharing) {
      if (counts[i]! > 0) continue;
      const largest = counts.reduce((best, c, j) => (c > counts[best]! ? j : best), 0);
      counts[largest]!--;
      counts[i]!++;
    }
  }
  counts.forEach((c, i) => (deficit[i] = deficit[i]! + exact[i]! - c));
  return counts;
}

/**
 * Assigns every item to train, validation or test. Within each stratum (see the module comment)
 * items are taken in hash order and cut by the ratios, so each class's share of every split is
 * within about one item of the ratio. The map follows the items' order.
 */
export function stratifiedSplit(items: readonly SplitItem[], options: SplitOptions): Map<string, Split> {
  const shares = checkRatios(options.ratios ?? DEFAULT_SPLIT_RATIOS);
  const assigned = new Map<string, Split>();
  const deficit = SPLITS.map(() => 0);
  for (const stratum of stratify(items, options.seed)) {
    const counts = apportion(stratum.items.length, shares, deficit);
    let at = 0;
    SPLITS.forEach((split, i) => {
      for (const item of stratum.items.slice(at, at + counts[i]!)) assigned.set(item.id, split);
      at += counts[i]!;
    });
  }
  return new Map(items.map((item) => [item.id, assigned.get(item.id)!]));
}

/**
 * Assigns every item a fold 0..k-1: round-robin over each stratum in hash order, the count carried
 * from one stratum to the next so the folds' sizes differ by one at most. A class with at least k
 * items as its members' rarest label is in every fold.
 */
export function kFold(items: readonly SplitItem[], options: FoldOptions): Map<string, number> {
  const { k } = options;
  if (!Number.isInteger(k) || k < 2 || k > items.length) {
    throw invalid(`k-fold needs a whole k from 2 to the number of items (${items.length}), not ${k}`, { k, items: items.length });
  }
  const assigned = new Map<string, number>();
  let next = 0;
  for (const stratum of stratify(items, options.seed)) {
    for (const item of stratum.items) assigned.set(item.id, next++ % k);
  }
  return new Map(items.map((item) => [item.id, assigned.get(item.id)!]));
}

/**
 * Items that must stay together (the clean and the watermarked copies of one picture, crops of one
 * page) as one SplitItem per group, labelled with every label of its members: splitting these
 * keeps a test fold from holding a near copy of a training example.
 */
function asGroups(items: readonly SplitItem[], groupOf: (item: SplitItem) => string): { groups: SplitItem[]; group: Map<string, string> } {
  const labels = new Map<string, Set<string>>();
  const group = new Map<string, string>();
  for (const item of items) {
    const g = groupOf(item);
    group.set(item.id, g);
    const set = labels.get(g) ?? new Set<string>();
    for (const label of item.labels) set.add(label);
    labels.set(g, set);
  }
  return { groups: [...labels].map(([id, set]) => ({ id, labels: [...set] })), group };
}

/** kFold over groups: every member of a group gets its group's fold. */
export function groupedKFold(items: readonly SplitItem[], groupOf: (item: SplitItem) => string, options: FoldOptions): Map<string, number> {
  const { groups, group } = asGroups(items, groupOf);
  const folds = kFold(groups, options);
  return new Map(items.map((item) => [item.id, folds.get(group.get(item.id)!)!]));
}

/** stratifiedSplit over groups: every member of a group goes where its group goes. */
export function groupedSplit(items: readonly SplitItem[], groupOf: (item: SplitItem) => string, options: SplitOptions): Map<string, Split> {
  const { groups, group } = asGroups(items, groupOf);
  const splits = stratifiedSplit(groups, options);
  return new Map(items.map((item) => [item.id, splits.get(group.get(item.id)!)!]));
}
