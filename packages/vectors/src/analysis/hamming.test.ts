import t from 'tap';
import { blockValue, hammingPairs, parseHash, planMultiIndex, popcount32, splitBlocks, splitDistance, type MultiIndexPlan } from './hamming.js';
import { seededRandom } from '@loupe/datasets';
import { randomInt } from './random.js';
import { UnionFind } from './union-find.js';

t.test('hash parsing, popcount and distance on hand-picked values', async (t) => {
  t.same(parseHash('0123456789abcdef'), { hi: 0x01234567, lo: 0x89abcdef });
  t.same(parseHash('FFFFFFFF00000000'), { hi: 0xffffffff, lo: 0 });
  t.equal(parseHash('0123'), undefined);
  t.equal(parseHash('0123456789abcdeg'), undefined);
  t.equal(popcount32(0), 0);
  t.equal(popcount32(0xffffffff), 32);
  t.equal(popcount32(0x80000001), 2);
  t.equal(popcount32(0x0f0f0f0f), 16);
  // 0x...0f vs 0x...00 in the low half, 0x8000_0000 vs 0 in the high half: 4 + 1 bits.
  t.equal(splitDistance(0x80000000, 0x0f, 0, 0), 5);
});

t.test('block values, including a block across the two 32-bit halves', async (t) => {
  const { hi, lo } = parseHash('0123456789abcdef')!;
  t.equal(blockValue(hi, lo, { start: 0, length: 4 }), 0x0);
  t.equal(blockValue(hi, lo, { start: 4, length: 4 }), 0x1);
  t.equal(blockValue(hi, lo, { start: 60, length: 4 }), 0xf);
  t.equal(blockValue(hi, lo, { start: 0, length: 32 }), 0x01234567);
  t.equal(blockValue(hi, lo, { start: 32, length: 32 }), 0x89abcdef);
  t.equal(blockValue(hi, lo, { start: 28, length: 8 }), 0x78);
  t.equal(blockValue(hi, lo, { start: 20, length: 24 }), 0x56789a);
  t.equal(blockValue(hi, lo, { start: 1, length: 32 }), 0x02468acf); // (0x0123456789 << 1) bits 1..32
  t.same(splitBlocks(3), [
    { start: 0, length: 22 },
    { start: 22, length: 21 },
    { start: 43, length: 21 },
  ]);
});

t.test('the plan obeys the pigeonhole bound and grows blocks with the collection', async (t) => {
  for (const [count, maxDistance] of [
    [10, 0],
    [2000, 8],
    [100_000, 10],
    [100_000, 16],
    [1_000_000, 6],
  ] as const) {
    const plan = planMultiIndex(count, maxDistance);
    t.equal(plan.radius, Math.floor(maxDistance / plan.blocks.length), `radius for ${count}, ${maxDistance}`);
    t.equal(plan.blocks.reduce((s, b) => s + b.length, 0), 64);
    t.ok(plan.blocks.every((b) => b.length <= 32));
  }
  // Expected work per hash, sum over blocks of probes x (1 + n / 2^bits). 2,000 hashes within 8 bits:
  // nine exact-match blocks of 7-8 bits cost about 9 x (1 + 2000/128) = 150, five 12-13-bit blocks
  // probed within 1 bit about 5 x 14 x (1 + 2000/8192) = 87. 100,000 within 10: four 16-bit blocks
  // within 2 bits, 4 x 137 x (1 + 100000/65536) = 1384, beat eleven exact-match blocks (17,600).
  t.same(planMultiIndex(2000, 8), { blocks: splitBlocks(5), radius: 1 });
  // Identical hashes only: two 32-bit halves, 2 x (1 + 10 / 2^32), beat any more blocks.
  t.same(planMultiIndex(10, 0), { blocks: splitBlocks(2), radius: 0 });
  t.same(planMultiIndex(100_000, 10), { blocks: splitBlocks(4), radius: 2 });
});

/** n random hashes, then `planted` of them overwritten with a copy of another one with d random bits flipped (d from 0 to 16). */
function plantedHashes(seed: number, n: number, planted: number) {
  const random = seededRandom(seed);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    hi[i] = Math.floor(random() * 2 ** 32);
    lo[i] = Math.floor(random() * 2 ** 32);
  }
  for (let p = 0; p < planted; p++) {
    const from = randomInt(random, n);
    const to = randomInt(random, n);
    let h = hi[from]!;
    let l = lo[from]!;
    const flips = randomInt(random, 17);
    for (let f = 0; f < flips; f++) {
      const bit = randomInt(random, 64);
      if (bit < 32) h = (h ^ (1 << bit)) >>> 0;
      else l = (l ^ (1 << (bit - 32))) >>> 0;
    }
    hi[to] = h;
    lo[to] = l;
  }
  return { hi, lo };
}

function bruteForce(hi: Uint32Array, lo: Uint32Array, maxDistance: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < hi.length; i++) {
    for (let j = i + 1; j < hi.length; j++) {
      const d = splitDistance(hi[i]!, lo[i]!, hi[j]!, lo[j]!);
      if (d <= maxDistance) out.set(`${i},${j}`, d);
    }
  }
  return out;
}

t.test('multi-index hashing finds exactly the brute-force pairs, each once (2,000 hashes, 600 planted near pairs)', async (t) => {
  const { hi, lo } = plantedHashes(7, 2000, 600);
  for (const maxDistance of [0, 1, 3, 8, 12, 16]) {
    const expected = bruteForce(hi, lo, maxDistance);
    const plans: (MultiIndexPlan | undefined)[] = [
      undefined, // the planned split
      { blocks: splitBlocks(maxDistance + 1), radius: 0 }, // pigeonhole with exact-match blocks
      // Longer blocks probed within a radius: half as many blocks as exact matching needs, and five.
      { blocks: splitBlocks(Math.max(2, Math.floor((maxDistance + 1) / 2))), radius: Math.floor(maxDistance / Math.max(2, Math.floor((maxDistance + 1) / 2))) },
      { blocks: splitBlocks(5), radius: Math.floor(maxDistance / 5) },
    ];
    for (const plan of plans) {
      const found = new Map<string, number>();
      let visits = 0;
      let ordered = true;
      hammingPairs(hi, lo, maxDistance, (i, j, d) => {
        visits++;
        ordered &&= i < j;
        found.set(`${i},${j}`, d);
      }, plan ? { plan } : {});
      const label = `t=${maxDistance} ${plan ? `m=${plan.blocks.length} r=${plan.radius}` : 'planned'}`;
      t.equal(visits, found.size, `${label}: no pair twice`);
      t.ok(ordered, `${label}: lower index first`);
      t.same(found, expected, `${label}: ${expected.size} pairs`);
    }
    if (maxDistance === 16) t.ok(expected.size >= 500, `the planted pairs are there (${expected.size})`);
  }
});

t.test('union-find joins chains into groups', async (t) => {
  const uf = new UnionFind(7);
  t.equal(uf.union(0, 1), true);
  t.equal(uf.union(2, 3), true);
  t.equal(uf.union(1, 3), true);
  t.equal(uf.union(0, 2), false, 'already joined through 1-3');
  uf.union(5, 6);
  const roots = uf.roots();
  t.equal(new Set([roots[0], roots[1], roots[2], roots[3]]).size, 1);
  t.not(roots[4], roots[0]);
  t.equal(roots[5], roots[6]);
  t.not(roots[5], roots[0]);
  t.equal(new Set(roots).size, 3);
});
