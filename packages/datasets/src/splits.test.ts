import t from 'tap';
import { DEFAULT_SPLIT_RATIOS, kFold, SPLITS, stratifiedSplit, type Split, type SplitItem, type SplitRatios } from './splits.js';
import { seededRandom as random } from './random.js';

/** Single-label items: `sizes[c]` items of class c. */
function singleLabel(sizes: Record<string, number>): SplitItem[] {
  return Object.entries(sizes).flatMap(([label, n]) => Array.from({ length: n }, (_, i) => ({ id: `http://ex.org/item/${label}/${i}`, labels: [label] })));
}


/**
 * Like the pilot's multi-label data: a main class (a few common, several rare), often with the
 * common 'photograph', sometimes a second class; a few items without labels.
 */
function multiLabel(n: number, seed: number): SplitItem[] {
  const next = random(seed);
  const classes = ['building', 'drawing', 'map', 'painting', 'toy', 'weaponry', 'tapestry', 'inscription', 'medal'];
  const weights = [30, 20, 15, 12, 8, 6, 4, 3, 2];
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = (): string => {
    let r = next() * total;
    for (const [i, w] of weights.entries()) if ((r -= w) < 0) return classes[i]!;
    return classes.at(-1)!;
  };
  return Array.from({ length: n }, (_, i) => {
    const labels = new Set<string>();
    if (next() < 0.03) return { id: `item-${i}`, labels: [] };
    labels.add(pick());
    if (next() < 0.4) labels.add('photograph');
    if (next() < 0.15) labels.add(pick());
    return { id: `item-${i}`, labels: [...labels] };
  });
}

function perClass(items: readonly SplitItem[], split: Map<string, Split>): Map<string, Record<Split, number>> {
  const out = new Map<string, Record<Split, number>>();
  for (const item of items) {
    for (const label of item.labels) {
      const counts = out.get(label) ?? { train: 0, validation: 0, test: 0 };
      counts[split.get(item.id)!]++;
      out.set(label, counts);
    }
  }
  return out;
}

t.test('the same seed gives the same split whatever the items order; another seed another split', async (t) => {
  const items = multiLabel(500, 1);
  const a = stratifiedSplit(items, { seed: 'alpha' });
  const reversed = stratifiedSplit([...items].reverse(), { seed: 'alpha' });
  t.same([...a.keys()], items.map((i) => i.id), 'the map follows the items');
  t.same(Object.fromEntries(reversed), Object.fromEntries(a));
  const b = stratifiedSplit(items, { seed: 'beta' });
  const moved = items.filter((i) => a.get(i.id) !== b.get(i.id)).length;
  t.ok(moved > 100, `${moved} of 500 items change split with the seed`);
  t.same(Object.fromEntries(stratifiedSplit(items, { seed: 42 })), Object.fromEntries(stratifiedSplit(items, { seed: '42' })), 'a number seed is its text');
});

t.test('per class, every split is within one item of its share where each share is an item or more', async (t) => {
  const sizes = { a: 4, b: 5, c: 6, d: 7, e: 10, f: 13, g: 20, h: 33, i: 101, j: 1000 };
  const items = singleLabel(sizes);
  for (const ratios of [DEFAULT_SPLIT_RATIOS, { train: 0.8, validation: 0.1, test: 0.1 }, { train: 0.6, validation: 0.2, test: 0.2 }] as SplitRatios[]) {
    for (const seed of [1, 2, 3]) {
      const split = stratifiedSplit(items, { seed, ratios });
      for (const [label, counts] of perClass(items, split)) {
        const n = sizes[label as keyof typeof sizes];
        // Smaller classes first get an item in every split (next test), which may cost train more than one.
        const roomy = SPLITS.every((s) => n * ratios[s] >= 1);
        for (const s of SPLITS) {
          if (roomy) t.ok(Math.abs(counts[s] - n * ratios[s]) <= 1, `${label} (${n}) ${s}: ${counts[s]} for ${(n * ratios[s]).toFixed(2)}`);
          t.ok(counts[s] >= 1, `${label} (${n}) is in ${s}`);
        }
      }
    }
  }
  const overall = { train: 0, validation: 0, test: 0 };
  for (const s of stratifiedSplit(items, { seed: 9 }).values()) overall[s]++;
  for (const s of SPLITS) t.ok(Math.abs(overall[s] - items.length * DEFAULT_SPLIT_RATIOS[s]) <= 1, `overall ${s}: ${overall[s]} of ${items.length}, rounding does not pile up over classes`);
});

t.test('a class of three is in every split; of two, never split three ways; ratio 0 means none', async (t) => {
  const items = singleLabel({ rare: 3, pair: 2, common: 50 });
  const split = stratifiedSplit(items, { seed: 's' });
  t.same(perClass(items, split).get('rare'), { train: 1, validation: 1, test: 1 });
  const pair = perClass(items, split).get('pair')!;
  t.equal(pair.train + pair.validation + pair.test, 2);
  const noTest = stratifiedSplit(items, { seed: 's', ratios: { train: 0.9, validation: 0.1, test: 0 } });
  t.notOk([...noTest.values()].includes('test'));
});

