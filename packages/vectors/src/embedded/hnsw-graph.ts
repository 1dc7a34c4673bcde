import { setImmediate as yieldToLoop } from 'node:timers/promises';
import hnswlib from 'hnswlib-node';
import type { VectorSlab } from './slab.js';

type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;

/** hnswlib's seed: the same points inserted in the same order build the same graph. */
const RANDOM_SEED = 100;
/** Graph insertions between yields to the event loop: searches keep being answered during a bulk load. */
const YIELD_EVERY = 256;

export interface GraphShape {
  readonly m: number;
  readonly efConstruction: number;
}

/**
 * The hnswlib graph of a collection (space 'ip': distance 1 − dot), a derived cache of the
 * stored vectors. hnswlib-node's calls are synchronous: a search runs to completion on the event
 * loop, and bulk insertion yields every YIELD_EVERY points so searches interleave with it.
 */
export class HnswGraph {
  /** One JS array reused for every vector handed to hnswlib, which takes only plain arrays. */
  private readonly row: number[];

  private constructor(
    private index: Hnsw,
    private readonly dims: number,
  ) {
    this.row = new Array<number>(dims).fill(0);
  }

  static empty(dims: number, capacity: number, shape: GraphShape): HnswGraph {
    const index = new hnswlib.HierarchicalNSW('ip', dims);
    index.initIndex({ maxElements: Math.max(1024, capacity), m: shape.m, efConstruction: shape.efConstruction, randomSeed: RANDOM_SEED });
    return new HnswGraph(index, dims);
  }

  /** Reads a graph file; rejects when it is unreadable (truncated by a full disk, say). */
  static async read(file: string, dims: number): Promise<HnswGraph> {
    const index = new hnswlib.HierarchicalNSW('ip', dims);
    await index.readIndex(file);
    return new HnswGraph(index, dims);
  }

  /** Elements in the graph, deleted ones (kept for reuse) included. */
  get count(): number {
    return this.index.getCurrentCount();
  }

  labels(): number[] {
    return this.index.getIdsList();
  }

  /** Adds (or re-adds, un-deleting) labels with their vectors from the slab, yielding now and then. */
  async add(labels: Iterable<number>, count: number, slab: VectorSlab): Promise<void> {
    const need = this.index.getCurrentCount() + count;
    const max = this.index.getMaxElements();
    if (need > max) this.index.resizeIndex(Math.max(need, Math.ceil(max * 1.5)));
    let n = 0;
    for (const label of labels) {
      this.index.addPoint(this.toRow(slab.row(label)), label);
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
    }
  }

  /** Hides a label from searches; one never added, or already hidden, is left as it is. */
  hide(label: number): void {
    try {
      this.index.markDelete(label);
    } catch {
      // Not in the graph, or already deleted: nothing to hide.
    }
  }

  /** The labels of up to k nearest to q that pass `filter`, exploring max(ef, k) candidates. */
  nearest(q: Float32Array, k: number, ef: number, filter?: (label: number) => boolean): number[] {
    this.index.setEf(Math.max(ef, k));
    return this.index.searchKnn(this.toRow(q), k, filter).neighbors;
  }

  write(file: string): Promise<boolean> {
    return this.index.writeIndex(file);
  }

  /** Gigabytes at a million points: let them go even while callers still hold this object. */
  release(): void {
    this.index = new hnswlib.HierarchicalNSW('ip', this.dims);
  }

  private toRow(v: Float32Array): number[] {
    const row = this.row;
    for (let k = 0; k < v.length; k++) row[k] = v[k]!;
    return row;
  }
}
