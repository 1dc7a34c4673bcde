import t from 'tap';
import { LoupeError } from '@loupe/contracts';
import { ManualClock, tick } from '@loupe/testing';
import { busContract } from './bus.contract.js';
import { createMemoryBus } from './memory.bus.js';
import { encode, decode, type WorkMessage } from './bus.js';
import { jsonReply } from './reply.js';

busContract(t, 'memory', async () => createMemoryBus());

t.test('memory: a msgId is accepted again once the de-duplication window has passed', async (t) => {
  const clock = new ManualClock();
  const bus = createMemoryBus({ dedupWindowMs: 20, clock });
  t.teardown(() => bus.close());
  t.same(await bus.publish('loupe.m.dedup.v1', encode(1), { msgId: 'x' }), { duplicate: false });
  clock.advance(19);
  t.same(await bus.publish('loupe.m.dedup.v1', encode(2), { msgId: 'x' }), { duplicate: true }, 'still inside the window');
  t.same(await bus.publish('loupe.m.other.v1', encode(3), { msgId: 'x' }), { duplicate: false }, 'de-duplication is per subject');
  clock.advance(1);
  t.same(await bus.publish('loupe.m.dedup.v1', encode(4), { msgId: 'x' }), { duplicate: false }, 'the window has passed');
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
  let termed = 0;
  let allTermed = (): void => {};
  const done = new Promise<void>((resolve) => (allTermed = resolve));
  await bus.consume('loupe.m.dl.v1', { durable: 'x' }, async (m) => {
    m.term(new LoupeError('LOUPE_ERR_INTERNAL', 'bad').toJSON());
    if (++termed === 3) allTermed();
  });
  await done;
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
  // Listeners run in microtasks, all done before the next turn of the event loop.
  await tick();
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

t.test('memory: ack waits and nak delays run on the injected clock', async (t) => {
  const clock = new ManualClock();
  const bus = createMemoryBus({ clock });
  t.teardown(() => bus.close());
  const received: WorkMessage[] = [];
  await bus.consume('loupe.m.clock.v1', { durable: 'x', ackWaitMs: 250, maxDeliver: 3 }, async (m) => {
    received.push(m);
  });
  await bus.publish('loupe.m.clock.v1', encode('x'), { msgId: 'm1' });
  await tick();
  const [first] = received;
  // Progress reported inside each ack wait keeps the delivery, however long it takes in all.
  for (let i = 0; i < 20; i++) {
    clock.advance(200);
    first?.working();
  }
  await tick();
  t.equal(received.length, 1, 'no redelivery while the handler reports progress');
  clock.advance(250);
  await tick();
  t.equal(received[1]?.deliveryCount, 2, 'redelivered once the ack wait ran out');
  received[1]?.nak(1_000);
  clock.advance(999);
  await tick();
  t.equal(received.length, 2, 'the nak delay has not passed');
  clock.advance(1);
  await tick();
  t.equal(received[2]?.deliveryCount, 3, 'redelivered after the nak delay');
  received[2]?.ack();
  t.match(await bus.stats('loupe.m.clock.v1'), { pending: 0, inFlight: 0 });
});
