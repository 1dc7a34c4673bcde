// Fault test (`pnpm run test:fault`): 300 canvases through 3 worker processes over NATS JetStream.
// One worker is SIGKILLed mid-run and nats-server is stopped and restarted once (its store on
// disk). Every canvas must end with exactly one result set, and the job must report done.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { manifestV3, renderTextPage, requireNatsOrSkip, startIiifImageServer, startNatsServer } from '@loupe/testing';
import { freePort, spawnLoupe } from '../support/loupe-process.js';

const CANVASES = 300;
const WORKERS = 3;


if (!requireNatsOrSkip(t)) process.exit(0);

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-fault-'));
const nats = await startNatsServer({ storeDir: path.join(tmp, 'jetstream') });
const iiif = await startIiifImageServer();
const children = new Set<ChildProcess>();
t.teardown(async () => {
  for (const child of children) child.kill('SIGKILL');
  await iiif.close();
  await nats.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

// 300 canvases over a few distinct one-line images (rendering 300 would only slow the test down).
const words = ['Anno Domini 1623', 'Liber primus', 'Register of deeds', 'Folio 12 verso', 'Index nominum', 'Tabula', 'Catalogue 1897'];
const lines: string[] = [];
const canvases = [];
for (let i = 0; i < CANVASES; i++) {
  const text = words[i % words.length]!;
  lines.push(text);
  if (i < words.length) {
    const page = await renderTextPage({ lines: [text], font: 'serif', sizePt: 20, width: 420, margin: 24, format: 'png' });
    await iiif.addImage(`w${i}`, page.image, { version: 3, level: 2 });
  }
}
const probe = await renderTextPage({ lines: [words[0]!], font: 'serif', sizePt: 20, width: 420, margin: 24, format: 'png' });
for (let i = 0; i < CANVASES; i++) {
  canvases.push({ label: `f. ${i + 1}`, width: 420, height: probe.height, image: { serviceId: iiif.serviceId(`w${i % words.length}`), version: 3 as const, level: 2 as const } });
}
const manifestUrl = `${iiif.url}/m/register.json`;
iiif.addDocument('/m/register.json', manifestV3({ id: manifestUrl, label: 'Register', canvases }));

interface Proc {
  child: ChildProcess;
  base: string;
  log: string[];
}

async function serve(name: string, services: string): Promise<Proc> {
  const port = await freePort();
  const child = spawnLoupe(['serve', '--services', services], {
    env: {
      LOUPE_BUS: 'nats',
      LOUPE_NATS_URL: nats.url,
      LOUPE_PORT: String(port),
      LOUPE_HOST: '127.0.0.1',
      // Servers deny loopback by default; the test's IIIF server is opened explicitly.
      LOUPE_FETCH_ALLOW: '127.0.0.1',
      LOUPE_DATA_DIR: path.join(tmp, name),
      LOUPE_LOG_LEVEL: 'warn',
      LOUPE_ACK_WAIT_MS: '4000',
      LOUPE_MAX_DELIVER: '10',
      LOUPE_RETRY_BASE_MS: '200',
      LOUPE_STAGE_CONCURRENCY: '2',
      LOUPE_FETCH_ALLOW: '127.0.0.1',
    },
  });
  children.add(child);
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  child.on('exit', () => children.delete(child));
  return { child, base: `http://127.0.0.1:${port}`, log };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const ready = (p: Proc) => until(`${p.base} to be ready`, async () => ((await fetch(`${p.base}/readyz`)).status === 200 ? true : undefined), 120_000);

interface JobView {
  id: string;
  state: string;
  tasks: { total: number; done: number; failed: number };
  failures: unknown[];
  queues: Record<string, { pending: number; inFlight: number; workers: number }>;
}

t.test(`${CANVASES} canvases, ${WORKERS} workers, one SIGKILL, one nats-server restart`, async (t) => {
  const gateway = await serve('gateway', 'gateway,iiif-fetcher,ground-truth');
  const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => serve(`worker-${i + 1}`, 'preprocess,detect')));
  await Promise.all([gateway, ...workers].map(ready));

  const created = await fetch(`${gateway.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: manifestUrl }) });
  const { id } = (await created.json()) as JobView;
  const job = async () => (await (await fetch(`${gateway.base}/v1/jobs/${id}`)).json()) as JobView;

  await until('a fifth of the canvases', async () => ((await job()).tasks.done >= CANVASES / 5 ? true : undefined));
  const victim = workers[0]!;
  const killedAt = (await job()).tasks.done;
  victim.child.kill('SIGKILL');
  t.comment(`worker-1 SIGKILLed with ${killedAt}/${CANVASES} done`);

  await until('half of the canvases', async () => ((await job()).tasks.done >= CANVASES / 2 ? true : undefined));
  const restartedAt = (await job()).tasks.done;
  await nats.restart();
  t.comment(`nats-server stopped and restarted with ${restartedAt}/${CANVASES} done`);

  const final = await until('the job to finish', async () => {
    const j = await job();
    return j.state === 'done' || j.state === 'failed' ? j : undefined;
  });
  t.equal(final.state, 'done', 'the job reports done');
  t.equal(final.tasks.total, CANVASES);
  t.equal(final.tasks.done, CANVASES, 'no canvas lost');
  t.equal(final.tasks.failed, 0, `no canvas failed: ${JSON.stringify(final.failures.slice(0, 3))}`);

  // Exactly one result set per canvas: one OCR line each, none missing, none doubled.
  const page = (await (await fetch(`${gateway.base}/v1/annotations?manifest=${encodeURIComponent(manifestUrl)}&limit=10000`)).json()) as {
    items: { target: { source: string }; body: { value: string }; generator: { 'loupe:model': string } }[];
  };
  const perCanvas = new Map<string, number>();
  for (const a of page.items) perCanvas.set(a.target.source, (perCanvas.get(a.target.source) ?? 0) + 1);
  t.equal(perCanvas.size, CANVASES, 'every canvas has its result');
  t.same([...new Set(perCanvas.values())], [1], 'and exactly one');
  const misread = page.items.filter((a) => !lines.includes(a.body.value)).map((a) => a.body.value);
  t.ok(misread.length <= CANVASES * 0.02, `the text is read (misread: ${misread.slice(0, 5).join(' | ')})`);

  const queues = final.queues;
  t.equal(queues['detect.text']?.pending, 0, 'nothing left in the detect queue');
  for (const p of [gateway, ...workers.slice(1)]) {
    p.child.kill('SIGTERM');
  }
});
