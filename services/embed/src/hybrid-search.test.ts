// Reciprocal rank fusion's arithmetic and the payload filter that canvases found by words pass.
// The whole search (words, image, both) over real stores and HTTP is test/hybrid-search.test.ts.
import t from 'tap';
import { RRF_K, fuseRankings, payloadMatches, rankingDepth } from './hybrid-search.js';

const at = (...names: string[]) => names.map((n) => ({ canvasId: `https://x.example/c/${n}`, imageIndex: 0 }));
const id = (n: string) => `https://x.example/c/${n}#0`;
const ONE = { text: 1, concept: 1, visual: 1 };

t.test('each ranking adds weight / (k + rank); a canvas two rankings agree on comes first', async (t) => {
  const fused = fuseRankings({ text: at('a', 'b'), visual: at('b', 'c') }, ONE);
  t.same(fused.map((f) => f.id), [id('b'), id('a'), id('c')]);
  t.equal(fused[0]!.score, 1 / (RRF_K + 2) + 1 / (RRF_K + 1));
  t.equal(fused[1]!.score, 1 / (RRF_K + 1));
  t.same(fused[0]!.ranks, { text: 2, visual: 1 });
  t.same(fused[2]!.ranks, { visual: 2 });
});

t.test('weights: 0 leaves a ranking out, more makes it count more', async (t) => {
  t.same(fuseRankings({ text: at('a'), visual: at('b') }, { ...ONE, visual: 0 }).map((f) => f.id), [id('a')]);
  const heavy = fuseRankings({ text: at('a', 'b'), visual: at('b', 'a') }, { ...ONE, visual: 2 });
  t.same(heavy.map((f) => f.id), [id('b'), id('a')]);
  t.equal(heavy[0]!.score, 1 / (RRF_K + 2) + 2 / (RRF_K + 1));
  t.same(fuseRankings({ text: at('a') }, ONE, 0)[0]!.score, 1, 'k is a parameter');
});

t.test('ties go to the better single rank, then the id; a canvas twice in a ranking counts once', async (t) => {
  t.same(fuseRankings({ text: at('z', 'y'), concept: at('y', 'z') }, ONE).map((f) => f.id), [id('y'), id('z')], 'equal scores: by id');
  t.same(fuseRankings({ text: at('a', 'a', 'b') }, ONE).map((f) => [f.id, f.ranks.text]), [[id('a'), 1], [id('b'), 3]]);
  t.same(fuseRankings({}, ONE), []);
});

t.test('payload filters: every field given must match, a list matches any', async (t) => {
  const payload = { canvasId: 'c', imageIndex: 0, manifestId: 'm', collections: ['k1', 'k2'], rights: 'r', concepts: ['ship'] };
  t.ok(payloadMatches({}, payload));
  t.ok(payloadMatches({ manifestId: ['x', 'm'], collection: 'k2', rights: 'r', concept: 'ship' }, payload));
  t.notOk(payloadMatches({ collection: 'k3' }, payload));
  t.notOk(payloadMatches({ rights: 'r' }, { canvasId: 'c', imageIndex: 0, manifestId: 'm' }), 'a payload without rights fails a rights filter');
});

t.test('each ranking is read deeper than the page', async (t) => {
  t.equal(rankingDepth(20, 0), 100);
  t.equal(rankingDepth(100, 200), 600);
  t.equal(rankingDepth(100, 10_000), 1000);
});
