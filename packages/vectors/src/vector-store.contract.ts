import type { Test } from 'tap';
import { seededRandom } from '@loupe/datasets';
import type { SearchHit, VectorCollection, VectorPoint, VectorStore } from './port.js';

const DIMS = 16;
const MANIFEST_A = 'https://example.org/iiif/coins/manifest';
const MANIFEST_B = 'https://example.org/iiif/maps/manifest';
const CC0 = 'https://creativecommons.org/publicdomain/zero/1.0/';
const NOC = 'http://rightsstatements.org/vocab/NoC-US/1.0/';

function unit(values: readonly number[]): Float32Array {
  const v = Float32Array.from(values);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** A deterministic pseudo-random unit vector. */
function randomUnit(seed: number, dims = DIMS): Float32Array {
  const random = seededRandom(seed);
  return unit(Array.from({ length: dims }, () => random() - 0.5));
}

function point(n: number, over: Partial<VectorPoint['payload']> = {}, vector = randomUnit(n)): VectorPoint {
  const canvasId = `${over.manifestId ?? MANIFEST_A}/canvas/${n}`;
  return {
    id: `${canvasId}#0`,
    vector,
    payload: { canvasId, imageIndex: 0, manifestId: MANIFEST_A, rights: CC0, collections: ['https://example.org/iiif/all'], phash: n.toString(16).padStart(16, '0'), ...over },
  };
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/** Exact nearest neighbours, the reference for every search below. */
function exact(points: readonly VectorPoint[], q: Float32Array, k: number): string[] {
  return [...points]
    .map((p) => ({ id: p.id, s: cosine(p.vector, q) }))
    .sort((x, y) => y.s - x.s)
    .slice(0, k)
    .map((x) => x.id);
}

/**
 * The behaviour every VectorStore adapter must have. `open` returns a store over empty storage
 * each time it is called; `reopen`, when given, opens the same storage again (persistence).
 */
export function vectorStoreContract(
  t: Test,
  name: string,
  open: () => Promise<VectorStore>,
  opts: { reopen?: (store: VectorStore) => Promise<VectorStore> } = {},
): Promise<unknown> {
  return t.test(`VectorStore contract: ${name}`, async (t) => {
    const fresh = async (t: Test, modelId = 'mobilenet-v2-features'): Promise<{ store: VectorStore; col: VectorCollection }> => {
      const store = await open();
      t.teardown(() => store.close());
      return { store, col: await store.collection({ modelId, modelVersion: '4.2.1', dims: DIMS }) };
    };

    t.test('points come back with their payload; an upsert of the same id replaces, never duplicates', async (t) => {
      const { col } = await fresh(t);
      const p = point(1);
      await col.upsert([p]);
      await col.upsert([p]);
      t.equal(await col.count(), 1);
      const got = await col.get(p.id);
      t.ok(got, 'found by id');
      t.same(got!.payload, p.payload);
      t.ok(got!.vector.every((v, i) => Math.abs(v - p.vector[i]!) < 1e-6), 'the vector, to float32 precision');
      const moved = point(1, { rights: NOC }, randomUnit(99));
      await col.upsert([moved]);
      t.equal(await col.count(), 1);
      t.equal((await col.get(p.id))!.payload.rights, NOC, 'replaced');
      t.equal(await col.get('https://example.org/none#0'), undefined);
      await col.delete([p.id, 'https://example.org/none#0']);
      t.equal(await col.count(), 0, 'deleted; an unknown id is no error');
    });

    t.test('search: nearest by cosine, best first, scores are cosines, the same as exact search', async (t) => {
      const { col } = await fresh(t);
      const points = Array.from({ length: 200 }, (_, i) => point(i + 1));
      await col.upsert(points);
      t.equal(await col.count(), 200);
      for (const seed of [1001, 1002, 1003]) {
        const q = randomUnit(seed);
        const hits = await col.search(q, { limit: 10 });
        t.equal(hits.length, 10);
        t.same(hits.map((h) => h.id), exact(points, q, 10), 'the 10 nearest (a small collection is searched exactly)');
        for (const h of hits) {
          const p = points.find((x) => x.id === h.id)!;
          t.ok(Math.abs(h.score - cosine(p.vector, q)) < 1e-4, `score ${h.score} is the cosine`);
        }
        t.ok(hits.every((h, i) => i === 0 || hits[i - 1]!.score >= h.score), 'best first');
      }
      const self = await col.search(points[7]!.vector, { limit: 1 });
      t.equal(self[0]!.id, points[7]!.id);
      t.ok(Math.abs(self[0]!.score - 1) < 1e-4, 'an image is its own best match, at 1');
      const others = await col.search(points[7]!.vector, { limit: 3, excludeIds: [points[7]!.id] });
      t.notOk(others.some((h) => h.id === points[7]!.id), 'excludeIds');
      const close = await col.search(points[7]!.vector, { limit: 50, minScore: 0.5 });
      t.ok(close.every((h) => h.score >= 0.5) && close.length >= 1, 'minScore');
    });

    t.test('paging: offset continues where the last page stopped', async (t) => {
      const { col } = await fresh(t);
      const points = Array.from({ length: 60 }, (_, i) => point(i + 1));
      await col.upsert(points);
      const q = randomUnit(7);
      const all = await col.search(q, { limit: 30 });
      const page1 = await col.search(q, { limit: 10 });
      const page2 = await col.search(q, { limit: 10, offset: 10 });
      const page3 = await col.search(q, { limit: 10, offset: 20 });
      t.same([...page1, ...page2, ...page3].map((h) => h.id), all.map((h) => h.id));
    });

    t.test('filters: manifest, collection, rights and concept, alone and together, lists as any-of', async (t) => {
      const { col } = await fresh(t);
      const points = [
        ...Array.from({ length: 20 }, (_, i) => point(i + 1, { concepts: i % 2 ? ['http://vocab.getty.edu/aat/300037222'] : [] })),
        ...Array.from({ length: 20 }, (_, i) => point(i + 101, { manifestId: MANIFEST_B, rights: NOC, collections: ['https://example.org/iiif/all', 'https://example.org/iiif/maps'] })),
      ];
      await col.upsert(points);
      const q = randomUnit(5);
      const only = async (filter: Parameters<VectorCollection['search']>[1]): Promise<SearchHit[]> => col.search(q, { limit: 100, ...filter });
      t.equal((await only({ filter: { manifestId: MANIFEST_B } })).length, 20);
      t.ok((await only({ filter: { manifestId: MANIFEST_B } })).every((h) => h.payload.manifestId === MANIFEST_B));
      t.equal((await only({ filter: { manifestId: [MANIFEST_A, MANIFEST_B] } })).length, 40);
      t.equal((await only({ filter: { collection: 'https://example.org/iiif/maps' } })).length, 20);
      t.equal((await only({ filter: { collection: 'https://example.org/iiif/all' } })).length, 40);
      t.equal((await only({ filter: { rights: CC0 } })).length, 20);
      t.equal((await only({ filter: { concept: 'http://vocab.getty.edu/aat/300037222' } })).length, 10);
      t.equal((await only({ filter: { rights: NOC, concept: 'http://vocab.getty.edu/aat/300037222' } })).length, 0, 'fields combine with and');
      t.equal(await col.count({ manifestId: MANIFEST_B }), 20);
      const filtered = await only({ filter: { rights: CC0 }, limit: 5 });
      t.same(filtered.map((h) => h.id), exact(points.filter((p) => p.payload.rights === CC0), q, 5), 'the nearest among the filtered, not filtered nearest');
    });

    t.test('scroll reads every point once, in batches, filter applied', async (t) => {
      const { col } = await fresh(t);
      const points = Array.from({ length: 45 }, (_, i) => point(i + 1, i < 15 ? { manifestId: MANIFEST_B } : {}));
      await col.upsert(points);
      const seen: string[] = [];
      for await (const batch of col.scroll({ batch: 10 })) {
        t.ok(batch.length <= 10);
        seen.push(...batch.map((p) => p.id));
      }
      t.same([...seen].sort(), points.map((p) => p.id).sort());
      let filtered = 0;
      for await (const batch of col.scroll({ batch: 4, filter: { manifestId: MANIFEST_B } })) filtered += batch.length;
      t.equal(filtered, 15);
    });

    t.test('one collection per model and version; sizes are checked', async (t) => {
      const { store, col } = await fresh(t);
      await col.upsert([point(1)]);
      const other = await store.collection({ modelId: 'mobilenet-v2-features', modelVersion: '5.0.0', dims: DIMS });
      t.equal(await other.count(), 0, 'another version is another collection');
      const clip = await store.collection({ modelId: 'clip-vit-b32-image', modelVersion: '1', dims: 8 });
      await clip.upsert([point(1, {}, randomUnit(1, 8))]);
      t.equal(await clip.count(), 1);
      t.same(
        (await store.collections()).map((c) => `${c.modelId}@${c.modelVersion}:${c.dims}`).sort(),
        ['clip-vit-b32-image@1:8', 'mobilenet-v2-features@4.2.1:16', 'mobilenet-v2-features@5.0.0:16'],
      );
      await t.rejects(store.collection({ modelId: 'clip-vit-b32-image', modelVersion: '1', dims: 512 }), { code: 'LOUPE_ERR_VALIDATION', message: /8/ });
      await t.rejects(clip.upsert([point(2)]), { code: 'LOUPE_ERR_VALIDATION', message: /16.*8|8.*16/ });
      t.equal(await clip.count(), 1, 'nothing half-written');
    });

    if (opts.reopen) {
      const reopen = opts.reopen;
      t.test('points and the index survive closing and opening again', async (t) => {
        const store = await open();
        const col = await store.collection({ modelId: 'm', modelVersion: '1', dims: DIMS });
        const points = Array.from({ length: 100 }, (_, i) => point(i + 1));
        await col.upsert(points);
        const q = randomUnit(77);
        const before = await col.search(q, { limit: 5 });
        const again = await reopen(store);
        t.teardown(() => again.close());
        const col2 = await again.collection({ modelId: 'm', modelVersion: '1', dims: DIMS });
        t.equal(await col2.count(), 100);
        t.same((await col2.search(q, { limit: 5 })).map((h) => h.id), before.map((h) => h.id));
        t.same((await again.collections()).map((c) => c.modelId), ['m']);
      });
    }
  });
}
