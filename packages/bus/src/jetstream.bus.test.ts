import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { LoupeError } from '@loupe/contracts';
import { requireNatsOrSkip, startNatsServer, type NatsServer } from '@loupe/testing';
import { busContract } from './bus.contract.js';
import { bytes, eventually as eventuallyWithin, text } from './contract/contract.kit.js';
import type { Bus, WorkMessage } from './bus.js';
import { connectJetStreamBus, type JetStreamBusOptions } from './jetstream.bus.js';
import { jsonReply } from './reply.js';

// Cases against a real server wait for redeliveries and restarts: longer than the contract's guard.
const SERVER_GUARD_MS = 15_000;

const eventually = <T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> => eventuallyWithin(probe, what, SERVER_GUARD_MS, 20);

if (requireNatsOrSkip(t)) {
  const server = await startNatsServer();
  t.teardown(() => server.close());
  let prefixes = 0;
  const freshPrefix = (): string => `T${++prefixes}`;

  // A fresh prefix per case: its own dead-letter stream, nothing left over from the case before.
  busContract(t, 'jetstream', () => connectJetStreamBus({ url: server.url, streamPrefix: freshPrefix(), closeTimeoutMs: 5_000 }));

  async function open(t: Test, options: Partial<JetStreamBusOptions> & { streamPrefix: string }, on: NatsServer = server): Promise<Bus> {
    const bus = await connectJetStreamBus({ url: on.url, closeTimeoutMs: 2_000, pullExpiresMs: 1_000, ...options });
    t.teardown(() => bus.close());
    return bus;
  }

  t.test('jetstream: work and dead letters survive a server restart; publish rides it out', async (t) => {
    // A server of its own, so that restarting it cannot disturb the other tests.
    const own = await startNatsServer();
    t.teardown(() => own.close());
    const streamPrefix = freshPrefix();
    const bus = await open(t, { streamPrefix }, own);
    const s = 'loupe.restart.work.v1';
    const poisoned = 'loupe.restart.poison.v1';

    await bus.publish(poisoned, bytes('poison'), { msgId: 'p1', headers: { traceparent: 'tp-1' } });
    await bus.consume(poisoned, { durable: 'poison', maxDeliver: 1 }, async (msg) => msg.term(new LoupeError('LOUPE_ERR_IMAGE_DECODE', 'truncated').toJSON()));
    await eventually(async () => (await bus.deadLetters.list({ subject: poisoned })).length === 1, 'the dead letter');

    for (let i = 0; i < 5; i++) await bus.publish(s, bytes(`m${i}`), { msgId: `m${i}` });
    await own.restart();

    const handled: string[] = [];
    await bus.consume(s, { durable: 'worker', concurrency: 2, ackWaitMs: 1_000 }, async (msg) => {
      handled.push(msg.id);
      msg.ack();
    });
    await eventually(async () => handled.length >= 5, 'the messages stored before the restart');

    // Published while the server is down: the publish waits for it, then completes.
    await own.stop();
    const during = bus.publish(s, bytes('m5'), { msgId: 'm5' });
    await sleep(300);
    await own.restart();
    t.same(await during, { duplicate: false }, 'a publish during the outage completes after it');
    for (let i = 6; i < 10; i++) await bus.publish(s, bytes(`m${i}`), { msgId: `m${i}` });
    await eventually(async () => handled.length >= 10, 'every message after the restarts');
    await sleep(200);
    t.same([...handled].sort(), Array.from({ length: 10 }, (_, i) => `m${i}`).sort(), 'each message consumed exactly once');

    const [letter, ...others] = await bus.deadLetters.list({ subject: poisoned });
    t.same(others, []);
    t.match(letter, { subject: poisoned, stage: 'poison', msgId: 'p1', deliveries: 1, headers: { traceparent: 'tp-1' }, error: { code: 'LOUPE_ERR_IMAGE_DECODE' } });
    t.equal(text(letter?.data ?? new Uint8Array()), 'poison', 'the dead letter survived the restart');

    const reader = await open(t, { streamPrefix }, own);
    t.equal((await reader.deadLetters.list()).length, 1, 'another process reads the same dead letters');
    t.match(await reader.stats(s), { pending: 0, inFlight: 0, consumers: 1 }, 'the consumer is seen from another process');
  });

  t.test('jetstream: two processes share one durable, each message once', async (t) => {
    const streamPrefix = freshPrefix();
    const a = await open(t, { streamPrefix });
    const b = await open(t, { streamPrefix });
    const s = 'loupe.shared.work.v1';
    const handledBy = new Map<string, string>();
    const handler = (who: string) => async (msg: WorkMessage) => {
      // Slow enough that one process cannot take everything.
      await sleep(5);
      if (handledBy.has(msg.id)) handledBy.set(msg.id, 'twice');
      else handledBy.set(msg.id, who);
      msg.ack();
    };
    await a.consume(s, { durable: 'shared', concurrency: 2 }, handler('a'));
    await b.consume(s, { durable: 'shared', concurrency: 2 }, handler('b'));
    t.match(await a.stats(s), { consumers: 2 }, 'both consumers are counted');
    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (const id of ids) await a.publish(s, bytes(id), { msgId: id });
    await eventually(async () => handledBy.size === ids.length, 'every message handled');
    await sleep(100);
    const by = [...handledBy.values()];
    t.notOk(by.includes('twice'), 'no message handled twice');
    t.ok(by.includes('a') && by.includes('b'), 'both processes took work');

    await t.rejects(b.consume(s, { durable: 'another-stage' }, async (m) => m.ack()), { code: 'LOUPE_ERR_CONFIG_INVALID' }, 'a subject has one durable');
  });

  t.test('jetstream: a message held by a process that vanishes is redelivered to another after the ack wait', async (t) => {
    const streamPrefix = freshPrefix();
    const s = 'loupe.vanish.work.v1';
    const doomed = await connectJetStreamBus({ url: server.url, streamPrefix, closeTimeoutMs: 50, pullExpiresMs: 1_000 });
    let taken: WorkMessage | undefined;
    await doomed.consume(s, { durable: 'worker', ackWaitMs: 800 }, async (msg) => {
      taken = msg;
      // Never settles: the process "dies" with the message in hand.
      await new Promise(() => {});
    });
    await doomed.publish(s, bytes('precious'), { msgId: 'm1' });
    await eventually(async () => taken, 'the first delivery');
    const survivor = await open(t, { streamPrefix });
    const received: WorkMessage[] = [];
    await survivor.consume(s, { durable: 'worker', ackWaitMs: 800 }, async (msg) => {
      received.push(msg);
      msg.ack();
    });
    // close() gives up on the stuck handler after closeTimeoutMs and drops the connection, message unsettled.
    await doomed.close();
    const again = await eventually(async () => received[0], 'the redelivery');
    t.equal(again.id, 'm1');
    t.equal(text(again.data), 'precious');
    t.equal(again.deliveryCount, 2, 'the redelivery counts the lost delivery');
    await eventually(async () => (await survivor.stats(s)).pending + (await survivor.stats(s)).inFlight === 0, 'an empty queue');
    t.match(await survivor.stats(s), { consumers: 1 }, 'the vanished consumer is no longer counted');
  });

  t.test('jetstream: a last delivery that is never settled is dead-lettered as a timeout', async (t) => {
    const bus = await open(t, { streamPrefix: freshPrefix() });
    const s = 'loupe.hang.work.v1';
    let calls = 0;
    await bus.consume(s, { durable: 'hang', maxDeliver: 2, ackWaitMs: 500 }, async (msg) => {
      calls++;
      if (msg.deliveryCount === 1) msg.nak(0, new LoupeError('LOUPE_ERR_FETCH_TIMEOUT', 'slow server').toJSON());
      // The second (last) delivery hangs past its ack wait: a hung or killed worker.
    });
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    const [letter] = await eventually(async () => {
      const list = await bus.deadLetters.list({ subject: s });
      return list.length > 0 && list;
    }, 'the dead letter');
    t.match(letter, { msgId: 'm1', stage: 'hang', deliveries: 2, error: { code: 'LOUPE_ERR_BUS_TIMEOUT' } });
    t.equal(calls, 2, 'the handler is not called beyond the last delivery');
    await eventually(async () => {
      const stats = await bus.stats(s);
      return stats.pending + stats.inFlight === 0;
    }, 'the queue to empty');
  });

  t.test('jetstream: a late settle from a delivery past its ack wait is ignored', async (t) => {
    const bus = await open(t, { streamPrefix: freshPrefix() });
    const s = 'loupe.late.work.v1';
    const received: WorkMessage[] = [];
    await bus.consume(s, { durable: 'late', maxDeliver: 3, ackWaitMs: 300 }, async (msg) => {
      received.push(msg);
    });
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    const second = await eventually(async () => received[1], 'the redelivery');
    received[0]?.term(new LoupeError('LOUPE_ERR_INTERNAL', 'late').toJSON());
    second.ack();
    await sleep(100);
    t.same(await bus.deadLetters.list({ subject: s }), [], 'the late term did not dead-letter the message');
    t.equal(second.deliveryCount, 2);
  });

  t.test('jetstream: listen takes wildcards; an aborted request rejects', async (t) => {
    const bus = await open(t, { streamPrefix: freshPrefix() });
    const heard: string[] = [];
    bus.listen('loupe.events.>', (data) => heard.push(text(data)));
    bus.listen('loupe.events.*.done.v1', (data) => heard.push(`done:${text(data)}`));
    await bus.serve('loupe.flush.v1', async () => jsonReply({}));
    await bus.request('loupe.flush.v1', bytes('{}'));
    bus.emit('loupe.events.job.done.v1', bytes('j1'));
    bus.emit('loupe.other.v1', bytes('nobody'));
    await eventually(async () => heard.length >= 2, 'both listeners');
    await sleep(50);
    t.same(heard.sort(), ['done:j1', 'j1']);

    let release = (): void => {};
    await bus.serve('loupe.slow.v1', () => new Promise((resolve) => (release = () => resolve(jsonReply({})))));
    t.teardown(() => release());
    const controller = new AbortController();
    const pending = bus.request('loupe.slow.v1', bytes('{}'), { signal: controller.signal });
    controller.abort();
    await t.rejects(pending, { code: 'LOUPE_ERR_BUS_TIMEOUT' });
    const reasoned = new AbortController();
    const withReason = bus.request('loupe.slow.v1', bytes('{}'), { signal: reasoned.signal });
    reasoned.abort(new LoupeError('LOUPE_ERR_SHUTTING_DOWN'));
    await t.rejects(withReason, { code: 'LOUPE_ERR_SHUTTING_DOWN' });
  });

  t.test('jetstream: configuration mistakes are LoupeErrors', async (t) => {
    await t.rejects(connectJetStreamBus({ url: server.url, streamPrefix: 'bad prefix' }), { code: 'LOUPE_ERR_CONFIG_INVALID' });
    const bus = await open(t, { streamPrefix: freshPrefix() });
    await t.rejects(bus.publish('loupe.*.v1', bytes('x'), { msgId: 'a' }), { code: 'LOUPE_ERR_CONFIG_INVALID' });
    await t.rejects(bus.consume('loupe.x.v1', { durable: 'a.b' }, async () => {}), { code: 'LOUPE_ERR_CONFIG_INVALID' });
    await t.rejects(bus.publish('loupe.x.v1', bytes('x'), { msgId: 'a', headers: { bad: 'line\r\nbreak' } }), { code: 'LOUPE_ERR_VALIDATION' });
    const unreachable = await startNatsServer();
    const url = unreachable.url;
    await unreachable.close();
    await t.rejects(connectJetStreamBus({ url }), { code: 'LOUPE_ERR_NOT_READY' });
  });
}
