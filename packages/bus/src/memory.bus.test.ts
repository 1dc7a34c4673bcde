import t from 'tap';
import { LoupeError } from '@loupe/contracts';
import { busContract } from './bus.contract.js';
import { createMemoryBus } from './memory.bus.js';
import { encode, decode } from './bus.js';
import { jsonReply } from './reply.js';

busContract(t, 'memory', async () => createMemoryBus());

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('memory: a msgId is accepted again once the de-duplication window has passed', async (t) => {
  const bus = createMemoryBus({ dedupWindowMs: 20 });
  t.teardown(() => bus.close());
  t.same(await bus.publish('loupe.m.dedup.v1', encode(1), { msgId: 'x' }), { duplicate: false });
  t.same(await bus.publish('loupe.m.dedup.v1', encode(2), { msgId: 'x' }), { duplicate: true });
  t.same(await bus.publish('loupe.m.other.v1', encode(3), { msgId: 'x' }), { duplicate: false }, 'de-duplication is per subject');
  await sleep(40);
  t.same(await bus.publish('loupe.m.dedup.v1', encode(4), { msgId: 'x' }), { duplicate: false });
  t.match(await bus.stats('loupe.m.dedup.v1'), { pending: 2 });
});

t.test('memory: a subject has one durable, as in a JetStream work queue', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  await bus.consume('loupe.m.one.v1', { durable: 'classify' }, async (m) => m.ack());
  await t.rejects(bus.consume('loupe.m.one.v1', { durable: 'detect' }, async (m) => m.ack()), { code: 'LOUPE_ERR_CONFIG_INVALID' });
  await t.rejects(bus.consume('loupe.m.two.v1', { durable: 'x', concurrency: 0 }, async (m) => m.ack()), { code: 'LOUPE_ERR_CONFIG_INVALID' });
});

t.test('memory: the oldest dead letters are forgotten beyond maxDeadLetters', async (t) => {
  const bus = createMemoryBus({ maxDeadLetters: 2 });
  t.teardown(() => bus.close());
  for (const id of ['a', 'b', 'c']) await bus.publish('loupe.m.dl.v1', encode(id), { msgId: id });
  await bus.consume('loupe.m.dl.v1', { durable: 'x' }, async (m) => m.term(new LoupeError('LOUPE_ERR_INTERNAL', 'bad').toJSON()));
  await sleep(20);
  t.same((await bus.deadLetters.list()).map((d) => d.msgId), ['b', 'c']);
});

t.test('memory: requests go round-robin among responders', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  await bus.serve('loupe.m.rr.v1', async () => jsonReply('one'));
  await bus.serve('loupe.m.rr.v1', async () => jsonReply('two'));
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) answers.push(decode<string>((await bus.request('loupe.m.rr.v1', encode({}))).data));
  t.same(answers, ['one', 'two', 'one', 'two']);
});

t.test('memory: a throwing listener is reported, not thrown at the emitter', async (t) => {
  const reported: string[] = [];
  const bus = createMemoryBus({ onError: (_err, where) => reported.push(where) });
  t.teardown(() => bus.close());
  bus.listen('loupe.m.events.>', () => {
    throw new Error('listener bug');
  });
  bus.emit('loupe.m.events.job.v1', encode({}));
  bus.emit('loupe.m.unrelated.v1', encode({}));
  await sleep(5);
  t.same(reported, ['listener of loupe.m.events.job.v1'], 'wildcard listen matched only its subjects');
});

t.test('memory: a request aborted by the caller rejects', async (t) => {
  const bus = createMemoryBus();
  t.teardown(() => bus.close());
  let release = (): void => {};
  await bus.serve('loupe.m.slow.v1', () => new Promise((resolve) => (release = () => resolve(jsonReply({})))));
  t.teardown(() => release());
  const controller = new AbortController();
  const pending = bus.request('loupe.m.slow.v1', encode({}), { signal: controller.signal });
  controller.abort();
  await t.rejects(pending, { code: 'LOUPE_ERR_BUS_TIMEOUT' });
});
