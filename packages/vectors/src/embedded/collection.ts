import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open as openFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { LoupeError } from '@loupe/contracts';
import type { SearchHit, SearchOptions, VectorCollection, VectorCollectionSpec, VectorFilter, VectorPayload, VectorPoint } from '../port.js';
import { Mutex } from './mutex.js';
import { VectorSlab } from './slab.js';
import { TermIndex, filterKey, type Selection } from './terms.js';
import { TopK } from './topk.js';

type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;
type SqliteDatabase = InstanceType<typeof Database>;

/** Tuning of one embedded collection; see EmbeddedVectorStoreOptions for what each does. */
export interface EmbeddedCollectionOptions {
  readonly m: number;
  readonly efConstruction: number;
  readonly efSearch: number;
  readonly efFilteredSearch: number;
  readonly exactBelow: number;
  /** undefined: 12·√(live points), the measured cut-over (see EmbeddedVectorStoreOptions). */
  readonly exactFilteredBelow: number | undefined;
  readonly autosaveMs: number;
  readonly synchronous: 'full' | 'normal';
}

/** How the ANN index was obtained when the collection was opened. */
export type IndexOpening =
  /** The saved index was current. */
  | 'loaded'
  /** The saved index was older than the points: the changes since were replayed into it. */
  | 'caught-up'
  /** No usable saved index: built again from the stored vectors. */
  | 'rebuilt';

export interface EmbeddedCollectionStats {
  /** Live points. */
  readonly points: number;
  /** Elements in the ANN graph, deleted ones (kept for reuse) included. */
  readonly indexed: number;
  /** Write generation of the stored points (one per committed upsert or delete). */
  readonly generation: number;
  /** Generation of the index file on disk, undefined when none has been saved. */
  readonly savedGeneration: number | undefined;
  /** Whether the in-memory index has changes the file on disk lacks. */
  readonly unsaved: boolean;
  readonly opened: { readonly index: IndexOpening; readonly replayed: number; readonly seconds: number };
}

/** A collection of the embedded store: the port, plus index control for operators and tests. */
export interface EmbeddedVectorCollection extends VectorCollection {
  /** Writes the ANN index to disk now if it has unsaved changes (close does too). */
  flush(): Promise<void>;
  stats(): EmbeddedCollectionStats;
}

const FORMAT = 1;
const INDEX_FILE = /^hnsw-(\d+)\.bin$/;
const indexFileName = (generation: number) => `hnsw-${generation}.bin`;
/** hnswlib's seed: the same points inserted in the same order build the same graph. */
const RANDOM_SEED = 100;
/** Graph insertions between yields to the event loop: searches keep being answered during a bulk load. */
const YIELD_EVERY = 256;
const MAX_LIMIT = 1000;
const MAX_WINDOW = 10_000;

export function storeError(operation: string, err: unknown, details?: Record<string, unknown>): LoupeError {
  if (err instanceof LoupeError) return err;
  return new LoupeError('LOUPE_ERR_STORE', `The vector store failed (${operation})`, { cause: err, details: { operation, ...details } });
}

const validation = (message: string, details?: Record<string, unknown>) => new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);

function blob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function isInteger(x: unknown, min: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min;
}

