import type { VectorCollectionSpec } from '../port.js';
import type { HnswGraph } from './hnsw-graph.js';
import type { LabelSpace } from './labels.js';
import type { PayloadFilters } from './payload-filters.js';
import type { PointTable } from './point-table.js';
import type { VectorSlab } from './slab.js';

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

/**
 * What an open collection is made of, handed to the modules that read and write it: the stored
 * points (table), their labels, vectors (slab) and filters in memory, and the graph.
 */
export interface CollectionParts {
  readonly spec: VectorCollectionSpec;
  readonly opts: EmbeddedCollectionOptions;
  readonly table: PointTable;
  readonly labels: LabelSpace;
  readonly slab: VectorSlab;
  readonly filters: PayloadFilters;
  readonly graph: HnswGraph;
}
