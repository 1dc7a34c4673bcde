import type { SearchHit, SearchOptions, VectorCollection, VectorCollectionSpec, VectorFilter, VectorPayload, VectorPoint } from '../port.js';
import { checkBatch, checkVector, closedError, storeError } from './checks.js';
import type { CollectionParts, EmbeddedCollectionOptions } from './collection-parts.js';
import { saveGraph } from './graph-file.js';
import { LabelSpace } from './labels.js';
import { Mutex } from './mutex.js';
import { PayloadFilters } from './payload-filters.js';
import { commitDelete, commitUpsert } from './point-writes.js';
import { PointTable, vectorOf } from './point-table.js';
import { loadPoints, openGraph, type GraphOpening } from './recovery.js';
import { scrollPoints } from './scroll.js';
import { searchPoints } from './search.js';
import { VectorSlab } from './slab.js';

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
  readonly opened: GraphOpening['opened'];
}

/** A collection of the embedded store: the port, plus index control for operators and tests. */
export interface EmbeddedVectorCollection extends VectorCollection {
  /** Writes the ANN index to disk now if it has unsaved changes (close does too). */
  flush(): Promise<void>;
  stats(): EmbeddedCollectionStats;
}

/**
 * One collection (one model and version) of the embedded store, in its own folder:
 *
 *   points.sqlite     the truth: ids, payloads and raw float32 vectors (point-table.ts)
 *   hnsw-<gen>.bin    the hnswlib graph as of write generation <gen>, a derived cache (graph-file.ts)
 *
 * Every upsert or delete is one SQLite transaction that bumps the write generation; it is
 * acknowledged once committed (point-writes.ts). The graph is updated in memory right after and
 * saved on close, on flush(), and after `autosaveMs` without writes. Opening loads the newest
 * file and replays what changed since its generation, or rebuilds the graph (recovery.ts): a
 * crash loses nothing acknowledged, only index work, redone on the next open. Searches are exact
 * over the in-memory slab or go through the graph (search.ts).
 *
 * Writers (upsert, delete, index save) take one mutex: the graph must not change while it is
 * written to disk, and a label allocated by one upsert must not be handed out by another.
 */
export class EmbeddedCollection implements EmbeddedVectorCollection {
  private savedGeneration: number | undefined;
  private unsaved: boolean;
  /** A graph update failed part-way: this graph must not be saved; the next open replays from the last good file. */
  private indexStale = false;
  private readonly opened: EmbeddedCollectionStats['opened'];
  private readonly writes = new Mutex();
  private autosave: NodeJS.Timeout | undefined;
  private closed = false;
  private closedIndexed = 0;

  private constructor(
    readonly spec: VectorCollectionSpec,
    private readonly folder: string,
    private readonly parts: CollectionParts,
    opening: GraphOpening,
  ) {
    this.savedGeneration = opening.savedGeneration;
    this.unsaved = opening.unsaved;
    this.opened = opening.opened;
  }

  /** Opens (creating when absent) the collection stored in `folder`. */
  static async open(folder: string, spec: VectorCollectionSpec, opts: EmbeddedCollectionOptions): Promise<EmbeddedCollection> {
    let table: PointTable;
    try {
      table = PointTable.open(folder, spec, opts.synchronous);
    } catch (err) {
      throw storeError('open', err, { folder });
    }
    try {
      const labels = new LabelSpace();
      const slab = new VectorSlab(spec.dims);
      loadPoints(table, labels, slab);
      const opening = await openGraph(folder, table, labels, slab, opts);
      const parts = { spec, opts, table, labels, slab, filters: new PayloadFilters(table), graph: opening.graph };
      return new EmbeddedCollection(spec, folder, parts, opening);
    } catch (err) {
      table.close();
      throw storeError('open', err, { folder });
    }
  }

  private checkOpen(operation: string): void {
    if (this.closed) throw closedError(operation);
  }

  /** Marks the graph as changed and (re)arms the idle save. */
  private touch(): void {
    this.unsaved = true;
    if (this.parts.opts.autosaveMs <= 0 || this.closed) return;
    if (this.autosave) clearTimeout(this.autosave);
    this.autosave = setTimeout(() => {
      this.autosave = undefined;
      // A failed background save leaves the index unsaved: close() tries again and reports.
      this.flush().catch(() => undefined);
    }, this.parts.opts.autosaveMs);
    this.autosave.unref();
  }

  upsert(points: readonly VectorPoint[]): Promise<void> {
    try {
      this.checkOpen('upsert');
      const batch = checkBatch(points, this.spec);
      if (batch.length === 0) return Promise.resolve();
      return this.writes.run(() => this.applyUpsert(batch));
    } catch (err) {
      return Promise.reject(storeError('upsert', err));
    }
  }

  private async applyUpsert(batch: VectorPoint[]): Promise<void> {
    this.checkOpen('upsert');
    let moved: number[];
    try {
      moved = commitUpsert(this.parts, batch);
    } catch (err) {
      throw storeError('upsert', err);
    }
    this.touch();
    try {
      await this.parts.graph.add(moved, moved.length, this.parts.slab);
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
      return this.writes.run(() => {
        this.checkOpen('delete');
        let removed: boolean;
        try {
          removed = commitDelete(this.parts, unique);
        } catch (err) {
          throw storeError('delete', err);
        }
        if (removed) this.touch();
      });
    } catch (err) {
      return Promise.reject(storeError('delete', err));
    }
  }

  get(id: string): Promise<VectorPoint | undefined> {
    try {
      this.checkOpen('get');
      const row = this.parts.table.withVector(id);
      if (!row) return Promise.resolve(undefined);
      return Promise.resolve({ id, vector: vectorOf(row.v, this.spec.dims), payload: JSON.parse(row.payload) as VectorPayload });
    } catch (err) {
      return Promise.reject(storeError('get', err));
    }
  }

  count(filter?: VectorFilter): Promise<number> {
    try {
      this.checkOpen('count');
      const sel = this.parts.filters.select(filter, this.parts.labels.end);
      return Promise.resolve(sel ? sel.labels.length : this.parts.labels.live);
    } catch (err) {
      return Promise.reject(storeError('count', err));
    }
  }

  search(vector: Float32Array, opts: SearchOptions = {}): Promise<SearchHit[]> {
    try {
      this.checkOpen('search');
      checkVector(vector, this.spec, 'search');
      return Promise.resolve(searchPoints(this.parts, vector, opts));
    } catch (err) {
      return Promise.reject(storeError('search', err));
    }
  }

  scroll(opts: { filter?: VectorFilter; batch?: number } = {}): AsyncIterable<VectorPoint[]> {
    return { [Symbol.asyncIterator]: () => scrollPoints(this.parts, () => this.checkOpen('scroll'), opts) };
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.writes.run(() => this.save());
  }

  private async save(): Promise<void> {
    if (!this.unsaved || this.indexStale) return;
    const gen = this.parts.table.generation;
    await saveGraph(this.parts.graph, this.folder, gen);
    this.savedGeneration = gen;
    this.unsaved = false;
  }

  stats(): EmbeddedCollectionStats {
    return {
      points: this.parts.labels.live,
      indexed: this.closed ? this.closedIndexed : this.parts.graph.count,
      generation: this.parts.table.generation,
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
      this.parts.table.close();
      // Gigabytes at a million points: let them go even while callers still hold this object.
      this.closedIndexed = this.parts.graph.count;
      this.parts.slab.clear();
      this.parts.graph.release();
      this.parts.filters.clear();
    }
  }
}