/**
 * One collection (one model and version) of the embedded store, in its own folder:
 *
 *   points.sqlite     the truth: ids, payloads and raw float32 vectors (WAL, fsync on commit)
 *   hnsw-<gen>.bin    the hnswlib graph as of write generation <gen>, a derived cache
 *
 * Every upsert or delete is one SQLite transaction that bumps the write generation and stamps
 * the rows it writes with it; it is acknowledged once committed. The graph is updated in memory
 * right after and saved on close, on flush(), and after `autosaveMs` without writes, to a
 * temporary file renamed into place. Opening loads the newest file and replays what changed since
 * its generation (points stamped later are re-added, graph labels with no stored point are
 * marked deleted); with no readable file the graph is rebuilt from the stored vectors. So a crash
 * loses nothing acknowledged, only index work, redone on the next open.
 *
 * Points are known to the graph by labels, small integers reused after deletes so that the graph
 * and the in-memory vector slab stay dense: hnswlib re-adding a deleted label un-deletes its slot.
 *
 * Search: below `exactBelow` live points, brute force over the slab (exact, and fast at that size).
 * Otherwise the graph (hnswlib space 'ip': distance 1 − dot), whose hits are rescored from the
 * slab so both paths give the same double-precision cosines and break ties alike. A filter becomes
 * a label mask (terms.ts); narrow ones (≤ exactFilteredBelow) are searched exactly over the
 * matching points, wider ones through the graph with the mask as hnswlib's filter callback, so the
 * result is the nearest among the filtered, not the filtered nearest. Vectors are taken as given
 * (the embed service normalises them): the score is their inner product.
 *
 * hnswlib-node's calls are synchronous: a search runs to completion on the event loop, and bulk
 * graph insertion yields every YIELD_EVERY points so searches interleave with a long upsert.
 */
export class EmbeddedCollection implements EmbeddedVectorCollection {
  private readonly slab: VectorSlab;
  /** alive[label] === 1: a stored point has this label. */
  private alive = new Uint8Array(1024);
  /** One past the highest label ever handed out. */
  private nextLabel = 0;
  /** Labels below nextLabel with no point: handed out again first. */
  private readonly free: number[] = [];
  private live = 0;
  private generation = 0;
  private savedGeneration: number | undefined;
  private unsaved = false;
  /** A graph update failed part-way: this graph must not be saved; the next open replays from the last good file. */
  private indexStale = false;
  private terms: TermIndex | undefined;
  private index!: Hnsw;
  private opened!: EmbeddedCollectionStats['opened'];
  private readonly writes = new Mutex();
  private autosave: NodeJS.Timeout | undefined;
  private closed = false;
  private closedIndexed = 0;
  /** One JS array reused for every vector handed to hnswlib, which takes only plain arrays. */
  private readonly row: number[];
  private readonly sql: ReturnType<EmbeddedCollection['prepare']>;

  private constructor(
    readonly spec: VectorCollectionSpec,
    private readonly folder: string,
    private readonly db: SqliteDatabase,
    private readonly opts: EmbeddedCollectionOptions,
  ) {
    this.slab = new VectorSlab(spec.dims);
    this.row = new Array<number>(spec.dims).fill(0);
    this.sql = this.prepare();
  }

  /** Opens (creating when absent) the collection stored in `folder`. */
  static async open(folder: string, spec: VectorCollectionSpec, opts: EmbeddedCollectionOptions): Promise<EmbeddedCollection> {
    let db: SqliteDatabase | undefined;
    try {
      mkdirSync(folder, { recursive: true });
      db = new Database(join(folder, 'points.sqlite'));
      initSchema(db, spec, opts);
    } catch (err) {
      db?.close();
      throw storeError('open', err, { folder });
    }
    const col = new EmbeddedCollection(spec, folder, db, opts);
    try {
      col.loadPoints();
      await col.openIndex();
    } catch (err) {
      db.close();
      throw storeError('open', err, { folder });
    }
    return col;
  }

