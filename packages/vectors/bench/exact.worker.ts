// Worker for vectors.bench.ts: exact top-k of the sampled queries over a range of the synthetic
// collection, regenerated here from its seed (so no gigabytes travel between threads), for the
// unfiltered search and for each "row % mod === 0" filter at once (one dot product per row and query).
import { parentPort, workerData } from 'node:worker_threads';
import { dotAt } from '../src/embedded/slab.js';
import { TopK } from '../src/embedded/topk.js';
import { ClusteredVectors } from './synthetic.js';

export interface ExactJob {
  readonly dims: number;
  readonly from: number;
  readonly to: number;
  readonly k: number;
  readonly queries: Float32Array[];
  /** Filters: a row passes filter j when row % mods[j] === 0 (mods[0] = 1: no filter). */
  readonly mods: number[];
}

/** Per filter, per query: the k best rows and their scores, best first. */
export type ExactResult = { rows: number[]; scores: number[] }[][];

const job = workerData as ExactJob;
const gen = new ClusteredVectors({ dims: job.dims });
const best = job.mods.map(() => job.queries.map(() => new TopK(job.k)));
const CHUNK = 2048;
const block = new Float32Array(CHUNK * job.dims);
for (let start = job.from; start < job.to; start += CHUNK) {
  const len = Math.min(CHUNK, job.to - start);
  for (let r = 0; r < len; r++) gen.vector(start + r, block.subarray(r * job.dims, (r + 1) * job.dims));
  for (let r = 0; r < len; r++) {
    const row = start + r;
    for (let qi = 0; qi < job.queries.length; qi++) {
      const s = dotAt(block, r * job.dims, job.queries[qi]!, job.dims);
      for (let f = 0; f < job.mods.length; f++) if (row % job.mods[f]! === 0) best[f]![qi]!.push(row, s);
    }
  }
}
const result: ExactResult = best.map((perQuery) => perQuery.map((b) => ({ rows: Array.from(b.labels.subarray(0, b.size)), scores: Array.from(b.scores.subarray(0, b.size)) })));
parentPort!.postMessage(result);