t.test('multi-label: rare classes reach every split; unlabelled items are split too', async (t) => {
  const items = multiLabel(800, 5);
  const split = stratifiedSplit(items, { seed: 'ml' });
  for (const [label, counts] of perClass(items, split)) {
    const n = counts.train + counts.validation + counts.test;
    t.ok(SPLITS.every((s) => counts[s] > 0), `${label} (${n}): ${JSON.stringify(counts)}`);
    for (const s of SPLITS) t.ok(Math.abs(counts[s] / n - DEFAULT_SPLIT_RATIOS[s]) < 0.1, `${label} ${s} share ${(counts[s] / n).toFixed(3)}`);
  }
  const unlabelled = items.filter((i) => i.labels.length === 0);
  t.ok(unlabelled.length >= 3);
  t.same(new Set(unlabelled.map((i) => split.get(i.id))), new Set(SPLITS));
});

t.test('adding an item moves few others', async (t) => {
  const items = singleLabel({ a: 40, b: 120, c: 300 });
  const before = stratifiedSplit(items, { seed: 7 });
  for (const extra of [{ id: 'new-a', labels: ['a'] }, { id: 'new-c', labels: ['c'] }, { id: 'new-none', labels: [] }]) {
    const after = stratifiedSplit([...items, extra], { seed: 7 });
    const moved = items.filter((i) => before.get(i.id) !== after.get(i.id)).length;
    t.ok(moved <= 4, `adding ${extra.id} moved ${moved} of ${items.length}`);
  }
  const multi = multiLabel(600, 11);
  const m0 = stratifiedSplit(multi, { seed: 7 });
  const m1 = stratifiedSplit([...multi, { id: 'extra', labels: ['map', 'photograph'] }], { seed: 7 });
  const moved = multi.filter((i) => m0.get(i.id) !== m1.get(i.id)).length;
  t.ok(moved < multi.length * 0.05, `multi-label: adding one moved ${moved} of ${multi.length}`);
});

t.test('ratios and items are validated', async (t) => {
  const items = singleLabel({ a: 10 });
  t.throws(() => stratifiedSplit(items, { seed: 1, ratios: { train: 0.7, validation: 0.2, test: 0.2 } }), { code: 'LOUPE_ERR_VALIDATION', message: /sum to 1\.1/ });
  t.throws(() => stratifiedSplit(items, { seed: 1, ratios: { train: 1.2, validation: -0.1, test: -0.1 } }), { code: 'LOUPE_ERR_VALIDATION', message: /non-negative/ });
  t.throws(() => stratifiedSplit(items, { seed: 1, ratios: { train: Number.NaN, validation: 0.5, test: 0.5 } }), { code: 'LOUPE_ERR_VALIDATION' });
  t.doesNotThrow(() => stratifiedSplit(items, { seed: 1, ratios: { train: 0.1 + 0.2, validation: 0.3, test: 0.4 } }), 'within 1e-9 of 1');
  t.throws(() => stratifiedSplit([...items, items[0]!], { seed: 1 }), { code: 'LOUPE_ERR_VALIDATION', message: /listed twice/ });
  t.same(stratifiedSplit([], { seed: 1 }).size, 0);
});

t.test('k folds: deterministic, balanced, every class with k or more items in every fold', async (t) => {
  const k = 5;
  for (const items of [singleLabel({ a: 5, b: 6, c: 9, d: 23, e: 200 }), multiLabel(700, 3)]) {
    const folds = kFold(items, { k, seed: 'f' });
    t.same(Object.fromEntries(kFold([...items].reverse(), { k, seed: 'f' })), Object.fromEntries(folds), 'order-free');
    t.not(JSON.stringify([...kFold(items, { k, seed: 'g' })]), JSON.stringify([...folds]), 'seeded');
    const sizes = Array.from({ length: k }, (_, f) => [...folds.values()].filter((v) => v === f).length);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes.join(', ')}`);
    const classes = new Map<string, number[]>();
    for (const item of items) {
      for (const label of item.labels) {
        const perFold = classes.get(label) ?? Array.from({ length: k }, () => 0);
        perFold[folds.get(item.id)!]!++;
        classes.set(label, perFold);
      }
    }
    for (const [label, perFold] of classes) {
      const n = perFold.reduce((a, b) => a + b, 0);
      if (n >= k) t.ok(perFold.every((c) => c > 0), `${label} (${n}) in every fold: ${perFold.join(', ')}`);
    }
  }
});

t.test('k is validated', async (t) => {
  const items = singleLabel({ a: 4 });
  t.throws(() => kFold(items, { k: 1, seed: 1 }), { code: 'LOUPE_ERR_VALIDATION', message: /from 2 to the number of items \(4\), not 1/ });
  t.throws(() => kFold(items, { k: 5, seed: 1 }), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => kFold(items, { k: 2.5, seed: 1 }), { code: 'LOUPE_ERR_VALIDATION' });
  t.same([...kFold(items, { k: 4, seed: 1 }).values()].sort(), [0, 1, 2, 3], 'k = n: one item per fold');
});