  private prepare() {
    const db = this.db;
    return {
      byId: db.prepare<[string], { label: number; payload: string }>('SELECT label, payload FROM points WHERE id = ?'),
      labelById: db.prepare<[string], { label: number }>('SELECT label FROM points WHERE id = ?'),
      hitByLabel: db.prepare<[number], { id: string; payload: string }>('SELECT id, payload FROM points WHERE label = ?'),
      insertPoint: db.prepare<[number, string, string, number]>('INSERT INTO points (label, id, payload, gen) VALUES (?, ?, ?, ?)'),
      updatePoint: db.prepare<[string, number, number]>('UPDATE points SET payload = ?, gen = ? WHERE label = ?'),
      putVector: db.prepare<[number, Buffer]>('INSERT OR REPLACE INTO vectors (label, v) VALUES (?, ?)'),
      deletePoint: db.prepare<[number]>('DELETE FROM points WHERE label = ?'),
      deleteVector: db.prepare<[number]>('DELETE FROM vectors WHERE label = ?'),
      setGeneration: db.prepare<[string]>("UPDATE meta SET value = ? WHERE key = 'generation'"),
      getFull: db.prepare<[string], { label: number; payload: string; v: Buffer }>('SELECT p.label, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.id = ?'),
      pageAfter: db.prepare<[number, number], { label: number; id: string; payload: string; v: Buffer }>(
        'SELECT p.label, p.id, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.label > ? ORDER BY p.label LIMIT ?',
      ),
      pointByLabel: db.prepare<[number], { id: string; payload: string; v: Buffer }>('SELECT p.id, p.payload, v.v FROM points p JOIN vectors v ON v.label = p.label WHERE p.label = ?'),
      changedSince: db.prepare<[number], { label: number }>('SELECT label FROM points WHERE gen > ?'),
    };
  }

