// What the crash-recovery tests share: a small book on a loopback IIIF server whose images can be
// held back (so that a kill lands at an exact point: N canvases done, or mid-harvest), `loupe serve`
// processes to kill and restart, and the checks every recovered job must pass.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { canvasOfTarget } from '@loupe/contracts';
import { seededRandom } from '@loupe/datasets';
import { integrityCheck } from '@loupe/store';
import { manifestV3, renderTextPage, startIiifImageServer, type IiifImageServer } from '@loupe/testing';
import { freePort, spawnLoupe } from './loupe-process.js';

export const CANVASES = 6;
const WORDS = ['Liber primus', 'Anno Domini 1623', 'Register of deeds', 'Folio 12 verso', 'Index nominum', 'Catalogue 1897'];
const MANIFEST_PATH = '/m/register.json';

export interface Book {
  readonly manifestUrl: string;
  readonly canvasIds: readonly string[];
  readonly lines: readonly string[];
}

/** Six one-line pages (the cheapest work that stores annotations: one OCR line each), each its own image. */
export async function publishBook(iiif: IiifImageServer): Promise<Book> {
  const canvases = [];
  for (let i = 0; i < CANVASES; i++) {
    const page = await renderTextPage({ lines: [WORDS[i]!], font: 'serif', sizePt: 20, width: 420, margin: 24, format: 'png' });
    await iiif.addImage(`p${i}`, page.image, { version: 3, level: 2 });
    canvases.push({ label: `f. ${i + 1}`, width: 420, height: page.height, image: { serviceId: iiif.serviceId(`p${i}`), version: 3 as const, level: 2 as const } });
  }
  const manifestUrl = `${iiif.url}${MANIFEST_PATH}`;
  const manifest = manifestV3({ id: manifestUrl, label: 'Register', canvases });
  iiif.addDocument(MANIFEST_PATH, manifest);
  const canvasIds = (manifest.items as { id: string }[]).map((c) => c.id);
  return { manifestUrl, canvasIds, lines: WORDS };
}

/** Where a kill lands: while the source is being harvested, or once exactly `done` canvases are done. */
export type KillPoint = { readonly kind: 'harvesting' } | { readonly kind: 'tasks'; readonly done: number };

/** Seeded kill points: always one mid-harvest, the rest after a random number of canvases. */
export function killPoints(random: () => number, count: number): KillPoint[] {
  const points: KillPoint[] = [{ kind: 'harvesting' }];
  while (points.length < count) points.push({ kind: 'tasks', done: 1 + Math.floor(random() * (CANVASES - 1)) });
  return points;
}

export const describe = (p: KillPoint): string => (p.kind === 'harvesting' ? 'mid-harvest' : `after ${p.done} of ${CANVASES} canvases`);

const imageOf = (i: number): RegExp => new RegExp(`^/iiif/p${i}/(?!info\\.json)`);

/**
 * Holds back what lies past the kill point: the manifest, or the images of canvases `done` and
 * later (their info.json still answers). Held requests never answer, so no clock decides where
 * the kill lands.
 */
export function holdBack(iiif: IiifImageServer, point: KillPoint, opts: { checkedFirst?: boolean } = {}): void {
  iiif.clearFaults();
  // `loupe run` reads the manifest once to check it before it harvests: the harvest's request is the one held.
  if (point.kind === 'harvesting') return iiif.fail(MANIFEST_PATH, { never: true, ...(opts.checkedFirst && { after: 1 }) });
  for (let i = point.done; i < CANVASES; i++) iiif.fail(imageOf(i), { never: true });
}

/** Canvases whose image was requested, by index. */
export function imagesRequested(iiif: IiifImageServer): number[] {
  return [...new Set(iiif.requests.flatMap((path) => Array.from({ length: CANVASES }, (_, i) => i).filter((i) => imageOf(i).test(path))))].sort();
}

