/**
 * How fast Loupe starts, as an operator and a user see it (docs/benchmarks.md):
 * - `loupe serve`: time from spawning the process to the first /healthz 200 and to /readyz 200,
 *   and the slowest /healthz answer in between (what a liveness probe waits at worst);
 * - CPU time and peak memory of `loupe --help` and `loupe iiif plan` (commands load only what they use).
 * Run after `pnpm build` (the bin runs dist): pnpm run bench:start [runs]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/loupe-process.js';

const BIN = path.resolve('packages/cli/bin/loupe.js');
const runs = Number(process.argv[2] ?? 3);

async function serveStart(dataDir: string): Promise<{ healthzMs: number; readyzMs: number; slowestHealthzMs: number }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const env = { ...process.env, LOUPE_PORT: String(port), LOUPE_HOST: '127.0.0.1', LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: 'ignore' });
  let healthzMs = Number.NaN;
  let slowestHealthzMs = 0;
  try {
    for (;;) {
      if (performance.now() - started > 180_000) throw new Error('loupe serve was not ready within 3 minutes');
      const sent = performance.now();
      const health = await fetch(`${base}/healthz`).catch(() => undefined);
      if (health?.status === 200) {
        if (Number.isNaN(healthzMs)) healthzMs = performance.now() - started;
        slowestHealthzMs = Math.max(slowestHealthzMs, performance.now() - sent);
        if ((await fetch(`${base}/readyz`)).status === 200) return { healthzMs, readyzMs: performance.now() - started, slowestHealthzMs };
      }
      await sleep(20);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
  }
}

/** Loaded first in the measured process: at exit it writes its own resource usage to fd 3. */
const REPORT_USAGE = `data:text/javascript,${encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(3, JSON.stringify(process.resourceUsage())));")}`;

/** User + system CPU seconds and peak RSS of one command, as the process itself counted them. */
async function commandCost(args: string[], cwd: string): Promise<{ cpuS: number; maxRssMiB: number }> {
  const env = { ...process.env, LOUPE_DATA_DIR: path.join(cwd, 'data') };
  const child = spawn(process.execPath, ['--import', REPORT_USAGE, BIN, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  let report = '';
  child.stdio[3]!.on('data', (d: Buffer) => (report += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`loupe ${args.join(' ')} exited ${code}`);
  const usage = JSON.parse(report) as NodeJS.ResourceUsage;
  return { cpuS: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssMiB: usage.maxRSS / 1024 };
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-start-bench-'));
try {
  const info = path.join(tmp, 'info.json');
  await fs.writeFile(info, JSON.stringify({ '@context': 'http://iiif.io/api/image/3/context.json', id: 'https://example.org/iiif/a', type: 'ImageService3', protocol: 'http://iiif.io/api/image', profile: 'level2', width: 6000, height: 4000 }));
  for (let i = 0; i < runs; i++) {
    const serve = await serveStart(path.join(tmp, `serve-${i}`));
    console.log(`serve: first /healthz ${serve.healthzMs.toFixed(0)} ms, /readyz ${serve.readyzMs.toFixed(0)} ms, slowest /healthz meanwhile ${serve.slowestHealthzMs.toFixed(0)} ms`);
  }
  for (const args of [['--help'], ['iiif', 'plan', info, '--short-side', '960']]) {
    const cost = await commandCost(args, tmp);
    console.log(`loupe ${args.join(' ').replace(info, 'info.json')}: ${cost.cpuS.toFixed(2)} s CPU, ${cost.maxRssMiB.toFixed(0)} MiB peak`);
  }
} finally {
  await fs.rm(tmp, { recursive: true, force: true });
}