  /** Reads every stored vector into the slab and rebuilds the label bookkeeping. */
  private loadPoints(): void {
    this.generation = Number((this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string }).value);
    const rows = this.db.prepare('SELECT label, v FROM vectors ORDER BY label').raw().iterate() as IterableIterator<[number, Buffer]>;
    for (const [label, v] of rows) {
      this.slab.setBytes(label, v);
      this.markAlive(label);
    }
    for (let label = this.nextLabel - 1; label >= 0; label--) if (this.alive[label] !== 1) this.free.push(label);
  }

  private markAlive(label: number): void {
    if (label >= this.alive.length) {
      const grown = new Uint8Array(Math.max(label + 1, this.alive.length * 2));
      grown.set(this.alive);
      this.alive = grown;
    }
    this.alive[label] = 1;
    this.live++;
    if (label >= this.nextLabel) this.nextLabel = label + 1;
  }

  private toRow(v: Float32Array): number[] {
    const row = this.row;
    for (let k = 0; k < v.length; k++) row[k] = v[k]!;
    return row;
  }

  private newIndex(capacity: number): Hnsw {
    const index = new hnswlib.HierarchicalNSW('ip', this.spec.dims);
    index.initIndex({ maxElements: Math.max(1024, capacity), m: this.opts.m, efConstruction: this.opts.efConstruction, randomSeed: RANDOM_SEED });
    return index;
  }

  private ensureCapacity(adding: number): void {
    const need = this.index.getCurrentCount() + adding;
    const max = this.index.getMaxElements();
    if (need > max) this.index.resizeIndex(Math.max(need, Math.ceil(max * 1.5)));
  }

  /** Adds (or re-adds, un-deleting) labels to the graph, yielding now and then. */
  private async addToIndex(labels: Iterable<number>, count: number): Promise<void> {
    this.ensureCapacity(count);
    let n = 0;
    for (const label of labels) {
      this.index.addPoint(this.toRow(this.slab.row(label)), label);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
  }

  private async openIndex(): Promise<void> {
    const t0 = performance.now();
    // The newest index file not newer than the points (a newer one can only come from a database
    // restored from backup: useless); everything else, temporary files of a crashed save included, goes.
    const names = readdirSync(this.folder);
    const files = names
      .map((name) => ({ name, gen: INDEX_FILE.exec(name)?.[1] }))
      .filter((f): f is { name: string; gen: string } => f.gen !== undefined)
      .map((f) => ({ name: f.name, gen: Number(f.gen) }))
      .filter((f) => f.gen <= this.generation)
      .sort((a, b) => b.gen - a.gen);
    let loaded: { gen: number } | undefined;
    for (const file of files) {
      try {
        const index = new hnswlib.HierarchicalNSW('ip', this.spec.dims);
        await index.readIndex(join(this.folder, file.name));
        this.index = index;
        loaded = file;
        break;
      } catch {
        // Unreadable (truncated by a full disk, say): try an older one, or rebuild.
      }
    }
    for (const name of names) {
      if ((name.startsWith('hnsw-') && name !== (loaded && indexFileName(loaded.gen))) || name.endsWith('.tmp')) rmSync(join(this.folder, name), { force: true });
    }

    if (!loaded) {
      this.index = this.newIndex(Math.ceil(this.live * 1.1));
      await this.addToIndex(this.aliveLabels(), this.live);
      this.unsaved = this.live > 0;
      this.opened = { index: 'rebuilt', replayed: this.live, seconds: (performance.now() - t0) / 1000 };
      return;
    }

    this.savedGeneration = loaded.gen;
    // Graph labels with no stored point were deleted after the save: delete them in the graph too.
    const inGraph = new Uint8Array(this.nextLabel);
    for (const label of this.index.getIdsList()) {
      if (label < this.nextLabel) inGraph[label] = 1;
      if (label >= this.nextLabel || this.alive[label] !== 1) {
        try {
          this.index.markDelete(label);
        } catch {
          // Already deleted.
        }
      }
    }
    // Points written after the save, and any live point the graph lacks, go in (again).
    const replay = new Set<number>();
    for (const { label } of this.sql.changedSince.iterate(loaded.gen)) replay.add(label);
    for (const label of this.aliveLabels()) if (inGraph[label] !== 1) replay.add(label);
    await this.addToIndex(replay, replay.size);
    this.unsaved = replay.size > 0 || loaded.gen !== this.generation;
    this.opened = { index: this.unsaved ? 'caught-up' : 'loaded', replayed: replay.size, seconds: (performance.now() - t0) / 1000 };
  }

  private *aliveLabels(): Generator<number> {
    for (let label = 0; label < this.nextLabel; label++) if (this.alive[label] === 1) yield label;
  }

  private checkOpen(operation: string): void {
    if (this.closed) throw new LoupeError('LOUPE_ERR_STORE', 'The vector store is closed', { details: { operation } });
  }

  private checkVector(v: unknown, what: string): asserts v is Float32Array {
    if (!(v instanceof Float32Array)) throw validation(`${what}: the vector must be a Float32Array`);
    if (v.length !== this.spec.dims) {
      throw validation(`${what}: the vector has ${v.length} dimensions; collection ${this.spec.modelId}@${this.spec.modelVersion} has ${this.spec.dims}`, {
        expected: this.spec.dims,
        actual: v.length,
      });
    }
    for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k]!)) throw validation(`${what}: the vector has a non-finite value at ${k}`);
  }

  /** Marks the graph as changed and (re)arms the idle save. */
  private touch(): void {
    this.unsaved = true;
    if (this.opts.autosaveMs <= 0 || this.closed) return;
    if (this.autosave) clearTimeout(this.autosave);
    this.autosave = setTimeout(() => {
      this.autosave = undefined;
      // A failed background save leaves the index unsaved: close() tries again and reports.
      this.flush().catch(() => undefined);
    }, this.opts.autosaveMs);
    this.autosave.unref();
  }

  upsert(points: readonly VectorPoint[]): Promise<void> {
    try {
      this.checkOpen('upsert');
      // Validate everything before writing anything: a batch is stored whole or not at all.
      const byId = new Map<string, VectorPoint>();
      for (const p of points) {
        if (typeof p?.id !== 'string' || p.id === '') throw validation('A point needs a non-empty string id');
        this.checkVector(p.vector, `point ${p.id}`);
        if (typeof p.payload !== 'object' || p.payload === null || typeof p.payload.manifestId !== 'string') throw validation(`point ${p.id}: the payload needs a manifestId`);
        byId.delete(p.id); // the last write of an id wins, in its position
        byId.set(p.id, p);
      }
      if (byId.size === 0) return Promise.resolve();
      return this.writes.run(() => this.applyUpsert([...byId.values()]));
    } catch (err) {
      return Promise.reject(storeError('upsert', err));
    }
  }

  private async applyUpsert(batch: VectorPoint[]): Promise<void> {
    this.checkOpen('upsert');
    const gen = this.generation + 1;
    interface Planned {
      readonly label: number;
      readonly point: VectorPoint;
      readonly fresh: boolean;
      readonly moved: boolean;
      readonly before: string | undefined;
    }
    let planned: Planned[];
    let taken = 0;
    let next = this.nextLabel;
    try {
      planned = this.db.transaction(() => {
        taken = 0;
        next = this.nextLabel;
        const out: Planned[] = [];
        for (const point of batch) {
          const payload = JSON.stringify(point.payload);
          const existing = this.sql.byId.get(point.id);
          if (existing) {
            const moved = !this.slab.equals(existing.label, point.vector);
            this.sql.updatePoint.run(payload, gen, existing.label);
            if (moved) this.sql.putVector.run(existing.label, blob(point.vector));
            out.push({ label: existing.label, point, fresh: false, moved, before: existing.payload });
          } else {
            const label = taken < this.free.length ? this.free[this.free.length - 1 - taken++]! : next++;
            this.sql.insertPoint.run(label, point.id, payload, gen);
            this.sql.putVector.run(label, blob(point.vector));
            out.push({ label, point, fresh: true, moved: true, before: undefined });
          }
        }
        this.sql.setGeneration.run(String(gen));
        return out;
      }).immediate();
    } catch (err) {
      throw storeError('upsert', err);
    }

    // Committed: the points are stored. Bring the memory side along.
    this.generation = gen;
    this.free.length -= taken;
    for (const p of planned) {
      if (p.fresh) this.markAlive(p.label);
      if (p.moved) this.slab.set(p.label, p.point.vector);
      if (this.terms) {
        if (p.before !== undefined) this.terms.remove(p.label, JSON.parse(p.before) as VectorPayload);
        this.terms.add(p.label, p.point.payload);
      }
    }
    this.touch();
    const moved = planned.filter((p) => p.moved).map((p) => p.label);
    try {
      await this.addToIndex(moved, moved.length);
    } catch (err) {
      // The points are stored; the graph is behind until the next open replays them.
      this.indexStale = true;
      throw storeError('upsert (index)', err);
    }
  }

  delete(ids: readonly string[]): Promise<void> {
    try {
      this.checkOpen('delete');
      const unique = [...new Set(ids)];
      if (unique.length === 0) return Promise.resolve();
      return this.writes.run(() => this.applyDelete(unique));
    } catch (err) {
      return Promise.reject(storeError('delete', err));
    }
  }

  private applyDelete(ids: string[]): void {
    this.checkOpen('delete');
    const gen = this.generation + 1;
    let removed: { label: number; payload: string }[];
    try {
      removed = this.db.transaction(() => {
        const out: { label: number; payload: string }[] = [];
        for (const id of ids) {
          const row = this.sql.byId.get(id);
          if (!row) continue;
          this.sql.deletePoint.run(row.label);
          this.sql.deleteVector.run(row.label);
          out.push(row);
        }
        if (out.length > 0) this.sql.setGeneration.run(String(gen));
        return out;
      }).immediate();
    } catch (err) {
      throw storeError('delete', err);
    }
    if (removed.length === 0) return;
    this.generation = gen;
    for (const { label, payload } of removed) {
      this.alive[label] = 0;
      this.live--;
      this.free.push(label);
      this.terms?.remove(label, JSON.parse(payload) as VectorPayload);
      try {
        this.index.markDelete(label);
      } catch {
        // Not in the graph (never indexed): nothing to hide.
      }
    }
    this.touch();
  }

  get(id: string): Promise<VectorPoint | undefined> {
    try {
      this.checkOpen('get');
      const row = this.sql.getFull.get(id);
      if (!row) return Promise.resolve(undefined);
      return Promise.resolve({ id, vector: this.vectorOf(row.v), payload: JSON.parse(row.payload) as VectorPayload });
    } catch (err) {
      return Promise.reject(storeError('get', err));
    }
  }

  /** A copy of a stored blob as a Float32Array (the blob's own buffer need not be 4-aligned). */
  private vectorOf(bytes: Uint8Array, into?: Float32Array): Float32Array {
    const v = into ?? new Float32Array(this.spec.dims);
    new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(bytes);
    return v;
  }

  private selection(filter: VectorFilter | undefined): Selection | undefined {
    const key = filter && filterKey(filter);
    if (!filter || key === undefined) return undefined;
    if (!this.terms) {
      const terms = new TermIndex();
      for (const [label, payload] of this.db.prepare('SELECT label, payload FROM points').raw().iterate() as IterableIterator<[number, string]>) {
        terms.add(label, JSON.parse(payload) as VectorPayload);
      }
      this.terms = terms;
    }
    return this.terms.select(filter, key, this.nextLabel);
  }

  count(filter?: VectorFilter): Promise<number> {
    try {
      this.checkOpen('count');
      const sel = this.selection(filter);
      return Promise.resolve(sel ? sel.labels.length : this.live);
    } catch (err) {
      return Promise.reject(storeError('count', err));
    }
  }

  search(vector: Float32Array, opts: SearchOptions = {}): Promise<SearchHit[]> {
    try {
      this.checkOpen('search');
      this.checkVector(vector, 'search');
      return Promise.resolve(this.searchNow(vector, opts));
    } catch (err) {
      return Promise.reject(storeError('search', err));
    }
  }

  private searchNow(q: Float32Array, opts: SearchOptions): SearchHit[] {
    const limit = opts.limit ?? 10;
    const offset = opts.offset ?? 0;
    if (!isInteger(limit, 1) || limit > MAX_LIMIT) throw validation(`limit must be an integer from 1 to ${MAX_LIMIT}`, { limit });
    if (!isInteger(offset, 0) || limit + offset > MAX_WINDOW) throw validation(`offset must be an integer ≥ 0 with limit + offset ≤ ${MAX_WINDOW}`, { limit, offset });
    if (opts.minScore !== undefined && !Number.isFinite(opts.minScore)) throw validation('minScore must be a finite number');
    const want = offset + limit;

    const sel = this.selection(opts.filter);
    const excluded = new Set<number>();
    for (const id of opts.excludeIds ?? []) {
      const row = this.sql.labelById.get(id);
      if (row && (!sel || sel.mask[row.label] === 1)) excluded.add(row.label);
    }
    const candidates = (sel ? sel.labels.length : this.live) - excluded.size;
    if (candidates <= 0) return [];

    let best: TopK | undefined;
    const exact = this.live < this.opts.exactBelow || (sel !== undefined && sel.labels.length <= this.exactFilteredBelow());
    if (!exact) {
      best = this.graphSearch(q, want, sel, excluded);
      // The graph found fewer than there are (a narrow filter in a sparse region): be exact.
      if (best.size < Math.min(want, candidates)) best = undefined;
    }
    best ??= this.exactSearch(q, want, sel, excluded);
    return this.hits(best, opts.minScore, offset);
  }

  /**
   * Up to how many filtered points exact search beats the graph. Graph search with a filter
   * visits about ef/selectivity candidates (at ef 32, 512-d: ~0.1 ms × n/m here), exact search
   * costs ~0.65 µs per filtered point: they meet near m = 12·√n (≈12,000 at a million).
   */
  private exactFilteredBelow(): number {
    return this.opts.exactFilteredBelow ?? Math.max(this.opts.exactBelow, Math.round(12 * Math.sqrt(this.live)));
  }

  private exactSearch(q: Float32Array, k: number, sel: Selection | undefined, excluded: Set<number>): TopK {
    const top = new TopK(k);
    if (sel) {
      for (const label of sel.labels) if (!excluded.has(label)) top.push(label, this.slab.dot(label, q));
    } else {
      const alive = this.alive;
      for (let label = 0; label < this.nextLabel; label++) if (alive[label] === 1 && !excluded.has(label)) top.push(label, this.slab.dot(label, q));
    }
    return top;
  }

  /** hnswlib search, then exact rescoring from the slab so both paths score (and tie) alike. */
  private graphSearch(q: Float32Array, want: number, sel: Selection | undefined, excluded: Set<number>): TopK {
    const alive = this.alive;
    let k: number;
    let filter: ((label: number) => boolean) | undefined;
    if (sel) {
      const mask = sel.mask;
      k = want;
      filter = excluded.size === 0 ? (label) => mask[label] === 1 : (label) => mask[label] === 1 && !excluded.has(label);
    } else {
      // Excluded points are few (the image a search starts from): ask for more and drop them.
      k = want + excluded.size;
    }
    k = Math.min(k, this.index.getCurrentCount());
    const top = new TopK(want);
    if (k === 0) return top;
    // A filtered search already explores far more of the graph (it keeps going until ef of its
    // candidates pass the filter), so it reaches the same recall at a much smaller ef.
    this.index.setEf(Math.max(sel ? this.opts.efFilteredSearch : this.opts.efSearch, k));
    const { neighbors } = this.index.searchKnn(this.toRow(q), k, filter);
    for (const label of neighbors) if (alive[label] === 1 && !excluded.has(label)) top.push(label, this.slab.dot(label, q));
    return top;
  }

  /** The ranked points from `offset` on (the TopK holds offset + limit), with their stored ids and payloads. */
  private hits(ranked: TopK, minScore: number | undefined, offset: number): SearchHit[] {
    const out: SearchHit[] = [];
    for (let i = offset; i < ranked.size; i++) {
      const score = ranked.scores[i]!;
      if (minScore !== undefined && score < minScore) break;
      const row = this.sql.hitByLabel.get(ranked.labels[i]!);
      if (row) out.push({ id: row.id, score, payload: JSON.parse(row.payload) as VectorPayload });
    }
    return out;
  }

  scroll(opts: { filter?: VectorFilter; batch?: number } = {}): AsyncIterable<VectorPoint[]> {
    const batch = Math.min(10_000, Math.max(1, Math.floor(opts.batch ?? 500)));
    const dims = this.spec.dims;
    const self = this;
    /** One Float32Array per batch; each point's vector is a view of its row. */
    const toPoints = (rows: readonly { id: string; payload: string; v: Buffer }[]): VectorPoint[] => {
      const block = new Float32Array(rows.length * dims);
      return rows.map((r, i) => ({ id: r.id, vector: self.vectorOf(r.v, block.subarray(i * dims, (i + 1) * dims)), payload: JSON.parse(r.payload) as VectorPayload }));
    };
    return {
      async *[Symbol.asyncIterator]() {
        let labels: Int32Array | undefined;
        try {
          self.checkOpen('scroll');
          const sel = self.selection(opts.filter);
          // A snapshot of the matching labels (selections are shared and may be replaced).
          labels = sel ? sel.labels.slice() : undefined;
        } catch (err) {
          throw storeError('scroll', err);
        }
        if (labels) {
          for (let from = 0; from < labels.length; from += batch) {
            let rows: { id: string; payload: string; v: Buffer }[];
            try {
              self.checkOpen('scroll');
              rows = [];
              for (const label of labels.subarray(from, from + batch)) {
                const row = self.sql.pointByLabel.get(label);
                if (row) rows.push(row);
              }
            } catch (err) {
              throw storeError('scroll', err);
            }
            if (rows.length > 0) yield toPoints(rows);
          }
          return;
        }
        // Keyset paging in label order: stable, and no cursor stays open across yields.
        let after = -1;
        for (;;) {
          let rows: { label: number; id: string; payload: string; v: Buffer }[];
          try {
            self.checkOpen('scroll');
            rows = self.sql.pageAfter.all(after, batch);
          } catch (err) {
            throw storeError('scroll', err);
          }
          if (rows.length === 0) return;
          after = rows[rows.length - 1]!.label;
          yield toPoints(rows);
          if (rows.length < batch) return;
        }
      },
    };
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.writes.run(() => this.save());
  }

  /** Writes the graph to hnsw-<generation>.bin through a temporary file; drops older files. */
  private async save(): Promise<void> {
    if (!this.unsaved || this.indexStale) return;
    const gen = this.generation;
    const file = join(this.folder, indexFileName(gen));
    const tmp = `${file}.tmp`;
    try {
      await this.index.writeIndex(tmp);
      const fh = await openFile(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      await syncDir(this.folder);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw storeError('save index', err, { file });
    }
    this.savedGeneration = gen;
    this.unsaved = false;
    for (const name of readdirSync(this.folder)) {
      if (INDEX_FILE.test(name) && name !== indexFileName(gen)) await rm(join(this.folder, name), { force: true }).catch(() => undefined);
    }
  }

  stats(): EmbeddedCollectionStats {
    return {
      points: this.live,
      indexed: this.closed ? this.closedIndexed : this.index.getCurrentCount(),
      generation: this.generation,
      savedGeneration: this.savedGeneration,
      unsaved: this.unsaved,
      opened: this.opened,
    };
  }

  /** Saves the index and closes the database. Later calls are LOUPE_ERR_STORE. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.autosave) clearTimeout(this.autosave);
    this.autosave = undefined;
    try {
      await this.writes.run(() => this.save());
    } finally {
      this.closed = true;
      this.db.close();
      // Gigabytes at a million points: let them go even while callers still hold this object.
      this.closedIndexed = this.index.getCurrentCount();
      this.slab.clear();
      this.index = new hnswlib.HierarchicalNSW('ip', this.spec.dims);
      this.terms = undefined;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable. Directories cannot be opened for fsync everywhere (Windows): best effort.
  try {
    const fh = await openFile(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

function initSchema(db: SqliteDatabase, spec: VectorCollectionSpec, opts: EmbeddedCollectionOptions): void {
  // 16 KiB pages hold seven 512-d vectors (or three 1280-d) with little slack; 4 KiB pages would
  // hold one 2 KiB vector each and waste half the file. Only effective on a new database.
  db.pragma('page_size = 16384');
  db.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before upsert resolves (NORMAL may lose the last commits on power loss).
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  // A bulk load grows the WAL by a batch at a time; after each checkpoint it shrinks back to this.
  db.pragma('journal_size_limit = 67108864');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS points (label INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL, gen INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS points_gen ON points (gen);
    CREATE TABLE IF NOT EXISTS vectors (label INTEGER PRIMARY KEY, v BLOB NOT NULL);
  `);
  const meta = new Map((db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  if (meta.size === 0) {
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('format', String(FORMAT));
      put.run('modelId', spec.modelId);
      put.run('modelVersion', spec.modelVersion);
      put.run('dims', String(spec.dims));
      put.run('generation', '0');
    }).immediate();
    return;
  }
  if (Number(meta.get('format')) > FORMAT) throw new LoupeError('LOUPE_ERR_STORE', `The collection has format ${meta.get('format')}; this Loupe knows up to ${FORMAT}`);
  if (Number(meta.get('dims')) !== spec.dims) {
    throw new LoupeError('LOUPE_ERR_STORE', `The stored collection has ${meta.get('dims')} dimensions but the manifest says ${spec.dims}`, {
      details: { stored: Number(meta.get('dims')), manifest: spec.dims },
    });
  }
}
