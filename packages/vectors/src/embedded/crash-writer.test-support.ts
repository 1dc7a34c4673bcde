// Child process for embedded.test.ts: writes to a store, saves the index part-way, writes more,
// reports what was acknowledged, then dies with SIGKILL before close() (a crash: no index save,
// no orderly shutdown). The parent reopens the folder and checks nothing acknowledged is lost.
//   node --import tsx --conditions=loupe-source crash-writer.test-support.ts <dir> <dims>
import { openEmbeddedVectorStore } from './store.js';
import { ClusteredVectors } from '../../bench/synthetic.js';
import type { VectorPoint } from '../port.js';

const [dir, dimsArg] = process.argv.slice(2);
const dims = Number(dimsArg);
const gen = new ClusteredVectors({ dims, clusters: 40, seed: 7 });
const point = (i: number): VectorPoint => ({
  id: `https://example.org/crash/canvas/${i}#0`,
  vector: gen.vector(i, new Float32Array(dims)),
  payload: { canvasId: `https://example.org/crash/canvas/${i}`, imageIndex: 0, manifestId: `https://example.org/crash/manifest/${i % 3}` },
});

const store = await openEmbeddedVectorStore({ dir: dir!, autosaveMs: 0 });
const col = await store.collection({ modelId: 'crash', modelVersion: '1', dims });
await col.upsert(Array.from({ length: 2500 }, (_, i) => point(i)));
await col.flush();
// After the save: 600 more points, 100 deletions, and a payload change. All acknowledged.
await col.upsert(Array.from({ length: 600 }, (_, i) => point(2500 + i)));
await col.delete(Array.from({ length: 100 }, (_, i) => point(i).id));
await col.upsert([{ ...point(200), payload: { ...point(200).payload, rights: 'https://creativecommons.org/publicdomain/zero/1.0/' } }]);
process.stdout.write(`${JSON.stringify({ acknowledged: true, stats: col.stats() })}\n`, () => process.kill(process.pid, 'SIGKILL'));
