import type { Test } from 'tap';
import type { CanvasTask } from '@loupe/contracts';
import type { JobFailure, JobStore, JobTaskInput, OpenTask } from './store.js';

const SOURCE = 'https://example.org/iiif/book/manifest';
const STAGES = ['classify', 'detect'] as const;
const canvas = (n: number): string => `https://example.org/iiif/book/canvas/${n}`;
const key = (n: number): string => `${canvas(n)}#0`;

function tasks(...canvasIndexes: number[]): JobTaskInput[] {
  return canvasIndexes.map((n) => ({ key: key(n), canvasId: canvas(n), canvasIndex: n, imageIndex: 0 }));
}

/** The task as a harvest queues it, stored with its key so that a restart can queue it again. */
function canvasTask(n: number, jobId = 'job-1'): CanvasTask {
  return {
    jobId,
    manifestId: SOURCE,
    canvasId: canvas(n),
    canvasIndex: n,
    canvasLabel: `f. ${n + 1}`,
    canvasWidth: 1000,
    canvasHeight: 1400,
    imageIndex: 0,
    image: { id: `https://example.org/iiif/img${n}/full/max/0/default.jpg`, service: { id: `https://example.org/iiif/img${n}`, version: 3, level: 2 } },
  };
}

function storedTasks(...canvasIndexes: number[]): JobTaskInput[] {
  return tasks(...canvasIndexes).map((t, i) => ({ ...t, task: canvasTask(canvasIndexes[i]!) }));
}

async function collect(tasks: AsyncIterable<OpenTask>): Promise<OpenTask[]> {
  const all: OpenTask[] = [];
  for await (const t of tasks) all.push(t);
  return all;
}

function failure(n: number | null, stage: string, code = 'LOUPE_ERR_INFERENCE', message = 'inference failed'): JobFailure {
  return { canvas: n === null ? null : canvas(n), stage, code, message };
}

/**
 * The behaviour every JobStore adapter must have. `open` must return a store over empty storage
 * each time it is called; each case closes the store it opened.
 */
