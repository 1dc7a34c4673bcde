// Benchmark (not a test): the embedded vector store (hnswlib-node + SQLite) at scale. Synthetic
// clustered unit vectors (bench/synthetic.ts) are upserted in batches through the public API, then
// searched; prints ONE JSON line:
//   n, dims, buildSeconds (upsert calls: SQLite + graph), saveSeconds (index to disk), rssMB
//   (resident after build), diskMB, openSeconds (reopen: vectors from SQLite + index file),
//   recallAt10 vs exact (sampled queries; exact by worker threads over the regenerated vectors),
//   queryMsP50/P95 (single searches, k = 10, payloads included), filtered searches at 10 % and
//   1 % selectivity, a self-join at --selfjoin points (every point's 10 nearest: the work that
//   dominates a duplicates report), and the duplicates report itself (src/analysis findDuplicates
//   with the collection's search as its neighbour function) over that same collection.
//
//   pnpm run bench:vectors   (= node --import tsx --conditions=loupe-source packages/vectors/bench/vectors.bench.ts)
//     [--n 1000000] [--dims 512] [--dir PATH (kept; default a temporary folder, removed)]
//     [--batch 10000] [--queries 200] [--selfjoin 100000 (0: skip)] [--m 16] [--ef-construction 100] [--ef-search N] [--ef-filtered N]
//     [--sweep on|off]
// With --dir naming a folder that already holds the N points, the build is skipped (tuning runs).
// --sweep (on by default) also reads the saved graph file straight into hnswlib-node and reports,
// for tuning: recall and latency at several ef, and for filters of 1-10 % the graph search with a
// filter callback against exact search over the filtered subset (where the cut-over belongs).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '@loupe/datasets';
import type { VectorFilter, VectorPayload, VectorPoint } from '../src/port.js';
import { collectionNeighbours, findDuplicates, readPoints } from '../src/analysis/index.js';
import { EMBEDDED_DEFAULTS, collectionFolder, openEmbeddedVectorStore, type EmbeddedVectorStoreOptions } from '../src/embedded/index.js';
import type { ExactJob, ExactResult } from './exact.worker.js';
import { ClusteredVectors, diskBytes, exactKnn, mb, recallAt, round, timeQueries } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    dims: { type: 'string', default: '512' },
    dir: { type: 'string' },
    batch: { type: 'string', default: '10000' },
    queries: { type: 'string', default: '200' },
    selfjoin: { type: 'string', default: '100000' },
    m: { type: 'string' },
    'ef-construction': { type: 'string' },
    'ef-search': { type: 'string' },
    'ef-filtered': { type: 'string' },
    sweep: { type: 'string', default: 'on' },
  },
});
const N = Number(values.n);
const DIMS = Number(values.dims);
const BATCH = Number(values.batch);
const QUERIES = Number(values.queries);
const SELFJOIN = Number(values.selfjoin);
const K = 10;
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'loupe-vectors-bench-'));
const storeOpts: EmbeddedVectorStoreOptions = {
  dir,
  autosaveMs: 0,
  ...(values.m ? { m: Number(values.m) } : {}),
  ...(values['ef-construction'] ? { efConstruction: Number(values['ef-construction']) } : {}),
  ...(values['ef-search'] ? { efSearch: Number(values['ef-search']) } : {}),
  ...(values['ef-filtered'] ? { efFilteredSearch: Number(values['ef-filtered']) } : {}),
};

const gen = new ClusteredVectors({ dims: DIMS });
const idOf = (i: number) => `https://bench.example/iiif/canvas/${i}#0`;
const rowOf = (id: string) => Number(id.slice('https://bench.example/iiif/canvas/'.length, -2));
/** A random 64-bit perceptual hash per point (the duplicates report's hash tiers read it). */
const phashOf = (i: number): string => {
  const r = seededRandom(i * 7 + 3);
  const word = () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
  return word() + word();
};
/** manifestId selects 10 % of the points, collection 1 %, both independent of the vectors. */
const payloadOf = (i: number): VectorPayload => ({
  canvasId: idOf(i).slice(0, -2),
  imageIndex: 0,
  manifestId: `https://bench.example/iiif/manifest/${i % 10}`,
  collections: [`https://bench.example/iiif/collection/${i % 100}`],
  rights: 'https://creativecommons.org/publicdomain/zero/1.0/',
  phash: phashOf(i),
});
const FILTERS: { name: string; mod: number; filter: VectorFilter }[] = [
  { name: '10%', mod: 10, filter: { manifestId: 'https://bench.example/iiif/manifest/0' } },
  { name: '1%', mod: 100, filter: { collection: 'https://bench.example/iiif/collection/0' } },
];

