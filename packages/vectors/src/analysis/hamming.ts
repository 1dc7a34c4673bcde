/**
 * Every pair of 64-bit hashes within a Hamming distance, without comparing all pairs: multi-index
 * hashing (Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index hashing",
 * CVPR 2012).
 *
 * The 64 bits are cut into m disjoint blocks. If two hashes differ in at most r bits, at least one
 * block differs in at most floor(r / m) bits (were every block to differ in more, the total would
 * exceed r): the pigeonhole principle. With m = r + 1 that block matches exactly, so bucketing
 * hashes by each block's value and comparing only hashes that share a bucket finds every pair.
 * Exact-match blocks of r + 1 pieces get short (4 bits for r = 15) and their buckets crowded, so
 * the plan below may use fewer, longer blocks and probe each bucket's neighbours within
 * floor(r / m) bits instead; it picks m by the expected work on uniformly spread hashes.
 *
 * Each pair is reported once: it is taken only from the first block (in bit order) in which it is
 * within the block radius, and only from its lower index.
 */

/** A 64-bit hash as two unsigned 32-bit halves (hi: the first 8 hex digits). */
export interface SplitHash {
  readonly hi: number;
  readonly lo: number;
}

const HEX16 = /^[0-9a-fA-F]{16}$/;

/** The halves of a 16-hex-digit hash, or undefined when it is not one. */
export function parseHash(hex: string): SplitHash | undefined {
  if (!HEX16.test(hex)) return undefined;
  return { hi: Number.parseInt(hex.slice(0, 8), 16), lo: Number.parseInt(hex.slice(8), 16) };
}

/** Set bits of a 32-bit integer. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Bits that differ between two split hashes. */
export function splitDistance(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return popcount32(aHi ^ bHi) + popcount32(aLo ^ bLo);
}

/** A contiguous run of bits: bit 0 is the most significant bit of the hash. */
export interface HashBlock {
  readonly start: number;
  readonly length: number;
}

export interface MultiIndexPlan {
  readonly blocks: readonly HashBlock[];
  /** Bits a block may differ in and still be probed: floor(maxDistance / blocks). */
  readonly radius: number;
}

/** m blocks as even as possible (the first 64 mod m one bit longer). */
export function splitBlocks(m: number): HashBlock[] {
  const base = Math.floor(64 / m);
  const extra = 64 % m;
  const blocks: HashBlock[] = [];
  let start = 0;
  for (let b = 0; b < m; b++) {
    const length = base + (b < extra ? 1 : 0);
    blocks.push({ start, length });
    start += length;
  }
  return blocks;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
}

/**
 * The block split with the least expected work for `count` hashes: per hash and block, the
 * probes (keys within the radius) and the candidates they meet (count / 2^bits hashes per bucket
 * when hashes are spread evenly). Blocks stay at most 32 bits (one unsigned integer) and at least
 * two. With few hashes this settles on m = maxDistance + 1 exact-match blocks; with many, on
 * fewer, longer blocks probed within a small radius.
 */
export function planMultiIndex(count: number, maxDistance: number): MultiIndexPlan {
  let best: { cost: number; m: number } | undefined;
  for (let m = 2; m <= 64; m++) {
    const radius = Math.floor(maxDistance / m);
    let cost = 0;
    for (const block of splitBlocks(m)) {
      let probes = 0;
      for (let i = 0; i <= Math.min(radius, block.length); i++) probes += binomial(block.length, i);
      cost += probes * (1 + count / 2 ** block.length);
    }
    if (!best || cost < best.cost) best = { cost, m };
  }
  return { blocks: splitBlocks(best!.m), radius: Math.floor(maxDistance / best!.m) };
}

/** The block's bits as an unsigned integer (length <= 32). */
export function blockValue(hi: number, lo: number, block: HashBlock): number {
  const end = block.start + block.length;
  const mask = block.length === 32 ? 0xffffffff : (1 << block.length) - 1;
  if (end <= 32) return ((hi >>> (32 - end)) & mask) >>> 0;
  if (block.start >= 32) return ((lo >>> (64 - end)) & mask) >>> 0;
  const fromLo = end - 32;
  const highPart = (hi & ((1 << (32 - block.start)) - 1)) >>> 0;
  return ((highPart * 2 ** fromLo + (lo >>> (32 - fromLo))) & mask) >>> 0;
}

/** Every XOR mask of `length` bits with at most `radius` bits set, fewest bits first. */
function probeMasks(length: number, radius: number): number[] {
  const masks = [0];
  let frontier = [{ mask: 0, next: 0 }];
  for (let weight = 1; weight <= radius; weight++) {
    const grown: { mask: number; next: number }[] = [];
    for (const { mask, next } of frontier) {
      for (let bit = next; bit < length; bit++) {
        const m = (mask | (1 << bit)) >>> 0;
        grown.push({ mask: m, next: bit + 1 });
        masks.push(m);
      }
    }
    frontier = grown;
  }
  return masks;
}

export interface HammingPairsOptions {
  /** Overrides the planned split (tests; tuning). */
  readonly plan?: MultiIndexPlan;
}

/**
 * Calls `visit(i, j, distance)` once for every pair i < j whose hashes differ in at most
 * `maxDistance` bits (0..63). Work is about count x probes x (1 + bucket size), not count^2.
 */
export function hammingPairs(
  hi: Uint32Array,
  lo: Uint32Array,
  maxDistance: number,
  visit: (i: number, j: number, distance: number) => void,
  opts: HammingPairsOptions = {},
): void {
  const n = hi.length;
  if (lo.length !== n) throw new RangeError('hash halves differ in length');
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 63) throw new RangeError(`maxDistance must be an integer 0..63, got ${maxDistance}`);
  if (n < 2) return;
  const { blocks, radius } = opts.plan ?? planMultiIndex(n, maxDistance);
  const m = blocks.length;
  // Every hash's value in every block, row-major by hash.
  const values = new Uint32Array(n * m);
  for (let i = 0; i < n; i++) for (let b = 0; b < m; b++) values[i * m + b] = blockValue(hi[i]!, lo[i]!, blocks[b]!);

  for (let b = 0; b < m; b++) {
    // Bucket by this block's value: the indices holding each value, in increasing order.
    const buckets = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const key = values[i * m + b]!;
      const bucket = buckets.get(key);
      if (bucket) bucket.push(i);
      else buckets.set(key, [i]);
    }
    const masks = probeMasks(blocks[b]!.length, radius);
    for (let i = 0; i < n; i++) {
      const own = values[i * m + b]!;
      for (const mask of masks) {
        const bucket = buckets.get((own ^ mask) >>> 0);
        if (!bucket) continue;
        for (let x = bucket.length - 1; x >= 0; x--) {
          const j = bucket[x]!;
          if (j <= i) break;
          // Found through an earlier block already?
          let earlier = false;
          for (let c = 0; c < b; c++) {
            if (popcount32(values[i * m + c]! ^ values[j * m + c]!) <= radius) {
              earlier = true;
              break;
            }
          }
          if (earlier) continue;
          const d = splitDistance(hi[i]!, lo[i]!, hi[j]!, lo[j]!);
          if (d <= maxDistance) visit(i, j, d);
        }
      }
    }
  }
}