export function jobStoreContract(t: Test, name: string, open: () => Promise<JobStore>): Promise<unknown> {
  return t.test(`JobStore contract: ${name}`, async (t) => {
    const fresh = async (t: Test, ...taskIndexes: number[]): Promise<JobStore> => {
      const store = await open();
      t.teardown(() => store.close());
      await store.create({ id: 'job-1', source: SOURCE, stages: STAGES });
      if (taskIndexes.length > 0) await store.addTasks('job-1', tasks(...taskIndexes));
      return store;
    };
    const job = async (store: JobStore, id = 'job-1') => {
      const found = await store.get(id);
      if (!found) throw new Error(`job ${id} is missing`);
      return found;
    };

    t.test('a new job, created once', async (t) => {
      const store = await fresh(t);
      const created = await job(store);
      t.match(created, { id: 'job-1', source: SOURCE, state: 'queued', finished: null, manifests: [], failures: [] });
      t.type(created.created, 'string');
      t.same(created.tasks, { total: 0, done: 0, failed: 0 });
      t.same(created.stages, { classify: { done: 0, failed: 0, pending: 0, ms: 0 }, detect: { done: 0, failed: 0, pending: 0, ms: 0 } });
      await store.create({ id: 'job-1', source: 'https://example.org/other', stages: [] });
      t.same(await job(store), created, 'creating it again changes nothing');
      await store.addManifest('job-1', `${SOURCE}/1`);
      await store.addManifest('job-1', `${SOURCE}/2`);
      await store.addManifest('job-1', `${SOURCE}/1`);
      t.same((await job(store)).manifests, [`${SOURCE}/1`, `${SOURCE}/2`]);
      t.equal(await store.get('job-2'), undefined);
    });

    t.test("a manifest's kept JSON: the first kept stays, and a manifest without is undefined", async (t) => {
      const store = await fresh(t);
      const first = { document: `${SOURCE}/collection`, jsonBrotli: Uint8Array.from([1, 2, 3]) };
      await store.addManifest('job-1', `${SOURCE}/1`);
      t.equal(await store.keptManifest('job-1', `${SOURCE}/1`), undefined, 'added without it');
      await store.addManifest('job-1', `${SOURCE}/1`, first);
      await store.addManifest('job-1', `${SOURCE}/1`, { document: SOURCE, jsonBrotli: Uint8Array.from([9]) });
      await store.addManifest('job-1', `${SOURCE}/1`);
      const kept = await store.keptManifest('job-1', `${SOURCE}/1`);
      t.equal(kept?.document, first.document, 'filled in once, then kept');
      t.same([...(kept?.jsonBrotli ?? [])], [1, 2, 3]);
      t.same((await job(store)).manifests, [`${SOURCE}/1`], 'still one manifest');
      t.equal(await store.keptManifest('job-1', `${SOURCE}/2`), undefined, 'a manifest the job does not have');
      t.equal(await store.keptManifest('job-2', `${SOURCE}/1`), undefined, 'a job that does not exist');
      await t.rejects(store.addManifest('job-1', `${SOURCE}/3`, { document: '', jsonBrotli: Uint8Array.from([1]) }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('writes to an unknown job or task are refused', async (t) => {
      const store = await fresh(t, 0);
      await t.rejects(store.setState('nope', 'running'), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.addManifest('nope', SOURCE), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.addTasks('nope', tasks(1)), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.stageDone('nope', key(0), 'classify', 1), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.fail('nope', key(0), failure(0, 'classify')), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.taskDone('nope', key(0)), { code: 'LOUPE_ERR_JOB_NOT_FOUND' });
      await t.rejects(store.stageDone('job-1', key(7), 'classify', 1), { code: 'LOUPE_ERR_NOT_FOUND' });
      await t.rejects(store.taskDone('job-1', key(7)), { code: 'LOUPE_ERR_NOT_FOUND' });
      await t.rejects(store.stageDone('job-1', key(0), 'classify', -1), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.setState('job-1', 'paused' as never), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.addTasks('job-1', [{ key: 'k', canvasId: canvas(1), canvasIndex: -1, imageIndex: 0 }]), { code: 'LOUPE_ERR_VALIDATION' });
      t.same((await job(store)).tasks, { total: 1, done: 0, failed: 0 }, 'nothing was written');
    });

    t.test('progress counts a redelivered event once', async (t) => {
      const store = await fresh(t, 0, 1, 2);
      await store.addTasks('job-1', tasks(0, 1));
      await store.stageDone('job-1', key(0), 'classify', 10);
      await store.stageDone('job-1', key(0), 'classify', 10);
      await store.stageDone('job-1', key(1), 'classify', 5);
      let progress = await job(store);
      t.same(progress.tasks, { total: 3, done: 0, failed: 0 }, 'tasks added again are not doubled');
      t.same(progress.stages.classify, { done: 2, failed: 0, pending: 1, ms: 15 });
      t.same(progress.stages.detect, { done: 0, failed: 0, pending: 3, ms: 0 });

      await store.stageDone('job-1', key(0), 'detect', 7);
      await store.taskDone('job-1', key(0));
      await store.taskDone('job-1', key(0));
      progress = await job(store);
      t.same(progress.tasks, { total: 3, done: 1, failed: 0 });
      t.same(progress.stages.classify, { done: 2, failed: 0, pending: 1, ms: 15 });
      t.same(progress.stages.detect, { done: 1, failed: 0, pending: 2, ms: 7 });

      await store.stageDone('job-1', key(2), 'embed', 3);
      t.same((await job(store)).stages.embed, { done: 1, failed: 0, pending: 1, ms: 3 }, 'a stage reported but not declared still shows');
    });

    t.test('a redelivered failure is recorded once', async (t) => {
      const store = await fresh(t, 0, 1, 2);
      await store.stageDone('job-1', key(1), 'classify', 4);
      await store.fail('job-1', key(1), failure(1, 'detect'));
      await store.fail('job-1', key(1), failure(1, 'detect'));
      await store.fail('job-1', key(1), failure(1, 'detect', 'LOUPE_ERR_INFERENCE', 'inference failed (attempt 2)'));
      let progress = await job(store);
      t.same(progress.failures, [failure(1, 'detect')]);
      t.same(progress.tasks, { total: 3, done: 0, failed: 1 });
      t.same(progress.stages.classify, { done: 1, failed: 0, pending: 2, ms: 4 });
      t.same(progress.stages.detect, { done: 0, failed: 1, pending: 2, ms: 0 });

      await store.fail('job-1', key(1), failure(1, 'detect', 'LOUPE_ERR_IMAGE_DECODE', 'corrupt'));
      progress = await job(store);
      t.equal(progress.failures.length, 2, 'another code is another failure');
      t.equal(progress.stages.detect?.failed, 1, 'the task still counts once');

      const harvest = failure(null, 'harvest', 'LOUPE_ERR_FETCH_HTTP', `${SOURCE}/3 answered 404`);
      await store.fail('job-1', null, harvest);
      await store.fail('job-1', null, harvest);
      await store.fail('job-1', null, { ...harvest, message: `${SOURCE}/4 answered 404` });
      progress = await job(store);
      t.equal(progress.failures.filter((f) => f.stage === 'harvest').length, 2, 'a failure without a task is recorded once per message');
      t.same(progress.tasks, { total: 3, done: 0, failed: 1 }, 'a failure without a task fails no task');
    });

    t.test("a task's first terminal state is final", async (t) => {
      const store = await fresh(t, 0, 1, 2);
      await store.fail('job-1', key(0), failure(0, 'classify'));
      await store.taskDone('job-1', key(0));
      t.same((await job(store)).tasks, { total: 3, done: 0, failed: 1 }, 'done after failed stays failed');
      await store.taskDone('job-1', key(1));
      await store.fail('job-1', key(1), failure(1, 'detect'));
      const progress = await job(store);
      t.same(progress.tasks, { total: 3, done: 1, failed: 1 }, 'failed after done stays done');
      t.equal(progress.failures.length, 2, 'both failures are still reported');
      t.same(progress.stages.detect, { done: 0, failed: 0, pending: 1, ms: 0 }, 'a done task does not count as failed');
    });

    t.test('a running job is done when its last task ends, once', async (t) => {
      const store = await fresh(t, 0, 1);
      await store.setState('job-1', 'running');
      await store.taskDone('job-1', key(0));
      t.match(await job(store), { state: 'running', finished: null });
      await store.fail('job-1', key(1), failure(1, 'detect'));
      const done = await job(store);
      t.equal(done.state, 'done');
      t.type(done.finished, 'string');
      await store.taskDone('job-1', key(0));
      await store.fail('job-1', key(1), failure(1, 'detect'));
      await store.setState('job-1', 'running');
      t.match(await job(store), { state: 'done', finished: done.finished }, 'redeliveries change nothing');

      await store.create({ id: 'job-2', source: SOURCE, stages: STAGES });
      await store.setState('job-2', 'harvesting');
      await store.addTasks('job-2', tasks(0));
      await store.taskDone('job-2', key(0));
      t.match(await job(store, 'job-2'), { state: 'harvesting', finished: null }, 'still harvesting: not done');
      await store.setState('job-2', 'running');
      t.match(await job(store, 'job-2'), { state: 'done', finished: String }, 'set running with every task ended: done at once');

      await store.create({ id: 'job-3', source: SOURCE, stages: STAGES });
      await store.setState('job-3', 'running');
      t.equal((await job(store, 'job-3')).state, 'done', 'a running job without tasks has nothing left to do');

      await store.create({ id: 'job-4', source: SOURCE, stages: STAGES });
      await store.setState('job-4', 'failed');
      t.match(await job(store, 'job-4'), { state: 'failed', finished: String });
    });

    t.test('failures are listed by canvas index, job-wide ones first', async (t) => {
      const store = await fresh(t, 5, 2, 9);
      await store.fail('job-1', key(9), failure(9, 'classify'));
      await store.fail('job-1', key(5), failure(5, 'detect'));
      await store.fail('job-1', key(2), failure(2, 'classify'));
      await store.fail('job-1', null, failure(null, 'harvest', 'LOUPE_ERR_FETCH_HTTP'));
      t.same(
        (await job(store)).failures.map((f) => f.canvas),
        [null, canvas(2), canvas(5), canvas(9)],
      );
    });

    t.test('list: newest first', async (t) => {
      const store = await fresh(t);
      await store.create({ id: 'job-2', source: SOURCE, stages: STAGES });
      await store.create({ id: 'job-3', source: SOURCE, stages: STAGES });
      await store.addTasks('job-3', tasks(0));
      const all = await store.list();
      t.same(all.map((j) => j.id), ['job-3', 'job-2', 'job-1']);
      t.same(all[0], await job(store, 'job-3'), 'a listed job carries its progress');
      t.same((await store.list(2)).map((j) => j.id), ['job-3', 'job-2']);
      t.same(await store.list(0), []);
      await t.rejects(store.list(-1), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('concurrent progress from Promise.all', async (t) => {
      const n = 40;
      const indexes = Array.from({ length: n }, (_, i) => i);
      const store = await fresh(t);
      await Promise.all([store.create({ id: 'job-1', source: SOURCE, stages: STAGES }), store.addTasks('job-1', tasks(...indexes))]);
      await store.setState('job-1', 'running');
      await Promise.all(
        indexes.flatMap((i) => [
          store.stageDone('job-1', key(i), 'classify', 2),
          store.stageDone('job-1', key(i), 'classify', 2),
          i % 10 === 0 ? store.fail('job-1', key(i), failure(i, 'detect')) : store.stageDone('job-1', key(i), 'detect', 3),
          store.taskDone('job-1', key(i)),
          store.taskDone('job-1', key(i)),
        ]),
      );
      const progress = await job(store);
      t.equal(progress.state, 'done');
      t.same(progress.tasks, { total: n, done: n - 4, failed: 4 });
      t.same(progress.stages.classify, { done: n, failed: 0, pending: 0, ms: 2 * n });
      t.same(progress.stages.detect, { done: n - 4, failed: 4, pending: 0, ms: 3 * (n - 4) });
      t.same(progress.failures.map((f) => f.canvas), [0, 10, 20, 30].map(canvas));
      t.equal((await store.list()).length, 1);
    });

    t.test('after a crash: the unfinished jobs, how they were asked for, and their open tasks', async (t) => {
      const store = await fresh(t);
      const spec = { pipeline: 'classify', options: { classify: { vocabulary: 'colours', k: 3 } } };
      await store.create({ id: 'job-2', source: `${SOURCE}/2`, stages: STAGES, spec });
      await store.create({ id: 'job-3', source: SOURCE, stages: STAGES, spec: { pipeline: 'text' } });
      await store.create({ id: 'job-4', source: SOURCE, stages: STAGES, spec: { pipeline: 'text' } });
      await store.setState('job-2', 'harvesting');
      await store.addTasks('job-3', storedTasks(0, 1, 2, 3));
      await store.setState('job-3', 'running');
      await store.stageDone('job-3', key(1), 'classify', 3);
      await store.taskDone('job-3', key(0));
      await store.fail('job-3', key(2), failure(2, 'detect'));
      await store.setState('job-4', 'failed');

      t.same(await store.unfinished(), [
        { id: 'job-1', source: SOURCE, state: 'queued', tasks: { total: 0, done: 0, failed: 0 } },
        { id: 'job-2', source: `${SOURCE}/2`, state: 'harvesting', spec, tasks: { total: 0, done: 0, failed: 0 } },
        { id: 'job-3', source: SOURCE, state: 'running', spec: { pipeline: 'text' }, tasks: { total: 4, done: 1, failed: 1 } },
      ], 'oldest first, done and failed ones left out; a job created without a spec has none');
      t.same(
        await collect(store.openTasks('job-3')),
        [1, 3].map((n) => ({ key: key(n), task: canvasTask(n) })),
        'a task half-way through its stages is still open',
      );
      t.same(await collect(store.openTasks('job-1')), []);
      t.same(await collect(store.openTasks('nope')), [], 'an unknown job has no open tasks');

      await store.addTasks('job-1', tasks(5));
      t.same(await collect(store.openTasks('job-1')), [{ key: key(5) }], 'a task added without its task has none to give');
      await store.addTasks('job-1', storedTasks(5));
      t.same(await collect(store.openTasks('job-1')), [{ key: key(5), task: canvasTask(5) }], 'a harvest run again fills it in');
      await store.addTasks('job-1', [{ ...storedTasks(5)[0]!, task: { ...canvasTask(5), canvasLabel: 'changed' } }]);
      t.same(await collect(store.openTasks('job-1')), [{ key: key(5), task: canvasTask(5) }], 'and then keeps the first one');
      await store.taskDone('job-1', key(5));
      await store.addTasks('job-1', storedTasks(5));
      t.same((await job(store)).tasks, { total: 1, done: 1, failed: 0 }, 'adding a done task again does not reopen it');

      await t.rejects(
        store.addTasks('job-1', [{ ...storedTasks(6)[0]!, task: canvasTask(7) }]),
        { code: 'LOUPE_ERR_VALIDATION' },
        'a stored task must match its key',
      );
      await t.rejects(store.create({ id: 'job-5', source: SOURCE, stages: STAGES, spec: { pipeline: '' } }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('open tasks of a large job are walked in full while tasks end', async (t) => {
      const n = 1203;
      const store = await fresh(t, ...Array.from({ length: n }, (_, i) => i));
      await store.setState('job-1', 'running');
      for (let i = 0; i < n; i += 3) await store.taskDone('job-1', key(i));
      const seen: string[] = [];
      for await (const open of store.openTasks('job-1')) {
        seen.push(open.key);
        // Progress arriving during the walk must not make it skip or repeat a task.
        if (seen.length === 600) for (let i = 1; i < n; i += 300) await store.taskDone('job-1', key(i));
      }
      const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 0).map(key);
      t.equal(new Set(seen).size, seen.length, 'no task twice');
      t.same(seen.slice(0, 600), expected.slice(0, 600), 'in the order they were added');
      t.ok(seen.length >= expected.length - 4 && seen.length <= expected.length, `every open task once (${seen.length} of ${expected.length})`);
    });

    t.test('a closed store rejects with LOUPE_ERR_STORE', async (t) => {
      const store = await open();
      await store.close();
      await store.close();
      await t.rejects(store.get('job-1'), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(store.create({ id: 'job-1', source: SOURCE, stages: STAGES }), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(store.unfinished(), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(collect(store.openTasks('job-1')), { code: 'LOUPE_ERR_STORE' });
    });
  });
}
