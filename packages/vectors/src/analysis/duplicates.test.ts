import { LoupeError } from '@loupe/contracts';
import { csvField, toCsv } from '@loupe/datasets';
import t from 'tap';
import type { VectorPayload } from '../port.js';
import { DEFAULT_NEAR_HAMMING, DEFAULT_SIMILAR_COSINE, duplicatesCsv, findDuplicates } from './duplicates.js';
import { collectionNeighbours, exactNeighbours, type AnalysisPoint, type NeighbourFn } from './neighbours.js';

function point(name: string, phash: string | undefined, vector: number[] | undefined, payload: Partial<VectorPayload> = {}): AnalysisPoint {
  return {
    id: `${name}#0`,
    payload: { canvasId: `https://example.org/canvas/${name}`, imageIndex: 0, manifestId: 'https://example.org/manifest/m', ...(phash ? { phash } : {}), ...payload },
    ...(vector ? { vector: Float32Array.from(vector) } : {}),
  };
}

const H0 = '0000000000000000';
const HF = '000000000000000f'; // 4 bits from H0
const ONES = 'ffffffffffffffff'; // 64 bits from H0, 60 from HF
const HALF = '00000000ffffffff'; // 32 bits from H0, 28 from HF
const s = Math.sqrt(1 - 0.95 ** 2);

/**
 * a, b: the same hash (exact) and vector; c: 4 bits away (near to a and b), cosine 0.96 to them;
 * h: c's hash, no vector; d: an unrelated hash, cosine 0.95 to a and b and 0.912 to c (similar);
 * e: alone; f, g: no hash, cosine 0.96 (similar).
 */
const points = [
  point('a', H0, [1, 0, 0, 0]),
  point('b', H0, [1, 0, 0, 0]),
  point('c', HF, [0.96, 0.28, 0, 0]),
  point('d', ONES, [0.95, 0, s, 0]),
  point('e', HALF, [0, 0, 1, 0]),
  point('f', undefined, [0, 0, 0, 1]),
  point('g', undefined, [0, 0, 0.28, 0.96]),
  point('h', HF, undefined),
];

t.test('three tiers, each pair once at its strictest tier, nested groups (hand-worked example)', async (t) => {
  const report = await findDuplicates(points, { nearHamming: 8, similarCosine: 0.9 });
  t.same(
    report.pairs.map((p) => [p.tier, p.a, p.b, p.hamming, p.cosine]),
    [
      ['exact', 'a#0', 'b#0', 0, 1],
      ['exact', 'c#0', 'h#0', 0, null],
      ['near', 'a#0', 'c#0', 4, 0.96],
      ['near', 'b#0', 'c#0', 4, 0.96],
      ['near', 'a#0', 'h#0', 4, null],
      ['near', 'b#0', 'h#0', 4, null],
      ['similar', 'f#0', 'g#0', null, 0.96],
      ['similar', 'a#0', 'd#0', 64, 0.95],
      ['similar', 'b#0', 'd#0', 64, 0.95],
      ['similar', 'c#0', 'd#0', 60, 0.912],
    ],
  );
  // a-b (cosine 1) and a-c (cosine 0.96) pass the similar threshold too, but are listed once, at their hash tier.
  const keys = report.pairs.map((p) => `${p.a} ${p.b}`);
  t.equal(new Set(keys).size, keys.length, 'no pair in two tiers');
  t.same(report.groups, [
    { id: 'exact-1', tier: 'exact', representative: 'a#0', size: 2, members: ['a#0', 'b#0'], parent: 'near-1' },
    { id: 'exact-2', tier: 'exact', representative: 'c#0', size: 2, members: ['c#0', 'h#0'], parent: 'near-1' },
    // a and c both have 3 pairs at the near tier or stricter: the earlier wins.
    { id: 'near-1', tier: 'near', representative: 'a#0', size: 4, members: ['a#0', 'b#0', 'c#0', 'h#0'], parent: 'similar-1' },
    // d joins the near group through similar pairs; f and g form a group of their own.
    { id: 'similar-1', tier: 'similar', representative: 'a#0', size: 5, members: ['a#0', 'b#0', 'c#0', 'd#0', 'h#0'], parent: null },
    { id: 'similar-2', tier: 'similar', representative: 'f#0', size: 2, members: ['f#0', 'g#0'], parent: null },
  ]);
  t.same(report.counts, {
    images: 8,
    hashed: 6,
    searched: 7,
    pairs: { exact: 2, near: 4, similar: 4 },
    listed: { exact: 2, near: 4, similar: 4 },
    groups: { exact: 2, near: 1, similar: 2 },
  });
  t.same(report.thresholds, { nearHamming: 8, similarCosine: 0.9, k: 10 });
  t.equal(report.truncated, false);
  t.same(Object.keys(report.images).sort(), ['a#0', 'b#0', 'c#0', 'd#0', 'f#0', 'g#0', 'h#0'], 'e is in no group');
  t.same(report.images['h#0'], { canvasId: 'https://example.org/canvas/h', imageIndex: 0, manifestId: 'https://example.org/manifest/m', phash: HF });
  t.same(JSON.parse(JSON.stringify(report)), report, 'plain JSON');
});