function batchOf(from: number, len: number): VectorPoint[] {
  const block = gen.matrix(len, 0, from);
  return Array.from({ length: len }, (_, r) => ({ id: idOf(from + r), vector: block.subarray(r * DIMS, (r + 1) * DIMS), payload: payloadOf(from + r) }));
}

/** Exact answers for every query, unfiltered and per filter, split over worker threads. */
async function exactTruth(n: number, queries: Float32Array[], mods: number[]): Promise<number[][][]> {
  const threads = Math.max(1, Math.min(availableParallelism(), 8));
  const per = Math.ceil(n / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const job: ExactJob = { dims: DIMS, from: t * per, to: Math.min(n, (t + 1) * per), k: K, queries, mods };
      return new Promise<ExactResult>((resolve, reject) => {
        // Workers do not inherit tsx's loader: the worker script loads the TypeScript through tsx's API.
        const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.tsImport(${JSON.stringify(new URL('./exact.worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`;
        const w = new Worker(boot, { eval: true, workerData: job });
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  return mods.map((_, f) =>
    queries.map((_, qi) =>
      parts
        .flatMap((p) => p[f]![qi]!.rows.map((row, j) => ({ row, s: p[f]![qi]!.scores[j]! })))
        .sort((a, b) => b.s - a.s)
        .slice(0, K)
        .map((x) => x.row),
    ),
  );
}

/** timeQueries over a search answering ids, its answers as rows. */
async function timeSearch(search: (q: Float32Array) => Promise<string[]>, queries: Float32Array[]): Promise<{ rows: number[][]; p50: number; p95: number }> {
  const { results, p50, p95 } = await timeQueries(queries, search);
  return { rows: results.map((ids) => ids.map(rowOf)), p50, p95 };
}

/** Filters of the sweep: row % mod === 0, i.e. 1 %, 2 %, 5 % and 10 % of the points. */
const SWEEP_MODS = [100, 50, 20, 10];

/**
 * Tuning data straight from the saved graph (labels are rows: the bench fills a fresh collection
 * in row order): recall and latency per ef, and per filter width the graph with a filter callback
 * against exact search over the filtered subset in JS (what the adapter does below exactFilteredBelow).
 */
async function sweep(truthFor: (mod: number) => number[][]) {
  const { default: hnswlib } = await import('hnswlib-node');
  const folder = join(dir, collectionFolder(spec.modelId, spec.modelVersion));
  const file = readdirSync(folder).find((f) => /^hnsw-\d+\.bin$/.test(f))!;
  const index = new hnswlib.HierarchicalNSW('ip', DIMS);
  await index.readIndex(join(folder, file));
  const row = new Array<number>(DIMS).fill(0);
  const raw = (ef: number, filter?: (label: number) => boolean) => (q: Float32Array) => {
    for (let k = 0; k < DIMS; k++) row[k] = q[k]!;
    index.setEf(Math.max(ef, K));
    return Promise.resolve(index.searchKnn(row, K, filter).neighbors.map(idOf));
  };
  const graph = [];
  for (const ef of [64, 128, 200, 256, 300, 400]) {
    const r = await timeSearch(raw(ef), queries);
    graph.push({ ef, recallAt10: round(recallAt(K, truthFor(1), r.rows), 4), queryMsP50: r.p50, queryMsP95: r.p95 });
  }
  const filters = [];
  for (const mod of SWEEP_MODS) {
    const mask = new Uint8Array(N);
    for (let i = 0; i < N; i += mod) mask[i] = 1;
    const viaGraph = [];
    for (const ef of [32, 64, 128]) {
      const r = await timeSearch(raw(ef, (label) => mask[label] === 1), queries);
      viaGraph.push({ ef, recallAt10: round(recallAt(K, truthFor(mod), r.rows), 4), queryMsP50: r.p50, queryMsP95: r.p95 });
    }
    const m = Math.ceil(N / mod);
    const subset = new Float32Array(m * DIMS);
    for (let j = 0; j < m; j++) gen.vector(j * mod, subset.subarray(j * DIMS, (j + 1) * DIMS));
    const exact = await timeSearch((q) => Promise.resolve(exactKnn(subset, m, DIMS, [q], K)[0]!.map((j) => idOf(j * mod))), queries.slice(0, 60));
    filters.push({ selectivity: `${100 / mod}%`, points: m, graph: viaGraph, exactSubset: { queryMsP50: exact.p50, queryMsP95: exact.p95 } });
  }
  return { graph, filters };
}

const queries = Array.from({ length: QUERIES }, (_, i) => gen.vector(i, new Float32Array(DIMS), 1));
const spec = { modelId: 'bench-synthetic', modelVersion: `${DIMS}d`, dims: DIMS };
const out: Record<string, unknown> = { bench: 'vectors-embedded', n: N, dims: DIMS, batch: BATCH, cpus: availableParallelism() };
try {
  let store = await openEmbeddedVectorStore(storeOpts);
  let col = await store.collection(spec);
  if ((await col.count()) === N) {
    out.build = 'reused';
  } else {
    if ((await col.count()) !== 0) throw new Error(`${dir} holds a collection of another size; use an empty or new --dir`);
    let upsertMs = 0;
    let generateMs = 0;
    for (let from = 0; from < N; from += BATCH) {
      const g0 = performance.now();
      const points = batchOf(from, Math.min(BATCH, N - from));
      const t0 = performance.now();
      await col.upsert(points);
      upsertMs += performance.now() - t0;
      generateMs += t0 - g0;
      if (process.env.BENCH_PROGRESS && (from / BATCH) % 10 === 9) process.stderr.write(`${from + BATCH} points, ${round(upsertMs / 1000, 1)} s\n`);
    }
    const s0 = performance.now();
    await col.flush();
    Object.assign(out, {
      buildSeconds: round(upsertMs / 1000, 1),
      saveSeconds: round((performance.now() - s0) / 1000, 1),
      generateSeconds: round(generateMs / 1000, 1),
    });
  }
  Object.assign(out, { rssMB: mb(process.memoryUsage().rss), diskMB: mb(diskBytes(dir)) });

  const plain = await timeSearch(async (q) => (await col.search(q, { limit: K })).map((h) => h.id), queries);
  // The first filtered call builds the in-memory term index from the stored payloads.
  const f0 = performance.now();
  await col.count(FILTERS[0]!.filter);
  out.termIndexSeconds = round((performance.now() - f0) / 1000, 1);
  const filtered = [];
  for (const f of FILTERS) filtered.push({ f, ...(await timeSearch(async (q) => (await col.search(q, { limit: K, filter: f.filter })).map((h) => h.id), queries)) });

  await store.close();
  const o0 = performance.now();
  store = await openEmbeddedVectorStore(storeOpts);
  col = await store.collection(spec);
  out.openSeconds = round((performance.now() - o0) / 1000, 1);
  out.opened = col.stats().opened.index;
  await store.close();

  const e0 = performance.now();
  const mods = [1, ...new Set([...FILTERS.map((f) => f.mod), ...SWEEP_MODS])];
  const truths = await exactTruth(N, queries, mods);
  const truthFor = (mod: number) => truths[mods.indexOf(mod)]!;
  const truth = truthFor(1);
  const filteredTruth = FILTERS.map((f) => truthFor(f.mod));
  out.exactSeconds = round((performance.now() - e0) / 1000, 1);
  Object.assign(out, { recallAt10: round(recallAt(K, truth!, plain.rows), 4), queryMsP50: plain.p50, queryMsP95: plain.p95 });
  out.filtered = filtered.map((r, j) => ({ selectivity: r.f.name, recallAt10: round(recallAt(K, filteredTruth[j]!, r.rows), 4), queryMsP50: r.p50, queryMsP95: r.p95 }));

  if (values.sweep !== 'off') out.sweep = await sweep(truthFor);

  if (SELFJOIN > 0) {
    // A duplicates report over SELFJOIN images is dominated by this: every image's 10 nearest others.
    const sjDir = mkdtempSync(join(tmpdir(), 'loupe-vectors-selfjoin-'));
    try {
      const sjStore = await openEmbeddedVectorStore({ ...storeOpts, dir: sjDir });
      const sj = await sjStore.collection(spec);
      const b0 = performance.now();
      for (let from = 0; from < SELFJOIN; from += BATCH) await sj.upsert(batchOf(from, Math.min(BATCH, SELFJOIN - from)));
      const buildSeconds = (performance.now() - b0) / 1000;
      const j0 = performance.now();
      let pairs = 0;
      for await (const page of sj.scroll({ batch: 1000 })) {
        for (const p of page) pairs += (await sj.search(p.vector, { limit: K, excludeIds: [p.id] })).length;
      }
      const seconds = (performance.now() - j0) / 1000;
      out.selfJoin = { n: SELFJOIN, k: K, buildSeconds: round(buildSeconds, 1), seconds: round(seconds, 1), perPointMs: round((seconds * 1000) / SELFJOIN), pairs };
      // The duplicates report itself over the same collection.
      const d0 = performance.now();
      const report = await findDuplicates(await readPoints(sj, { vectors: false }), { neighbours: collectionNeighbours(sj) });
      out.duplicatesReport = { n: SELFJOIN, seconds: round((performance.now() - d0) / 1000, 1), pairs: report.counts.pairs, groups: report.counts.groups };
      await sjStore.close();
    } finally {
      rmSync(sjDir, { recursive: true, force: true });
    }
  }
  const { dir: _dir, ...overrides } = storeOpts;
  out.options = { ...EMBEDDED_DEFAULTS, exactFilteredBelow: '12·√n', ...overrides };
  console.log(JSON.stringify(out));
} finally {
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
}
