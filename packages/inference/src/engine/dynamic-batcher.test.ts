import { getEventListeners } from 'node:events';
import t from 'tap';
import { ManualClock, tick } from '@loupe/testing';
import { DynamicBatcher } from './dynamic-batcher.js';


/** Runs that finish only when the test says, recording who ran together. */
function gatedRuns() {
  const groups: string[][] = [];
  const gates: (() => void)[] = [];
  const execute = async (items: string[]) => {
    groups.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((i) => i.toUpperCase());
  };
  const release = async () => {
    gates.shift()?.();
    await tick();
  };
  return { groups, execute, release };
}

t.test('groups by key in arrival order, up to maxBatch, one run at a time', async (t) => {
  const clock = new ManualClock();
  const runs = gatedRuns();
  const batcher = new DynamicBatcher('m', { maxBatch: 2, maxWaitMs: 10, maxQueue: 10, concurrency: 1 }, runs.execute, { clock });
  const results = ['a1', 'b1', 'a2', 'a3', 'b2'].map((item) => batcher.submit({ item, key: item[0]! }));
  await tick();
  t.same(runs.groups, [['a1', 'a2']], 'a full pair of a leaves at once, passing b1');
  t.equal(batcher.queued, 3);
  await runs.release();
  t.same(runs.groups.at(-1), ['b1', 'b2'], 'then the oldest waiting, with its own kind');
  await runs.release();
  t.same(runs.groups.length, 2, 'a3 alone waits for company while it may');
  clock.advance(10);
  await tick();
  t.same(runs.groups.at(-1), ['a3']);
  await runs.release();
  t.same(await Promise.all(results), ['A1', 'B1', 'A2', 'A3', 'B2'], 'each request gets its own result');
});

t.test('concurrency bounds the runs under way; alone requests never share', async (t) => {
  const runs = gatedRuns();
  const batcher = new DynamicBatcher('m', { maxBatch: 4, maxWaitMs: 0, maxQueue: 10, concurrency: 2 }, runs.execute);
  const results = [
    batcher.submit({ item: 'x', key: 'k', alone: true }),
    batcher.submit({ item: 'y', key: 'k' }),
    batcher.submit({ item: 'z', key: 'k' }),
    batcher.submit({ item: 'w', key: 'k', alone: true }),
  ];
  await tick();
  t.same(runs.groups, [['x'], ['y', 'z']]);
  t.equal(batcher.inFlight, 2);
  await runs.release();
  t.same(runs.groups.at(-1), ['w']);
  await runs.release();
  await runs.release();
  t.same(await Promise.all(results), ['X', 'Y', 'Z', 'W']);
});

t.test('a failed run fails every request in it, and the next run goes on', async (t) => {
  let calls = 0;
  const batcher = new DynamicBatcher<number, number>('m', { maxBatch: 2, maxWaitMs: 0, maxQueue: 10, concurrency: 1 }, async (items) => {
    if (calls++ === 0) throw new Error('boom');
    return items.map((i) => i * 10);
  });
  const [a, b, c] = [1, 2, 3].map((item) => batcher.submit({ item, key: '' }));
  await t.rejects(a!, /boom/);
  await t.rejects(b!, /boom/);
  t.equal(await c, 30);
});

t.test("a page's requests share one abort listener on their signal, gone once they leave the queue", async (t) => {
  const runs = gatedRuns();
  const batcher = new DynamicBatcher('m', { maxBatch: 4, maxWaitMs: 0, maxQueue: 64, concurrency: 1 }, runs.execute);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const job = new AbortController();
  const lines = Array.from({ length: 20 }, (_, i) => batcher.submit({ item: `l${i}`, key: 'k', signal: job.signal }));
  await tick();
  t.equal(getEventListeners(job.signal, 'abort').length, 1, 'one listener for twenty waiting lines');
  while (runs.groups.length < 5) await runs.release();
  await runs.release();
  t.equal((await Promise.all(lines)).length, 20);
  t.equal(getEventListeners(job.signal, 'abort').length, 0, 'none left once every line ran');
  await tick();
  t.same(warnings.map((w) => w.name), [], 'no MaxListenersExceededWarning');

  const other = new AbortController();
  const blocker = batcher.submit({ item: 'x', key: 'k', alone: true });
  const given = [1, 2, 3].map((i) => batcher.submit({ item: `g${i}`, key: 'k', signal: other.signal }));
  await tick();
  other.abort(new Error('the job was cancelled'));
  for (const g of given) await t.rejects(g, /the job was cancelled/, 'every waiting request of the signal gives up');
  t.equal(batcher.queued, 0);
  t.equal(getEventListeners(other.signal, 'abort').length, 0);
  await runs.release();
  t.equal(await blocker, 'X');
});
