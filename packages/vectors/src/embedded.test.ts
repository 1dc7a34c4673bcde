import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ClusteredVectors, exactKnn, recallAt } from '../bench/synthetic.js';
import type { VectorPoint, VectorStore } from './port.js';
import { vectorStoreContract } from './vector-store.contract.js';
import { collectionFolder, openEmbeddedVectorStore, type EmbeddedVectorStoreOptions } from './embedded/index.js';

const root = mkdtempSync(join(tmpdir(), 'loupe-vectors-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `s${++dirs}`);

// The contract, on a new folder each time; reopen closes the store and opens its folder again.
const storeDirs = new WeakMap<VectorStore, string>();
vectorStoreContract(
  t,
  'embedded (hnswlib-node + SQLite)',
  async () => {
    const dir = freshDir();
    const store = await openEmbeddedVectorStore({ dir });
    storeDirs.set(store, dir);
    return store;
  },
  {
    reopen: async (store) => {
      const dir = storeDirs.get(store)!;
      await store.close();
      return openEmbeddedVectorStore({ dir });
    },
  },
);

// Clustered test data (bench/synthetic.ts): small dimensions keep the file fast, clusters keep
// neighbourhoods meaningful so recall is a real measurement.
const DIMS = 96;
const gen = new ClusteredVectors({ dims: DIMS, clusters: 60, rank: 8, seed: 11 });
const MANIFESTS = ['https://example.org/iiif/m/0', 'https://example.org/iiif/m/1', 'https://example.org/iiif/m/2', 'https://example.org/iiif/m/3'];
const CC0 = 'https://creativecommons.org/publicdomain/zero/1.0/';
const point = (i: number, id = `https://example.org/iiif/canvas/${i}#0`): VectorPoint => ({
  id,
  vector: gen.vector(i, new Float32Array(DIMS)),
  payload: {
    canvasId: id.slice(0, -2),
    imageIndex: 0,
    manifestId: MANIFESTS[i % 4]!,
    ...(i % 10 === 0 ? { rights: CC0 } : {}),
  },
});
const N = 5000;
const points = Array.from({ length: N }, (_, i) => point(i));
const matrix = new Float32Array(N * DIMS);
points.forEach((p, i) => matrix.set(p.vector, i * DIMS));
const queries = Array.from({ length: 60 }, (_, i) => gen.vector(i, new Float32Array(DIMS), 1));
const truth = exactKnn(matrix, N, DIMS, queries, 10);
const rowOf = new Map(points.map((p, i) => [p.id, i]));
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

async function openCollection(dir: string, opts: Partial<EmbeddedVectorStoreOptions> = {}) {
  const store = await openEmbeddedVectorStore({ dir, autosaveMs: 0, ...opts });
  const col = await store.collection({ modelId: 'test-model', modelVersion: '1', dims: DIMS });
  return { store, col };
}

async function upsertAll(col: { upsert(p: readonly VectorPoint[]): Promise<void> }, list: readonly VectorPoint[], batch = 1000) {
  for (let i = 0; i < list.length; i += batch) await col.upsert(list.slice(i, i + batch));
}

t.test('above the exact cut-off the graph is searched: recall@10 >= 0.95 against exact, scores are cosines', async (t) => {
  const { store, col } = await openCollection(freshDir());
  t.teardown(() => store.close());
  await upsertAll(col, points);
  t.equal(await col.count(), N);
  t.ok(col.stats().indexed >= N, 'every point is in the graph (it grew past its first 1024 slots)');
  const got: number[][] = [];
  for (const q of queries) {
    const hits = await col.search(q, { limit: 10 });
    got.push(hits.map((h) => rowOf.get(h.id)!));
    for (const h of hits) t.ok(Math.abs(h.score - cosine(points[rowOf.get(h.id)!]!.vector, q)) < 1e-5, 'score is the cosine');
  }
  const recall = recallAt(10, truth, got);
  t.ok(recall >= 0.95, `recall@10 ${recall}`);
  // An image is its own nearest neighbour, at 1.
  const self = await col.search(points[1234]!.vector, { limit: 1 });
  t.equal(self[0]!.id, points[1234]!.id);
  t.ok(Math.abs(self[0]!.score - 1) < 1e-5);
  const notSelf = await col.search(points[1234]!.vector, { limit: 5, excludeIds: [points[1234]!.id] });
  t.equal(notSelf.length, 5);
  t.notOk(notSelf.some((h) => h.id === points[1234]!.id), 'excludeIds on the graph path');
  // Paging on the graph path continues where the last page stopped.
  const q = queries[3]!;
  const all = await col.search(q, { limit: 30 });
  const pages = [...(await col.search(q, { limit: 10 })), ...(await col.search(q, { limit: 10, offset: 10 })), ...(await col.search(q, { limit: 10, offset: 20 }))];
  t.same(pages.map((h) => h.id), all.map((h) => h.id));
  const above = await col.search(q, { limit: 100, minScore: all[4]!.score });
  t.same(above.map((h) => h.id), all.slice(0, 5).map((h) => h.id), 'minScore keeps exactly the hits at or above it');
});

t.test('filtered search returns the nearest among the filtered, exactly for small selections and through the graph for wide ones', async (t) => {
  const rights = points.map((p, i) => i).filter((i) => points[i]!.payload.rights === CC0);
  const manifest1 = points.map((p, i) => i).filter((i) => points[i]!.payload.manifestId === MANIFESTS[1]);
  const exactFiltered = (rows: number[]) => exactKnn(matrix, N, DIMS, queries, 10, (r) => rows.includes(r));
  const truthRights = exactFiltered(rights);
  const truthManifest = exactFiltered(manifest1);
  // Default options: 500 CC0 points are searched exactly (at most exactFilteredBelow): the same ids as exact.
  {
    const { store, col } = await openCollection(freshDir());
    await upsertAll(col, points);
    t.equal(await col.count({ rights: CC0 }), 500);
    for (let i = 0; i < 10; i++) {
      const hits = await col.search(queries[i]!, { limit: 10, filter: { rights: CC0 } });
      t.same(hits.map((h) => rowOf.get(h.id)), truthRights[i], `query ${i}: exact over the 500 filtered points`);
    }
    await store.close();
  }
  // exactFilteredBelow 100: the 1,250 points of a manifest go through hnswlib's filter callback.
  {
    const { store, col } = await openCollection(freshDir(), { exactFilteredBelow: 100 });
    t.teardown(() => store.close());
    await upsertAll(col, points);
    const got: number[][] = [];
    for (const q of queries) {
      const hits = await col.search(q, { limit: 10, filter: { manifestId: MANIFESTS[1] } });
      t.ok(hits.every((h) => h.payload.manifestId === MANIFESTS[1]));
      got.push(hits.map((h) => rowOf.get(h.id)!));
    }
    const recall = recallAt(10, truthManifest, got);
    t.ok(recall >= 0.95, `filtered graph recall@10 ${recall}`);
    // Two fields combine with and: 250 points are CC0 in manifest 2 (i = 10 mod 20), still above 100: the graph.
    const both = await col.search(queries[0]!, { limit: 200, filter: { manifestId: MANIFESTS[2], rights: CC0 } });
    t.equal(both.length, 200);
    t.ok(both.every((h) => h.payload.manifestId === MANIFESTS[2] && h.payload.rights === CC0), 'every hit matches both fields');
    t.equal(await col.count({ manifestId: MANIFESTS[2], rights: CC0 }), 250);
    t.equal(await col.count({ manifestId: MANIFESTS[1], rights: CC0 }), 0, 'i = 1 mod 4 is never 0 mod 10');
    let scrolled = 0;
    for await (const batch of col.scroll({ filter: { manifestId: [MANIFESTS[0]!, MANIFESTS[1]!] }, batch: 300 })) scrolled += batch.length;
    t.equal(scrolled, 2500);
  }
});

t.test('scroll reads stored vectors back exactly, in one Float32Array per batch, in the same order every time', async (t) => {
  const { store, col } = await openCollection(freshDir());
  t.teardown(() => store.close());
  await upsertAll(col, points.slice(0, 700));
  const order: string[] = [];
  for await (const batch of col.scroll({ batch: 256 })) {
    t.ok(batch.every((p) => p.vector.buffer === batch[0]!.vector.buffer), 'one buffer per batch');
    for (const p of batch) {
      order.push(p.id);
      t.same(Array.from(p.vector), Array.from(points[rowOf.get(p.id)!]!.vector));
    }
  }
  t.equal(order.length, 700);
  const again: string[] = [];
  for await (const batch of col.scroll({ batch: 100 })) again.push(...batch.map((p) => p.id));
  t.same(again, order, 'stable order');
});

t.test('a missing index is rebuilt from the stored vectors on open; the rebuilt index is saved again', async (t) => {
  const dir = freshDir();
  let { store, col } = await openCollection(dir);
  await upsertAll(col, points.slice(0, 3000));
  const before = await col.search(queries[0]!, { limit: 10 });
  await store.close();
  const folder = join(dir, collectionFolder('test-model', '1'));
  const files = readdirSync(folder).filter((f) => f.startsWith('hnsw-'));
  t.same(files, ['hnsw-3.bin'], 'close saved the index of generation 3 (three upsert batches)');
  rmSync(join(folder, files[0]!));
  ({ store, col } = await openCollection(dir));
  t.equal(col.stats().opened.index, 'rebuilt');
  t.equal(col.stats().opened.replayed, 3000);
  t.same((await col.search(queries[0]!, { limit: 10 })).map((h) => h.id), before.map((h) => h.id), 'the same graph again (same seed, same order)');
  await store.close();
  t.ok(existsSync(join(folder, 'hnsw-3.bin')));
  ({ store, col } = await openCollection(dir));
  t.equal(col.stats().opened.index, 'loaded', 'then loaded as is');
  t.equal(col.stats().opened.replayed, 0);
  await store.close();
});

t.test('an index older than the stored points is caught up on open: new points found, deleted ones gone', async (t) => {
  const dir = freshDir();
  let { store, col } = await openCollection(dir);
  await upsertAll(col, points.slice(0, 3000));
  await col.flush();
  const folder = join(dir, collectionFolder('test-model', '1'));
  copyFileSync(join(folder, 'hnsw-3.bin'), join(root, 'old-index.bin'));
  await col.upsert(points.slice(3000, 3400));
  await col.delete(points.slice(0, 50).map((p) => p.id));
  await store.close();
  // Put the generation-3 index back in place of the current one: as if the last saves never happened.
  for (const f of readdirSync(folder)) if (f.startsWith('hnsw-')) rmSync(join(folder, f));
  copyFileSync(join(root, 'old-index.bin'), join(folder, 'hnsw-3.bin'));
  ({ store, col } = await openCollection(dir));
  t.teardown(() => store.close());
  t.equal(col.stats().opened.index, 'caught-up');
  t.equal(col.stats().opened.replayed, 400, 'only the 400 points written after generation 3');
  t.equal(await col.count(), 3350);
  const added = await col.search(points[3210]!.vector, { limit: 1 });
  t.equal(added[0]!.id, points[3210]!.id, 'a point added after the old save is found');
  for (const gone of points.slice(0, 50)) {
    const hits = await col.search(gone.vector, { limit: 5 });
    t.notOk(hits.some((h) => h.id === gone.id), `${gone.id} stays deleted`);
  }
});

t.test('after a crash (SIGKILL before close) nothing acknowledged is lost', async (t) => {
  const dir = freshDir();
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=loupe-source', fileURLToPath(new URL('./embedded/crash-writer.test-support.ts', import.meta.url)), dir, String(DIMS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  t.equal(signal, 'SIGKILL', 'the writer died without closing');
  const report = JSON.parse(out.trim().split('\n').pop()!) as { acknowledged: boolean; stats: { points: number; savedGeneration: number; generation: number } };
  t.ok(report.acknowledged);
  t.equal(report.stats.points, 3000);
  const store = await openEmbeddedVectorStore({ dir, autosaveMs: 0 });
  t.teardown(() => store.close());
  const col = await store.collection({ modelId: 'crash', modelVersion: '1', dims: DIMS });
  t.equal(await col.count(), 3000, '2,500 + 600 - 100');
  t.equal(col.stats().opened.index, 'caught-up', 'the index saved part-way was caught up');
  t.equal(col.stats().generation, report.stats.generation);
  const crashGen = new ClusteredVectors({ dims: DIMS, clusters: 40, seed: 7 });
  const late = crashGen.vector(2950, new Float32Array(DIMS));
  t.equal((await col.search(late, { limit: 1 }))[0]!.id, 'https://example.org/crash/canvas/2950#0', 'a point written after the last save');
  t.equal(await col.get('https://example.org/crash/canvas/5#0'), undefined, 'a deletion after the last save');
  const early = crashGen.vector(5, new Float32Array(DIMS));
  t.notOk((await col.search(early, { limit: 10 })).some((h) => h.id === 'https://example.org/crash/canvas/5#0'), 'and not in search either');
  t.equal((await col.get('https://example.org/crash/canvas/200#0'))!.payload.rights, 'https://creativecommons.org/publicdomain/zero/1.0/', 'a payload change after the last save');
});

t.test('concurrent upserts from two callers lose no point', async (t) => {
  const { store, col } = await openCollection(freshDir());
  t.teardown(() => store.close());
  const a = points.slice(0, 2400);
  const b = points.slice(2400, 4800);
  // Interleaved batches of both callers, plus a third writing ids the others also write.
  await Promise.all([upsertAll(col, a, 300), upsertAll(col, b, 400), upsertAll(col, points.slice(2000, 2800), 100)]);
  t.equal(await col.count(), 4800);
  let seen = 0;
  const ids = new Set<string>();
  for await (const batch of col.scroll({ batch: 1000 })) for (const p of batch) (seen++, ids.add(p.id));
  t.equal(seen, 4800);
  t.equal(ids.size, 4800);
  for (const i of [0, 1199, 2399, 2400, 3600, 4799]) t.equal((await col.search(points[i]!.vector, { limit: 1 }))[0]!.id, points[i]!.id, `point ${i} is its own best match`);
});

t.test('deleting then adding an id again works, and reuses the graph slot', async (t) => {
  const { store, col } = await openCollection(freshDir());
  t.teardown(() => store.close());
  await upsertAll(col, points.slice(0, 2500));
  const indexed = col.stats().indexed;
  const victim = points[100]!;
  await col.delete([victim.id]);
  t.equal(await col.count(), 2499);
  t.equal(await col.get(victim.id), undefined);
  t.notOk((await col.search(victim.vector, { limit: 10 })).some((h) => h.id === victim.id), 'gone from search');
  await col.upsert([victim]);
  t.equal(await col.count(), 2500);
  const back = await col.search(victim.vector, { limit: 1 });
  t.equal(back[0]!.id, victim.id, 'found again');
  t.ok(Math.abs(back[0]!.score - 1) < 1e-5);
  // A new id after a delete takes the freed slot: churn does not grow the graph.
  await col.delete([points[7]!.id]);
  await col.upsert([point(4999, 'https://example.org/iiif/other#0')]);
  t.equal(col.stats().indexed, indexed, 'graph size unchanged');
  t.equal((await col.search(points[4999]!.vector, { limit: 1 }))[0]!.id, 'https://example.org/iiif/other#0');
  t.notOk((await col.search(points[7]!.vector, { limit: 10 })).some((h) => h.id === points[7]!.id));
  // The same point again is a no-op; a moved vector moves.
  await col.upsert([victim]);
  const moved = { ...victim, vector: points[4000]!.vector };
  await col.upsert([moved]);
  t.equal((await col.search(points[4000]!.vector, { limit: 1, excludeIds: [] }))[0]!.id, victim.id, 'the vector was replaced in the graph');
});

t.test('errors: wrong sizes name both; bad search options; a closed store', async (t) => {
  const { store, col } = await openCollection(freshDir());
  await col.upsert([points[0]!]);
  await t.rejects(col.upsert([{ ...points[1]!, vector: new Float32Array(12).fill(0.1) }]), { code: 'LOUPE_ERR_VALIDATION', message: /12.*96/ });
  await t.rejects(col.upsert([points[2]!, { ...points[3]!, vector: new Float32Array(DIMS).fill(Number.NaN) }]), { code: 'LOUPE_ERR_VALIDATION' });
  t.equal(await col.count(), 1, 'a batch with a bad point writes nothing');
  await t.rejects(col.search(new Float32Array(95)), { code: 'LOUPE_ERR_VALIDATION', message: /95.*96/ });
  await t.rejects(col.search(points[0]!.vector, { limit: 1001 }), { code: 'LOUPE_ERR_VALIDATION' });
  await t.rejects(col.search(points[0]!.vector, { limit: 10, offset: 9991 }), { code: 'LOUPE_ERR_VALIDATION' });
  await t.rejects(store.collection({ modelId: 'test-model', modelVersion: '1', dims: 512 }), { code: 'LOUPE_ERR_VALIDATION', message: /96.*512/ });
  await store.close();
  await t.rejects(col.count(), { code: 'LOUPE_ERR_STORE' });
  await t.rejects(store.collection({ modelId: 'x', modelVersion: '1', dims: 4 }), { code: 'LOUPE_ERR_STORE' });
});

t.test('on disk: a manifest of specs, one safely named folder per collection', async (t) => {
  t.not(collectionFolder('clip/vit:b32', '1'), collectionFolder('clip:vit/b32', '1'), 'different ids never share a folder');
  t.not(collectionFolder('CLIP', '1'), collectionFolder('clip', '1'), 'nor ids differing in case (case-insensitive file systems)');
  t.match(collectionFolder('../../etc/passwd', '1'), /^[a-z0-9._@-]+$/, 'no separators, no leading dots');
  t.match(collectionFolder('mobilenet-v2-features', '4.2.1'), /^mobilenet-v2-features@4\.2\.1-[0-9a-f]{10}$/);
  const dir = freshDir();
  const store = await openEmbeddedVectorStore({ dir });
  await store.collection({ modelId: 'clip/vit:b32', modelVersion: '1', dims: 8, quantization: 'int8' });
  await store.close();
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as unknown;
  t.same(manifest, { format: 1, collections: [{ spec: { modelId: 'clip/vit:b32', modelVersion: '1', dims: 8, quantization: 'int8' }, folder: collectionFolder('clip/vit:b32', '1') }] });
  t.same(readdirSync(join(dir, collectionFolder('clip/vit:b32', '1'))).filter((f) => f.endsWith('.sqlite')), ['points.sqlite']);
});

t.test('filters follow payload changes and deletes once the term index is built', async (t) => {
  const { store, col } = await openCollection(freshDir());
  t.teardown(() => store.close());
  await col.upsert(points.slice(0, 40));
  t.equal(await col.count({ rights: CC0 }), 4, 'points 0, 10, 20, 30');
  await col.upsert([{ ...points[1]!, payload: { ...points[1]!.payload, rights: CC0, concepts: ['http://vocab.getty.edu/aat/300037222'] } }]);
  t.equal(await col.count({ rights: CC0 }), 5, 'a payload change enters the filter');
  t.equal(await col.count({ concept: 'http://vocab.getty.edu/aat/300037222', rights: CC0 }), 1);
  await col.upsert([{ ...points[10]!, payload: { ...points[10]!.payload, rights: undefined } }]);
  await col.delete([points[20]!.id]);
  t.same((await col.search(points[0]!.vector, { limit: 10, filter: { rights: CC0 } })).map((h) => h.id).sort(), [points[0]!.id, points[1]!.id, points[30]!.id].sort(), 'and leaves it');
  t.equal(await col.count({ manifestId: [] }), 0, 'an empty list matches nothing');
  t.equal(await col.count({}), 39, 'an empty filter matches everything');
});

t.test('an idle collection saves its index after autosaveMs', async (t) => {
  const dir = freshDir();
  const { store, col } = await openCollection(dir, { autosaveMs: 50 });
  t.teardown(() => store.close());
  await col.upsert(points.slice(0, 100));
  t.equal(col.stats().unsaved, true);
  await sleep(400);
  t.equal(col.stats().unsaved, false);
  t.equal(col.stats().savedGeneration, 1);
  t.same(readdirSync(join(dir, collectionFolder('test-model', '1'))).filter((f) => f.startsWith('hnsw-')), ['hnsw-1.bin']);
});
