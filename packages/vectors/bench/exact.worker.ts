// Worker for vectors.bench.ts: exact top-k of the sampled queries over a range of the synthetic
// collection, regenerated here from its seed (so no gigabytes travel between threads), for the
// unfiltered search and for each "row % mod === 0" filter at once (one dot product per row and query).
import { parentPort, workerData } from 'node:worker_threads';
import { ClusteredVectors, dotRow } from './synthetic.js';

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
const best = job.mods.map(() => job.queries.map(() => ({ rows: new Int32Array(job.k).fill(-1), scores: new Float64Array(job.k).fill(-Infinity) })));
const CHUNK = 2048;
const block = new Float32Array(CHUNK * job.dims);
for (let start = job.from; start < job.to; start += CHUNK) {
  const len = Math.min(CHUNK, job.to - start);
  for (let r = 0; r < len; r++) gen.vector(start + r, block.subarray(r * job.dims, (r + 1) * job.dims));
  for (let r = 0; r < len; r++) {
    const row = start + r;
    for (let qi = 0; qi < job.queries.length; qi++) {
      const s = dotRow(block, r, job.queries[qi]!, job.dims);
      for (let f = 0; f < job.mods.length; f++) {
        if (row % job.mods[f]! !== 0) continue;
        const b = best[f]![qi]!;
        if (s <= b.scores[job.k - 1]!) continue;
        let j = job.k - 1;
        while (j > 0 && b.scores[j - 1]! < s) {
          b.scores[j] = b.scores[j - 1]!;
          b.rows[j] = b.rows[j - 1]!;
          j--;
        }
        b.scores[j] = s;
        b.rows[j] = row;
      }
    }
  }
}
const result: ExactResult = best.map((perQuery) => perQuery.map((b) => ({ rows: [...b.rows], scores: [...b.scores] })));
parentPort!.postMessage(result);
