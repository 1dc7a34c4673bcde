import type { Test } from 'tap';
import type { EmbeddingRecord, EmbeddingStore } from './store.js';

const MANIFEST = 'https://example.org/iiif/coins/manifest';
const canvas = (n: number): string => `https://example.org/iiif/coins/canvas/${n}`;

function unit(...values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values, (v) => v / norm);
}

function record(n: number, over: Partial<EmbeddingRecord> = {}): EmbeddingRecord {
  return {
    manifestId: MANIFEST,
    canvasId: canvas(n),
    imageIndex: 0,
    modelId: 'mobilenet-v2-features',
    modelVersion: '1',
    vector: unit(1, n, 2),
    phash: (0x1000 + n).toString(16).padStart(16, '0'),
    ...over,
  };
}

/**
 * The behaviour every EmbeddingStore adapter must have. `open` returns a store over empty storage
 * each time it is called; each case closes the store it opened.
 */
export function embeddingStoreContract(t: Test, name: string, open: () => Promise<EmbeddingStore>): Promise<unknown> {
  return t.test(`EmbeddingStore contract: ${name}`, async (t) => {
    const fresh = async (t: Test): Promise<EmbeddingStore> => {
      const store = await open();
      t.teardown(() => store.close());
      return store;
    };

    t.test('a vector comes back bit for bit, with its model, version and hash', async (t) => {
      const store = await fresh(t);
      const rec = record(3, { vector: Float32Array.from([0.6, -0.8, 1e-7, -0]) });
      t.equal(await store.put(rec), 'inserted');
      const got = await store.get({ canvasId: canvas(3), imageIndex: 0, modelId: rec.modelId });
      t.ok(got);
      t.same(Array.from(got!.vector), [0.6000000238418579, -0.800000011920929, 1.0000000116860974e-7, -0]);
      t.match(got, { manifestId: MANIFEST, modelVersion: '1', phash: rec.phash });
      t.match(got!.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      t.equal(await store.get({ canvasId: canvas(3), imageIndex: 1, modelId: rec.modelId }), undefined);
    });

    t.test('a redelivered write changes nothing; a new version replaces the row', async (t) => {
      const store = await fresh(t);
      t.equal(await store.put(record(1)), 'inserted');
      t.equal(await store.put(record(1)), 'unchanged');
      t.equal(await store.count({}), 1);
      t.equal(await store.put(record(1, { modelVersion: '2', vector: unit(0, 0, 1) })), 'replaced');
      t.equal(await store.count({}), 1);
      const got = await store.get({ canvasId: canvas(1), imageIndex: 0, modelId: 'mobilenet-v2-features' });
      t.equal(got?.modelVersion, '2');
      t.same(Array.from(got!.vector), [0, 0, 1]);
    });

    t.test('models are kept apart; query filters and pages in a stable order', async (t) => {
      const store = await fresh(t);
      for (const n of [3, 1, 2]) await store.put(record(n));
      await store.put(record(1, { modelId: 'clip-vit-b32-image', vector: unit(1, 1) }));
      await store.put(record(9, { manifestId: 'https://example.org/other/manifest' }));
      t.equal(await store.count({}), 5);
      t.equal(await store.count({ modelId: 'mobilenet-v2-features' }), 4);
      t.equal(await store.count({ manifestId: MANIFEST, modelId: 'mobilenet-v2-features' }), 3);
      const page1 = await store.query({ modelId: 'mobilenet-v2-features', limit: 2 });
      const page2 = await store.query({ modelId: 'mobilenet-v2-features', limit: 2, offset: 2 });
      t.same([...page1, ...page2].map((r) => r.canvasId), [canvas(1), canvas(2), canvas(3), canvas(9)]);
      const clip = await store.query({ modelId: 'clip-vit-b32-image' });
      t.equal(clip.length, 1);
      t.equal(clip[0]!.vector.length, 2);
    });

    t.test('bad records are refused with the reason', async (t) => {
      const store = await fresh(t);
      await t.rejects(store.put(record(1, { phash: 'xyz' })), { code: 'LOUPE_ERR_VALIDATION', message: /not 16 lower-case hex/ });
      await t.rejects(store.put(record(1, { vector: Float32Array.from([NaN, 1]) })), { code: 'LOUPE_ERR_VALIDATION', message: /not finite/ });
      await t.rejects(store.put(record(1, { vector: new Float32Array(0) })), { code: 'LOUPE_ERR_VALIDATION' });
      t.equal(await store.count({}), 0);
    });
  });
}