t.test('thresholds move pairs between tiers', async (t) => {
  // Within 3 bits, a-c (4 bits) is no longer near: with cosine 0.96 it becomes similar; a-h (no vector) is nothing.
  const tight = await findDuplicates(points, { nearHamming: 3, similarCosine: 0.9 });
  t.same(
    tight.pairs.filter((p) => p.tier !== 'exact').map((p) => [p.tier, p.a, p.b, p.hamming, p.cosine]),
    [
      ['similar', 'a#0', 'c#0', 4, 0.96],
      ['similar', 'b#0', 'c#0', 4, 0.96],
      ['similar', 'f#0', 'g#0', null, 0.96],
      ['similar', 'a#0', 'd#0', 64, 0.95],
      ['similar', 'b#0', 'd#0', 64, 0.95],
      ['similar', 'c#0', 'd#0', 60, 0.912],
    ],
  );
  t.same(tight.counts.groups, { exact: 2, near: 0, similar: 2 });
  t.equal(tight.groups.find((g) => g.id === 'exact-2')!.parent, 'similar-1', 'no near group: the similar one is the parent');
  // Hash tiers only.
  const hashesOnly = await findDuplicates(points, { nearHamming: 8, neighbours: false });
  t.same(hashesOnly.counts.pairs, { exact: 2, near: 4, similar: 0 });
  t.equal(hashesOnly.thresholds.k, null);
  t.equal(hashesOnly.counts.searched, 0);
  // The calibrated defaults: within 10 bits a-c (4 bits) stays near; at 0.985 only the identical a-b vectors would pass, and they are exact.
  t.same([DEFAULT_NEAR_HAMMING, DEFAULT_SIMILAR_COSINE], [10, 0.985]);
  const defaults = await findDuplicates(points);
  t.same(defaults.thresholds, { nearHamming: 10, similarCosine: 0.985, k: 10 });
  t.same(defaults.counts.pairs, { exact: 2, near: 4, similar: 0 });
  // Near tier off.
  const noNear = await findDuplicates(points, { nearHamming: 0, similarCosine: 0.99 });
  t.same(noNear.counts.pairs, { exact: 2, near: 0, similar: 0 });
});

t.test('maxPairs cuts the list, stricter tiers first, and leaves groups whole', async (t) => {
  const report = await findDuplicates(points, { nearHamming: 8, similarCosine: 0.9, maxPairs: 3 });
  t.same(
    report.pairs.map((p) => p.tier),
    ['exact', 'exact', 'near'],
  );
  t.equal(report.truncated, true);
  t.same(report.counts.pairs, { exact: 2, near: 4, similar: 4 });
  t.same(report.counts.listed, { exact: 2, near: 1, similar: 0 });
  t.equal(report.groups.length, 5);
});

