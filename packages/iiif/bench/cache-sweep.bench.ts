// Benchmark (not a test): what keeping the fetch cache under its budget costs. Fills a folder with
// N entries laid out as the cache lays them out (`<2 hex>/<sha256>.body` of B bytes and its `.json`
// sidecar), each last used a second after the one before, then sweeps it to half its size and
// prints one JSON line: the walk and removal time, and what it removed.
//   node --import tsx --conditions=loupe-source packages/iiif/bench/cache-sweep.bench.ts [--entries 50000] [--bytes 2000]
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DiskBudget } from '../src/fetch/disk-budget.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '50000' }, bytes: { type: 'string', default: '2000' } } });
const ENTRIES = Number(values.entries);
const BYTES = Number(values.bytes);
const SIDECAR = '{"url":"https://iiif.example.org/x/full/1024,/0/default.jpg","contentType":"image/jpeg"}';

const dir = await mkdtemp(path.join(os.tmpdir(), 'loupe-sweep-bench-'));
try {
  const body = Buffer.alloc(BYTES, 7);
  const start = Date.now() - ENTRIES * 1000 - 3600_000;
  const filling = performance.now();
  for (let i = 0; i < ENTRIES; i++) {
    const key = createHash('sha256').update(String(i)).digest('hex');
    const sub = path.join(dir, key.slice(0, 2));
    await mkdir(sub, { recursive: true });
    const files = [path.join(sub, `${key}.body`), path.join(sub, `${key}.json`)];
    await writeFile(files[0]!, body);
    await writeFile(files[1]!, SIDECAR);
    const at = new Date(start + i * 1000);
    for (const f of files) await utimes(f, at, at);
  }
  const filled = performance.now() - filling;
  const total = ENTRIES * (BYTES + SIDECAR.length);
  const budget = new DiskBudget(dir, { maxBytes: Math.round(total / 2 / 0.9), keepMs: 600_000 });
  const sweeping = performance.now();
  const report = await budget.sweep();
  const swept = performance.now() - sweeping;
  const again = performance.now();
  const second = await budget.sweep();
  const idle = performance.now() - again;
  console.log(JSON.stringify({ entries: ENTRIES, bytes: total, fillSeconds: Math.round(filled / 100) / 10, sweepSeconds: Math.round(swept / 10) / 100, removed: report.removed, freed: report.freed, sweepWithinBudgetSeconds: Math.round(idle / 10) / 100, removedThen: second.removed }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
