/**
 * Benchmark (not a test): does `loupe serve` stay responsive while it enriches, and how much memory
 * does it take to do so (docs/benchmarks.md, "Serving while enriching").
 *
 * A local IIIF image server (level 2) serves N canvas images: the fixtures of ../shared/fixtures/images
 * when the checkout has them, generated pictures otherwise. `loupe serve` runs as a child process
 * (so its RSS is its own): the built CLI, as an operator runs it (`pnpm run build` first), or with
 * --source the TypeScript sources through tsx (which adds tsx's own memory). Then
 * autocannon's clients read GET /v1/annotations over loopback for a fixed time in three phases:
 * idle before the job, while an `enrich` job over the N canvases runs, and idle after it (when the
 * store holds the job's annotations, so the page read is the same size as during the job's end).
 * The child's RSS is sampled from /proc every 100 ms; VmHWM gives its peak. A module loaded first in the
 * child reports its event-loop delay (perf_hooks) every half second on fd 3: the delay is what
 * blocks every answer, and reads far less noisy than latency on a shared machine.
 *   pnpm run bench:serve [--canvases 12] [--seconds 15] [--connections 50] [--source] [--cpu-prof DIR]
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import { freePort } from '../support/loupe-process.js';

const { values } = parseArgs({
  options: {
    canvases: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    source: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
const CANVASES = Number(values.canvases);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const FIXTURES = path.resolve('..', 'shared', 'fixtures', 'images');

/** The canvas images: real fixtures (photographs, pages, paintings) or, without ../shared, generated ones. */
async function canvasImages(): Promise<{ name: string; bytes: Buffer }[]> {
  if (existsSync(FIXTURES)) {
    const names = (await fs.readdir(FIXTURES)).filter((n) => /\.(jpe?g|png|webp)$/.test(n) && !/^(thumb|text-line)/.test(n)).sort();
    // Every third file: a mix of pages, photographs, paintings and coins rather than one kind.
    const picked = names.filter((_, i) => i % 3 === 0).concat(names.filter((_, i) => i % 3 !== 0)).slice(0, CANVASES);
    return Promise.all(picked.map(async (name) => ({ name, bytes: await fs.readFile(path.join(FIXTURES, name)) })));
  }
  console.log(`(${FIXTURES} is absent: generated pictures instead of the fixtures)`);
  return Promise.all(
    Array.from({ length: CANVASES }, async (_, i) => ({
      name: `generated-${i}`,
      bytes: await sharp({ create: { width: 2400, height: 3200, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    })),
  );
}

interface Memory {
  rssMiB: number;
  peakMiB: number;
}

/** The child's resident memory now and its high-water mark, from /proc (Linux). */
async function memoryOf(pid: number): Promise<Memory | undefined> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (!status) return undefined;
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** Loaded first in serve: every 500 ms, the event loop's delay p99 and max over that window (ms) on fd 3. */
const REPORT_DELAY = `data:text/javascript,${encodeURIComponent(
  "import { monitorEventLoopDelay } from 'node:perf_hooks'; import { writeSync } from 'node:fs'; const h = monitorEventLoopDelay({ resolution: 10 }); h.enable(); setInterval(() => { try { writeSync(3, JSON.stringify({ p99: h.percentile(99) / 1e6, max: h.max / 1e6 }) + '\\n'); } catch {} h.reset(); }, 500).unref();",
)}`;
let delays: { p99: number; max: number }[] = [];

interface Phase {
  phase: string;
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  rssMaxMiB: number;
  loopDelayP99: number;
  loopDelayMax: number;
}

async function loadPhase(phase: string, base: string, pid: number): Promise<Phase> {
  let rssMaxMiB = 0;
  delays = [];
  const sampler = setInterval(() => void memoryOf(pid).then((m) => m && (rssMaxMiB = Math.max(rssMaxMiB, m.rssMiB))), 100);
  try {
    const result = await autocannon({ url: `${base}/v1/annotations?limit=20`, connections: CONNECTIONS, duration: SECONDS, timeout: 30 });
    return {
      phase,
      requests: result.requests.total,
      errors: result.errors + result.timeouts + result.non2xx,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      rssMaxMiB: Math.round(rssMaxMiB),
      // The worst half-second's p99 and the longest single stall.
      loopDelayP99: Math.round(Math.max(0, ...delays.map((d) => d.p99))),
      loopDelayMax: Math.round(Math.max(0, ...delays.map((d) => d.max))),
    };
  } finally {
    clearInterval(sampler);
  }
}

async function until<T>(what: string, limitMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() - started > limitMs) throw new Error(`${what} within ${limitMs / 1000} s: no`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const images = await canvasImages();
const server = await startIiifImageServer();
const canvases = [];
for (const [i, { name, bytes }] of images.entries()) {
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const serviceId = await server.addImage(`img-${i}`, bytes, { version: 3, level: 2 });
  canvases.push({ label: name, width, height, image: { serviceId, version: 3 as const, level: 2 as const, width, height } });
}
const manifestUrl = `${server.url}/m/serve-load.json`;
server.addDocument('/m/serve-load.json', manifestV3({ id: manifestUrl, label: 'Serve load bench', canvases }));

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-serve-load-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
// Node refuses --cpu-prof in NODE_OPTIONS: it goes on the child's command line (one .cpuprofile per thread).
const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : [];
const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe', 'pipe'];
const env = { LOUPE_PORT: String(port), LOUPE_HOST: '127.0.0.1', LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' };
const child = values.source
  ? spawn(process.execPath, [...profile, '--import', REPORT_DELAY, '--import', 'tsx', '--conditions=loupe-source', path.resolve('packages/cli/src/cli.ts'), 'serve'], { env: { ...process.env, ...env }, stdio })
  : spawn(process.execPath, [...profile, '--import', REPORT_DELAY, path.resolve('packages/cli/bin/loupe.js'), 'serve'], { env: { ...process.env, ...env }, stdio });
let delayLine = '';
child.stdio[3]!.on('data', (d: Buffer) => {
  const lines = (delayLine + d.toString()).split('\n');
  delayLine = lines.pop()!;
  for (const line of lines) delays.push(JSON.parse(line) as { p99: number; max: number });
});
child.stdout!.resume();
child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[serve] ${d}`));
const pid = child.pid!;
try {
  await until('serve ready', 300_000, async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined));
  const ready = await memoryOf(pid);
  const phases: Phase[] = [await loadPhase('idle, before', base, pid)];

  const jobStarted = performance.now();
  const job = (await (await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: manifestUrl, pipeline: 'enrich' }) })).json()) as { id: string };
  let jobState: { state: string; tasks?: unknown; failures?: unknown[] } = { state: 'harvesting' };
  let jobMs = Number.NaN;
  const watcher = (async () => {
    for (;;) {
      jobState = (await (await fetch(`${base}/v1/jobs/${job.id}`)).json()) as typeof jobState;
      if (jobState.state === 'done' || jobState.state === 'failed') return void (jobMs = performance.now() - jobStarted);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  await until('job running', 60_000, async () => (jobState.state === 'running' ? true : undefined));
  const busy = await loadPhase('enrich running', base, pid);
  const stillRunning = jobState.state === 'running';
  phases.push(busy);
  let peakMiB = 0;
  const sampler = setInterval(() => void memoryOf(pid).then((m) => m && (peakMiB = Math.max(peakMiB, m.rssMiB))), 100);
  await Promise.race([watcher, new Promise((resolve) => setTimeout(resolve, 600_000))]);
  clearInterval(sampler);
  phases.push(await loadPhase('idle, after', base, pid));
  const end = await memoryOf(pid);

  console.log(`\n${CANVASES} canvases, ${CONNECTIONS} connections, ${SECONDS} s a phase; GET /v1/annotations?limit=20 (latency in ms)`);
  console.table(phases);
  console.log(
    JSON.stringify({
      job: jobState.state,
      failures: jobState.failures?.length ?? 0,
      jobSeconds: Math.round(jobMs / 100) / 10,
      jobRanThroughBusyPhase: stillRunning,
      rssReadyMiB: Math.round(ready?.rssMiB ?? 0),
      rssAfterMiB: Math.round(end?.rssMiB ?? 0),
      peakMiB: Math.round(Math.max(end?.peakMiB ?? 0, peakMiB)),
    }),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('close', resolve));
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
// fetch's pooled keep-alive sockets to the stopped child would hold the bench open for minutes.
process.exit(0);