t.test('exact groups list each member against the representative, and count every pair', async (t) => {
  const same = Array.from({ length: 5 }, (_, i) => point(`p${i}`, 'abcdef0123456789', undefined));
  const report = await findDuplicates(same, { neighbours: false });
  t.same(
    report.pairs.map((p) => `${p.a}-${p.b}`),
    ['p0#0-p1#0', 'p0#0-p2#0', 'p0#0-p3#0', 'p0#0-p4#0'],
  );
  t.equal(report.counts.pairs.exact, 10, '5 x 4 / 2');
  t.equal(report.counts.listed.exact, 4);
  t.equal(report.truncated, false);
  t.same(report.groups.map((g) => [g.id, g.size]), [['exact-1', 5]]);
  // Upper-case hex is the same hash.
  const mixed = await findDuplicates([point('x', 'ABCDEF0123456789', undefined), point('y', 'abcdef0123456789', undefined)], { neighbours: false });
  t.equal(mixed.counts.pairs.exact, 1);
});

t.test('a caller-supplied neighbour search: unknown ids, the point itself and hits beyond k are ignored', async (t) => {
  const calls: [string, number, number][] = [];
  const index: NeighbourFn = async (p, k, minScore) => {
    calls.push([p.id, k, minScore]);
    if (p.id === 'f#0') {
      return [
        { id: 'f#0', score: 1 },
        { id: 'elsewhere#0', score: 0.99 },
        { id: 'e#0', score: 0.97 },
        { id: 'g#0', score: 0.96 },
      ];
    }
    return [];
  };
  const report = await findDuplicates(points, { nearHamming: 8, similarCosine: 0.9, neighbours: index, k: 2, concurrency: 3 });
  t.equal(calls.length, 8, 'every image is searched, even without a vector');
  t.ok(calls.every(([, k, min]) => k === 3 && min === 0.9), 'k + 1 asked (the point itself may come back), with the threshold');
  // k = 2 counts f's hits after dropping itself and the unknown id: e and g.
  t.same(
    report.pairs.filter((p) => p.tier === 'similar').map((p) => [p.a, p.b, p.hamming, p.cosine]),
    [
      ['e#0', 'f#0', null, 0.97],
      ['f#0', 'g#0', null, 0.96],
    ],
  );
  const limited = await findDuplicates(points, { nearHamming: 8, similarCosine: 0.9, neighbours: index, k: 1 });
  t.same(limited.pairs.filter((p) => p.tier === 'similar').map((p) => p.b), ['f#0']);
});

t.test('exactNeighbours ranks by cosine and honours k and minScore', async (t) => {
  const vectors = points.filter((p) => p.vector).map((p) => ({ id: p.id, vector: p.vector! }));
  const search = exactNeighbours(vectors);
  const hits = await search(points[0]!, 4, 0.5);
  t.same(
    hits.map((h) => [h.id, Math.round(h.score * 1e6) / 1e6]),
    [
      ['a#0', 1],
      ['b#0', 1],
      ['c#0', 0.96],
      ['d#0', 0.95],
    ],
  );
  t.same((await search(points[0]!, 10, 0.955)).map((h) => h.id), ['a#0', 'b#0', 'c#0']);
  // A query not among the rows uses its own vector (normalised).
  t.same((await search(point('q', undefined, [0, 0, 0, 5]), 1, 0)).map((h) => h.id), ['f#0']);
});