/** The manifest was asked for (`times` times: `loupe run` checks it once before it harvests). */
export const manifestRequested = (iiif: IiifImageServer, times = 1): boolean => iiif.requests.filter((p) => p.startsWith(MANIFEST_PATH)).length >= times;

/** The canvases a job killed after `done` canvases had still to do. */
export const notDoneBefore = (done: number): number[] => Array.from({ length: CANVASES - done }, (_, i) => done + i);

/** After a kill: nothing held back, nothing recorded, and no fetch cache, so that any canvas done again has to ask the server. */
export async function forgetFetches(iiif: IiifImageServer, dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, 'cache'), { recursive: true, force: true });
  iiif.clearFaults();
  iiif.reset();
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, opts: { timeoutMs?: number; log?: () => string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${opts.log ? `\n${opts.log().slice(-3000)}` : ''}`);
    await sleep(100);
  }
}

export interface JobView {
  id: string;
  state: string;
  tasks: { total: number; done: number; failed: number };
  failures: { code: string; message: string }[];
  /** Per stage, in pipeline order: messages waiting and delivered but not yet acknowledged. */
  queues?: Record<string, { pending: number; inFlight: number }>;
}

/**
 * Every message of the canvases done has been acknowledged: only the held canvases are left, in
 * the first stage. A stage acknowledges after it forwards and reports, so a canvas can be done
 * while an earlier stage's acknowledgement is still on its way; a SIGKILL then would (rightly)
 * have that stage's message redelivered, and its canvas fetched again after the restart.
 */
function settledAt(job: JobView, done: number): boolean {
  const queues = Object.values(job.queues ?? {});
  if (queues.length === 0) return false;
  const [first, ...rest] = queues;
  return first!.pending + first!.inFlight === CANVASES - done && rest.every((q) => q.pending + q.inFlight === 0);
}

export interface Serve {
  readonly base: string;
  readonly stderr: () => string;
  job(id: string): Promise<JobView>;
  createJob(manifest: string): Promise<string>;
  /** SIGKILL, and wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, and wait for a graceful exit. */
  stop(): Promise<number | null>;
}

/** `loupe serve` on a free loopback port, ready to take jobs. */
export async function startServe(t: Test, env: Record<string, string>): Promise<Serve> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawnLoupe(['serve'], {
    env: {
      LOUPE_PORT: String(port),
      LOUPE_HOST: '127.0.0.1',
      // Servers deny loopback by default; the test's IIIF server is opened explicitly.
      LOUPE_FETCH_ALLOW: '127.0.0.1',
      LOUPE_LOG_LEVEL: 'warn',
      LOUPE_STAGE_CONCURRENCY: '2',
      ...env,
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL'));
  const log = () => stderr;
  await until(`${base}/readyz`, async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), { log });
  return {
    base,
    stderr: log,
    async job(id) {
      return (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as JobView;
    },
    async createJob(manifest) {
      const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest }) });
      if (res.status !== 200) throw new Error(`POST /v1/jobs answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as JobView).id;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Waits until the kill point is reached in a job the API can see; returns the job then. */
export function reached(serve: Serve, id: string, point: KillPoint, iiif: IiifImageServer): Promise<JobView> {
  return until(
    describe(point),
    async () => {
      const job = await serve.job(id);
      if (point.kind === 'harvesting') return job.state === 'harvesting' && manifestRequested(iiif) ? job : undefined;
      return job.tasks.done >= point.done && settledAt(job, point.done) ? job : undefined;
    },
    { log: serve.stderr },
  );
}

interface StoredAnnotation {
  target: string | { source: string | { id: string } };
  body: { value?: string } | { value?: string }[];
  generator?: { 'loupe:model'?: string };
}

