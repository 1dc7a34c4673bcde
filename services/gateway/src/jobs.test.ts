// Crash recovery of the job runner over the real in-memory bus and a real SQLite file: a first
// runner is abandoned mid-job (its bus and everything queued on it die, as in a SIGKILL), and a
// second one, on a fresh bus over the same file, recovers. The same with real processes and
// SIGKILL, in memory and over JetStream: test/crash-recovery.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SUBJECTS, type HarvestOutput, type Logger, type StageEnvelope } from '@loupe/contracts';
import { createMemoryBus, decode, encode, type Bus } from '@loupe/bus';
import { openSqliteJobStore, type Job, type JobStore } from '@loupe/store';
import { JobRunner } from './jobs.js';

const dir = mkdtempSync(join(tmpdir(), 'loupe-recovery-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const SOURCE = 'https://iiif.example.org/book/manifest';
const CANVASES = 4;
const canvasId = (n: number): string => `https://iiif.example.org/book/canvas/${n}`;

const HARVEST: HarvestOutput = {
  manifests: [{ id: SOURCE, label: 'Book', document: SOURCE, sourceVersion: 3, canvases: CANVASES }],
  tasks: Array.from({ length: CANVASES }, (_, n) => ({
    manifestId: SOURCE,
    canvasId: canvasId(n),
    canvasIndex: n,
    canvasLabel: `f. ${n + 1}`,
    canvasWidth: 1000,
    canvasHeight: 1400,
    imageIndex: 0,
    image: { id: `https://iiif.example.org/img/${n}/full/max/0/default.jpg`, service: { id: `https://iiif.example.org/img/${n}`, version: 3, level: 2 } },
  })),
  skipped: [],
  errors: [],
};

interface Logged {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(lines: Logged[]): Logger {
  const at = (level: string) => (obj: object | string, msg?: string) => void lines.push({ level, obj: typeof obj === 'string' ? {} : (obj as Record<string, unknown>), msg: typeof obj === 'string' ? obj : msg });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // Everything here runs on the event loop of this process: yielding is enough, no clock needed.
  for (let i = 0; i < 10_000; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never reached: ${what}`);
}

/** One gateway's worth: a bus of its own, a runner, and the iiif-fetcher answering harvests (or never). */
async function gateway(t: Test, path: string, opts: { harvest: 'answer' | 'hang' }) {
  const bus = createMemoryBus();
  const jobs = openSqliteJobStore({ path });
  const log: Logged[] = [];
  const runner = new JobRunner(bus, jobs, recordingLogger(log));
  let harvests = 0;
  let release = (): void => {};
  const hung = new Promise<void>((resolve) => (release = resolve));
  await bus.serve(SUBJECTS.harvest, async () => {
    harvests++;
    if (opts.harvest === 'hang') await hung;
    return { data: encode(HARVEST), headers: {} };
  });
  await runner.start();
  const crash = async () => {
    // No drain, no stop: what was queued on this bus is lost with it, as with SIGKILL. The store
    // goes first, so that a harvest answering now cannot write anything.
    await jobs.close();
    release();
    await bus.close();
  };
  t.teardown(() => crash().catch(() => undefined));
  return { bus, jobs, runner, log, crash, harvests: () => harvests };
}

/** What reaches the first stage's queue of a bus. */
async function firstStage(bus: Bus): Promise<StageEnvelope[]> {
  const got: StageEnvelope[] = [];
  await bus.consume(SUBJECTS.preprocessPrepare, { durable: 'preprocess-test' }, async (msg) => {
    got.push(decode<StageEnvelope>(msg.data));
    msg.ack();
  });
  return got;
}

const state = (jobs: JobStore, id: string, wanted: Job['state']) => until(`job ${wanted}`, async () => ((await jobs.get(id))?.state === wanted ? true : undefined));

/** A job left running by a crash: every task queued, the first two done, the rest lost with the bus. */
async function crashedMidJob(t: Test, opts: { classify?: boolean } = {}) {
  const path = join(dir, `jobs-${files++}.db`);
  const first = await gateway(t, path, { harvest: 'answer' });
  const id = opts.classify
    ? await first.runner.create(SOURCE, 'classify', { classify: { vocabulary: 'colours', k: 2 } })
    : await first.runner.create(SOURCE, 'text');
  await state(first.jobs, id, 'running');
  for (const n of [0, 1]) {
    const key = `${canvasId(n)}#0`;
    for (const stage of ['preprocess', 'detect.text', 'store']) await first.jobs.stageDone(id, key, stage, 5);
    await first.jobs.taskDone(id, key);
  }
  await first.crash();
  return { path, id };
}

t.test('resume: the open tasks are queued again as they were harvested, the done ones are not', async (t) => {
  const { path, id } = await crashedMidJob(t, { classify: true });
  const second = await gateway(t, path, { harvest: 'answer' });
  const queued = await firstStage(second.bus);
  await second.runner.recover('resume');
  await until('two tasks queued', async () => (queued.length >= 2 ? true : undefined));

  t.same(queued.map((e) => e.task.canvasId).sort(), [canvasId(2), canvasId(3)], 'only the tasks not done');
  t.same(queued[0]!.task, { ...HARVEST.tasks[2]!, jobId: id }, 'the whole task, as harvested');
  t.same(
    queued[0]!.route.map((r) => [r.stage, r.options]),
    [['preprocess', { orientation: 'exif' }], ['classify', { vocabulary: 'colours', k: 2 }], ['store', undefined]],
    "the job's route with its own options",
  );
  t.equal(second.harvests(), 0, 'the source is not harvested again');
  const job = await second.jobs.get(id);
  t.match(job, { state: 'running', tasks: { total: 4, done: 2, failed: 0 } });
  t.match(
    second.log.filter((l) => l.obj.jobId === id),
    [{ level: 'warn', obj: { state: 'running', tasks: { total: 4, done: 2, failed: 0, remaining: 2 }, recovery: 'resumed', requeued: 2 }, msg: `unfinished job ${id} resumed` }],
    'one line for the job: its state, its tasks, what was done',
  );
});

t.test('a start delivered again after its harvest queues the open tasks, without harvesting', async (t) => {
  // What JetStream does when a gateway dies between storing the harvest and acking the start.
  const { path, id } = await crashedMidJob(t);
  const second = await gateway(t, path, { harvest: 'answer' });
  const queued = await firstStage(second.bus);
  await second.bus.publish(SUBJECTS.jobStart, encode({ jobId: id, source: SOURCE, pipeline: 'text' }), { msgId: `${id}/start` });
  await until('two tasks queued', async () => (queued.length >= 2 ? true : undefined));
  await until('the start acked', async () => ((await second.bus.stats(SUBJECTS.jobStart)).inFlight === 0 ? true : undefined));
  t.same(queued.map((e) => e.task.canvasId).sort(), [canvasId(2), canvasId(3)]);
  t.equal(second.harvests(), 0);
});

t.test('resume by two gateways at once queues each task once', async (t) => {
  const { path, id } = await crashedMidJob(t);
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  const queued = await firstStage(bus);
  const stores = [openSqliteJobStore({ path }), openSqliteJobStore({ path })];
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const log: Logged[] = [];
  await Promise.all(stores.map((s) => new JobRunner(bus, s, recordingLogger(log)).recover('resume')));
  await until('tasks queued', async () => (queued.length >= 2 ? true : undefined));
  t.equal((await bus.stats(SUBJECTS.preprocessPrepare)).pending, 0, 'nothing else is waiting');
  t.same(queued.map((e) => e.key).sort(), [`${canvasId(2)}#0`, `${canvasId(3)}#0`], 'the repeated msgIds were dropped');
  t.match(await stores[0]!.get(id), { state: 'running', tasks: { total: 4, done: 2 } });
});

t.test('resume: a job that crashed while harvesting is harvested again and runs', async (t) => {
  const path = join(dir, `jobs-${files++}.db`);
  const first = await gateway(t, path, { harvest: 'hang' });
  const id = await first.runner.create(SOURCE, 'text');
  await state(first.jobs, id, 'harvesting');
  await first.crash();

  const second = await gateway(t, path, { harvest: 'answer' });
  const queued = await firstStage(second.bus);
  await second.runner.recover('resume');
  await until('every task queued', async () => (queued.length >= CANVASES ? true : undefined));
  t.equal(second.harvests(), 1);
  t.match(await second.jobs.get(id), { state: 'running', manifests: [SOURCE], tasks: { total: CANVASES, done: 0 } });
  t.match(second.log.find((l) => l.obj.jobId === id), { obj: { state: 'harvesting', recovery: 'resumed: harvesting again' } });
});

t.test('fail: unfinished jobs fail with LOUPE_ERR_JOB_INTERRUPTED and nothing is queued', async (t) => {
  const { path, id } = await crashedMidJob(t);
  const second = await gateway(t, path, { harvest: 'answer' });
  await second.runner.recover('fail');
  const job = await second.jobs.get(id);
  t.match(job, { state: 'failed', finished: String, tasks: { total: 4, done: 2, failed: 0 } });
  t.match(job?.failures, [{ canvas: null, stage: 'job', code: 'LOUPE_ERR_JOB_INTERRUPTED', message: /stopped before it finished.*LOUPE_RECOVER_JOBS=fail/ }]);
  t.equal((await second.bus.stats(SUBJECTS.preprocessPrepare)).pending, 0);
  t.match(second.log.find((l) => l.obj.jobId === id), { level: 'warn', obj: { recovery: 'failed (LOUPE_RECOVER_JOBS=fail)', tasks: { remaining: 2 } } });

  await second.runner.recover('resume');
  t.equal((await second.bus.stats(SUBJECTS.preprocessPrepare)).pending, 0, 'a failed job stays failed');
});

t.test('a job kept without what a restart needs fails with its reason', async (t) => {
  const path = join(dir, `jobs-${files++}.db`);
  const jobs = openSqliteJobStore({ path });
  // As a gateway from before this version left it: no spec, no stored tasks.
  await jobs.create({ id: 'old', source: SOURCE, stages: ['preprocess', 'detect.text', 'store'] });
  await jobs.addTasks('old', [{ key: `${canvasId(0)}#0`, canvasId: canvasId(0), canvasIndex: 0, imageIndex: 0 }]);
  await jobs.setState('old', 'running');
  await jobs.close();

  const second = await gateway(t, path, { harvest: 'answer' });
  await second.runner.recover('resume');
  t.match(await second.jobs.get('old'), {
    state: 'failed',
    failures: [{ code: 'LOUPE_ERR_JOB_INTERRUPTED', message: /cannot be resumed.*start it again/ }],
  });
});

t.test('nothing unfinished: recovery logs nothing', async (t) => {
  const second = await gateway(t, join(dir, `jobs-${files++}.db`), { harvest: 'answer' });
  await second.runner.recover('fail');
  t.same(second.log, []);
});
