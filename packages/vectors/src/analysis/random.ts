/**
 * Seeded sampling for the analyses, so that every sampled or randomly seeded analysis (k-means++
 * seeding, silhouette samples) gives the same answer for the same seed on every machine. The
 * generator is @loupe/datasets' `seededRandom`; `deriveSeed` gives it independent sub-streams.
 */
export type Random = () => number;

/** Folds a seed and any number of labels (k, restart...) into one 32-bit seed: sub-streams that do not depend on each other's draws. */
export function deriveSeed(seed: number, ...labels: number[]): number {
  let h = mixSeed(seed);
  for (const label of labels) {
    h = Math.imul(h ^ mixSeed(label), 0x27d4eb2d);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

function mixSeed(seed: number): number {
  // Fractional and large seeds still count: both 32-bit halves of the integer part and the fraction.
  const whole = Math.floor(seed);
  const lo = whole | 0;
  const hi = Math.floor(whole / 4294967296) | 0;
  const frac = Math.floor((seed - whole) * 4294967296) | 0;
  let h = Math.imul(lo ^ 0x5bd1e995, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 15) ^ hi, 0x1b873593);
  h = Math.imul(h ^ (h >>> 13) ^ frac, 0x85ebca6b);
  return (h ^ (h >>> 16)) | 0;
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * `m` distinct indices of 0..n-1 in random order (all n, shuffled, when m >= n): a partial
 * Fisher-Yates shuffle, O(n) memory and O(m) swaps.
 */
export function sampleIndices(random: Random, n: number, m: number): Uint32Array {
  const take = Math.max(0, Math.min(n, Math.floor(m)));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < take; i++) {
    const j = i + randomInt(random, n - i);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order.slice(0, take);
}