/** Every canvas has exactly one result set (one OCR line from one model): none missing, none doubled. */
export function checkOneResultEach(t: Test, book: Book, annotations: StoredAnnotation[]): void {
  const perCanvas = new Map<string, string[]>();
  for (const a of annotations) perCanvas.set(canvasOfTarget(a.target), [...(perCanvas.get(canvasOfTarget(a.target)) ?? []), a.generator?.['loupe:model'] ?? '?']);
  t.same([...perCanvas.keys()].sort(), [...book.canvasIds].sort(), 'every canvas has its result');
  t.same(
    [...perCanvas.entries()].filter(([, models]) => models.length !== 1 || new Set(models).size !== 1),
    [],
    'and exactly one line from one model on each',
  );
}

/** What every crash test starts from: seeded kill points, a scratch folder, the book on a IIIF server; all gone at the end. */
export interface CrashBench {
  readonly random: () => number;
  readonly tmp: string;
  readonly iiif: IiifImageServer;
  readonly book: Book;
}

export async function crashBench(t: Test, name: string, opts: { seedSalt?: string; cleanup?: () => Promise<void> } = {}): Promise<CrashBench> {
  const seed = Number(process.env.LOUPE_CRASH_SEED ?? 14);
  t.comment(`kill points from seed ${seed} (set LOUPE_CRASH_SEED to try others)`);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), `loupe-${name}-`));
  const iiif = await startIiifImageServer();
  t.teardown(async () => {
    await iiif.close();
    await opts.cleanup?.();
    await fs.rm(tmp, { recursive: true, force: true });
  });
  return { random: seededRandom(opts.seedSalt === undefined ? seed : `${seed}/${opts.seedSalt}`), tmp, iiif, book: await publishBook(iiif) };
}

/**
 * `loupe serve` with `env` takes a job on the book, is SIGKILLed at `point`, and is started again
 * with `restartEnv` added; answers the restarted server and the job once it ended. Checks on the
 * way that the kill landed where it should and that the store survived it.
 */
export async function killServeAndRestart(
  t: Test,
  bench: CrashBench,
  point: KillPoint,
  env: Record<string, string> & { LOUPE_DATA_DIR: string },
  restartEnv: Record<string, string> = {},
): Promise<{ second: Serve; id: string; final: JobView }> {
  const { iiif, book } = bench;
  const db = path.join(env.LOUPE_DATA_DIR, 'loupe.db');
  holdBack(iiif, point);
  const first = await startServe(t, env);
  const id = await first.createJob(book.manifestUrl);
  const atKill = await reached(first, id, point, iiif);
  await first.kill9();
  if (point.kind === 'tasks') t.equal(atKill.tasks.done, point.done, 'killed at its point');
  t.same(integrityCheck(db), ['ok'], 'the store is sound right after SIGKILL');

  await forgetFetches(iiif, env.LOUPE_DATA_DIR);
  const second = await startServe(t, { ...env, ...restartEnv });
  const final = await until(
    'the job to end',
    async () => {
      const job = await second.job(id);
      return job.state === 'done' || job.state === 'failed' ? job : undefined;
    },
    { log: second.stderr },
  );
  t.match(final, { state: 'done', tasks: { total: CANVASES, done: CANVASES, failed: 0 } }, 'the job ends done');
  return { second, id, final };
}

/** After a resumed job: one result on every canvas, no canvas done before the kill fetched again, the store sound once stopped. */
export async function checkResumed(t: Test, bench: CrashBench, second: Serve, point: KillPoint, dataDir: string): Promise<void> {
  const { iiif, book } = bench;
  const page = (await (await fetch(`${second.base}/v1/annotations?manifest=${encodeURIComponent(book.manifestUrl)}&limit=1000`)).json()) as { items: [] };
  checkOneResultEach(t, book, page.items);
  if (point.kind === 'tasks') t.same(imagesRequested(iiif), notDoneBefore(point.done), 'only the canvases not done were fetched again');
  await second.stop();
  t.same(integrityCheck(path.join(dataDir, 'loupe.db')), ['ok'], 'and sound at the end');
}