t.test('collectionNeighbours asks the collection with the limit, threshold and the point left out', async (t) => {
  const asked: unknown[] = [];
  const stored = Float32Array.from([0, 1]);
  const collection = {
    async get(id: string) {
      return id === 'x' ? { id, vector: stored, payload: { canvasId: 'c', imageIndex: 0, manifestId: 'm' } } : undefined;
    },
    async search(vector: Float32Array, opts?: unknown) {
      asked.push([Array.from(vector), opts]);
      return [{ id: 'y', score: 0.93, payload: { canvasId: 'c2', imageIndex: 0, manifestId: 'm' } }];
    },
  };
  const search = collectionNeighbours(collection, { filter: { manifestId: 'm' } });
  t.same(await search({ id: 'x', payload: { canvasId: 'c', imageIndex: 0, manifestId: 'm' } }, 11, 0.9), [{ id: 'y', score: 0.93 }]);
  t.same(asked, [[[0, 1], { limit: 11, minScore: 0.9, excludeIds: ['x'], filter: { manifestId: 'm' } }]], 'the stored vector, fetched by id');
  t.same(await search({ id: 'gone', payload: { canvasId: 'c', imageIndex: 0, manifestId: 'm' } }, 11, 0.9), [], 'no vector anywhere: no neighbours');
});

t.test('bad input is a validation error', async (t) => {
  const rejects = async (p: Promise<unknown>, pattern: RegExp) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(err instanceof LoupeError && err.code === 'LOUPE_ERR_VALIDATION' && pattern.test(err.message), String(err));
  };
  await rejects(findDuplicates([point('a', 'xyz', undefined)]), /not 16 hex digits/);
  await rejects(findDuplicates([point('a', H0, undefined), point('a', H0, undefined)]), /appears twice/);
  await rejects(findDuplicates([], { nearHamming: 64 }), /nearHamming/);
  await rejects(findDuplicates([], { similarCosine: 1.5 }), /similarCosine/);
  await rejects(findDuplicates([], { k: 0 }), /k must be/);
  const many = Array.from({ length: 10_001 }, (_, i) => point(`p${i}`, undefined, [1]));
  await rejects(findDuplicates(many), /too many to compare pair by pair/);
});

t.test('CSV: one RFC 4180 row per pair, fields with commas, quotes or line breaks quoted', async (t) => {
  t.equal(csvField('plain'), 'plain');
  t.equal(csvField('a,b'), '"a,b"');
  t.equal(csvField('say "hi"'), '"say ""hi"""');
  t.equal(csvField('two\nlines'), '"two\nlines"');
  t.equal(csvField('cr\rhere'), '"cr\rhere"');
  t.equal(csvField(null), '');
  t.equal(csvField(0.5), '0.5');
  t.equal(csvField(-0.25), '-0.25', 'numbers are never touched');
  t.equal(csvField('=HYPERLINK("http://evil")'), `"'=HYPERLINK(""http://evil"")"`, 'a text a spreadsheet would run is defused');
  t.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  t.equal(toCsv(['x', 'y'], [[1, 'a,b']]), 'x,y\r\n1,"a,b"\r\n');

  const odd = [
    point('a', H0, undefined, { canvasId: 'https://example.org/iiif/c1/full/0,0,100,100', manifestId: 'https://example.org/m "1"' }),
    point('b', H0, undefined, { canvasId: 'https://example.org/c2', manifestId: 'line\nbreak' }),
    point('c', '0000000000000003', undefined, { canvasId: 'https://example.org/c3', manifestId: 'm3' }),
  ];
  const csv = duplicatesCsv(await findDuplicates(odd, { nearHamming: 4, neighbours: false }));
  t.equal(
    csv,
    [
      'tier,id_a,id_b,canvas_a,canvas_b,manifest_a,manifest_b,hamming,cosine',
      'exact,a#0,b#0,"https://example.org/iiif/c1/full/0,0,100,100",https://example.org/c2,"https://example.org/m ""1""","line\nbreak",0,',
      'near,a#0,c#0,"https://example.org/iiif/c1/full/0,0,100,100",https://example.org/c3,"https://example.org/m ""1""",m3,2,',
      'near,b#0,c#0,https://example.org/c2,https://example.org/c3,"line\nbreak",m3,2,',
      '',
    ].join('\r\n'),
  );
});
