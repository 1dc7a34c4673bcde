/**
 * The duplicates report's groups, tier by tier: the components of a tier's pairs that join at
 * least two components of the stricter tier, each nested in the looser group that contains it.
 */
import type { AnalysisPoint } from './neighbours.js';
import { DUPLICATE_TIERS, TIER_RANK, type DuplicateTier, type TierCounts } from './duplicate-pairs.js';

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

/** What the tiers left: each tier's union-find roots and each image's count of pairs at that tier or stricter. */
export interface TierComponents {
  readonly roots: Readonly<Record<DuplicateTier, Int32Array>>;
  readonly degree: Readonly<Record<DuplicateTier, (i: number) => number>>;
}

interface PendingGroup {
  readonly tier: DuplicateTier;
  readonly root: number;
  readonly members: number[];
  readonly representative: number;
}

export function tieredGroups(points: readonly AnalysisPoint[], tiers: TierComponents): { groups: DuplicateGroup[]; counts: TierCounts; members: number[] } {
  const counts: TierCounts = { exact: 0, near: 0, similar: 0 };
  const groupIdByRoot: Record<DuplicateTier, Map<number, string>> = { exact: new Map(), near: new Map(), similar: new Map() };
  const pending: PendingGroup[] = [];
  DUPLICATE_TIERS.forEach((tier, rank) => {
    const stricter = rank === 0 ? null : tiers.roots[DUPLICATE_TIERS[rank - 1]!];
    const inTier = groupsOfTier(tiers.roots[tier], stricter, tiers.degree[tier]);
    inTier.forEach((g, at) => {
      groupIdByRoot[tier].set(g.root, `${tier}-${at + 1}`);
      pending.push({ tier, ...g });
    });
    counts[tier] = inTier.length;
  });
  const groups = pending.map((g) => {
    let parent: string | null = null;
    for (const looser of DUPLICATE_TIERS.slice(TIER_RANK[g.tier] + 1)) {
      parent = groupIdByRoot[looser].get(tiers.roots[looser][g.representative]!) ?? null;
      if (parent) break;
    }
    const members = [g.representative, ...g.members.filter((i) => i !== g.representative)];
    return {
      id: groupIdByRoot[g.tier].get(g.root)!,
      tier: g.tier,
      representative: points[g.representative]!.id,
      size: members.length,
      members: members.map((i) => points[i]!.id),
      parent,
    };
  });
  return { groups, counts, members: pending.flatMap((g) => g.members) };
}

/** One tier's groups, largest first: components of two or more that the stricter tier kept apart. */
function groupsOfTier(roots: Int32Array, stricter: Int32Array | null, degree: (i: number) => number): Omit<PendingGroup, 'tier'>[] {
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < roots.length; i++) {
    const members = byRoot.get(roots[i]!);
    if (members) members.push(i);
    else byRoot.set(roots[i]!, [i]);
  }
  const inTier: Omit<PendingGroup, 'tier'>[] = [];
  for (const [root, members] of byRoot) {
    if (members.length < 2) continue;
    if (stricter && new Set(members.map((i) => stricter[i]!)).size < 2) continue;
    let representative = members[0]!;
    for (const i of members) if (degree(i) > degree(representative)) representative = i;
    inTier.push({ root, members, representative });
  }
  return inTier.sort((x, y) => y.members.length - x.members.length || x.representative - y.representative);
}
