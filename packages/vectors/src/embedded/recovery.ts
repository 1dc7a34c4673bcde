import { performance } from 'node:perf_hooks';
import { HnswGraph, type GraphShape } from './hnsw-graph.js';
import { loadNewestGraph } from './graph-file.js';
import type { LabelSpace } from './labels.js';
import type { PointTable } from './point-table.js';
import type { VectorSlab } from './slab.js';

/** How the ANN index was obtained when the collection was opened. */
export type IndexOpening =
  /** The saved index was current. */
  | 'loaded'
  /** The saved index was older than the points: the changes since were replayed into it. */
  | 'caught-up'
  /** No usable saved index: built again from the stored vectors. */
  | 'rebuilt';

export interface GraphOpening {
  readonly graph: HnswGraph;
  /** Generation of the graph file loaded, undefined when rebuilt. */
  readonly savedGeneration: number | undefined;
  /** Whether the graph now has changes no file on disk has. */
  readonly unsaved: boolean;
  readonly opened: { readonly index: IndexOpening; readonly replayed: number; readonly seconds: number };
}

/** Reads every stored vector into the slab and the label space (the first step of an open). */
export function loadPoints(table: PointTable, labels: LabelSpace, slab: VectorSlab): void {
  for (const [label, v] of table.vectors()) {
    slab.setBytes(label, v);
    labels.markAlive(label);
  }
  labels.collectFree();
}

/**
 * Brings the graph level with the stored points after an open, orderly or after a crash: the
 * newest readable file, with what changed since its generation replayed (points stamped later
 * re-added, graph labels with no stored point hidden); with no readable file, built again from
 * the stored vectors. A crash therefore loses only index work, redone here.
 */
export async function openGraph(folder: string, table: PointTable, labels: LabelSpace, slab: VectorSlab, shape: GraphShape): Promise<GraphOpening> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const loaded = await loadNewestGraph(folder, slab.dims, table.generation);

  if (!loaded) {
    const graph = HnswGraph.empty(slab.dims, Math.ceil(labels.live * 1.1), shape);
    await graph.add(labels.aliveLabels(), labels.live, slab);
    return { graph, savedGeneration: undefined, unsaved: labels.live > 0, opened: { index: 'rebuilt', replayed: labels.live, seconds: seconds() } };
  }

  const { graph, generation } = loaded;
  const end = labels.end;
  const alive = labels.alive;
  // Graph labels with no stored point were deleted after the save: delete them in the graph too.
  const inGraph = new Uint8Array(end);
  for (const label of graph.labels()) {
    if (label < end) inGraph[label] = 1;
    if (label >= end || alive[label] !== 1) graph.hide(label);
  }
  // Points written after the save, and any live point the graph lacks, go in (again).
  const replay = new Set<number>();
  for (const label of table.changedSince(generation)) replay.add(label);
  for (const label of labels.aliveLabels()) if (inGraph[label] !== 1) replay.add(label);
  await graph.add(replay, replay.size, slab);
  const unsaved = replay.size > 0 || generation !== table.generation;
  return { graph, savedGeneration: generation, unsaved, opened: { index: unsaved ? 'caught-up' : 'loaded', replayed: replay.size, seconds: seconds() } };
}
