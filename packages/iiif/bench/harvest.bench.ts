/**
 * How long harvesting one large manifest takes, for Presentation 2 and 3, at growing canvas counts.
 * Run: pnpm run bench:harvest [20000 40000 100000]
 * Time should grow linearly with the canvas count, and P2 stay within a small factor of P3. Also
 * printed: the longest the event loop went unanswered meanwhile (a server's /healthz waits that
 * long at worst) and the process's resident memory after each harvest.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { manifestV2, manifestV3, type ManifestSpec } from '@loupe/testing';
import { harvestAll } from '../src/index.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

function spec(canvases: number): ManifestSpec {
  return {
    id: 'http://bench.test/m/book.json',
    canvases: Array.from({ length: canvases }, (_, i) => ({
      label: `page ${i + 1}`,
      width: 2000,
      height: 3000,
      image: { serviceId: `http://bench.test/iiif/page${i + 1}`, version: 2 as const, level: 1 as const },
    })),
  };
}

for (const canvases of sizes.length > 0 ? sizes : [20_000, 40_000, 100_000]) {
  for (const [version, build] of [[2, manifestV2], [3, manifestV3]] as const) {
    const document = build(spec(canvases));
    // A timer every 5 ms: the longest gap between two of its runs is the longest the loop was busy.
    let last = performance.now();
    let stall = 0;
    const probe = setInterval(() => {
      stall = Math.max(stall, performance.now() - last);
      last = performance.now();
    }, 5);
    const started = performance.now();
    const { manifests, errors } = await harvestAll('http://bench.test/m/book.json', async () => document);
    const ms = performance.now() - started;
    // A loop blocked from start to end shows its stall only when the timer runs at last.
    await sleep(30);
    clearInterval(probe);
    const read = manifests[0]?.canvases.length ?? 0;
    if (read !== canvases || errors.length > 0) throw new Error(`P${version} ${canvases}: read ${read} canvases, errors ${JSON.stringify(errors)}`);
    const rss = process.memoryUsage().rss / 2 ** 20;
    console.log(
      `P${version} ${String(canvases).padStart(7)} canvases  ${(ms / 1000).toFixed(2).padStart(6)} s  ${((ms * 1000) / canvases).toFixed(1).padStart(6)} us/canvas` +
        `  longest stall ${stall.toFixed(0).padStart(5)} ms  rss ${rss.toFixed(0)} MiB`,
    );
  }
}
