import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError } from '@loupe/contracts';
import type { Test } from 'tap';
import type { WorkMessage } from '../bus.js';
import { bytes, errorJSON, eventually, gate, inbox, text, within, type Kit } from './contract.kit.js';

/** Delivery, nak, ack wait and working(). */
export function deliveryCases(t: Test, { fresh, subject }: Kit): void {
  t.test('a delivery carries the message and ack removes it', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 3 }, box.handler);
    t.same(await bus.publish(s, bytes('hello'), { msgId: 'm1' }), { duplicate: false });
    const msg = await box.next();
    t.equal(msg.subject, s);
    t.equal(msg.id, 'm1');
    t.equal(text(msg.data), 'hello');
    t.equal(msg.deliveryCount, 1);
    t.equal(msg.maxDeliver, 3);
    msg.ack();
    await eventually(async () => {
      const stats = await bus.stats(s);
      return stats.pending === 0 && stats.inFlight === 0 && stats.consumers === 1;
    }, 'an empty queue');
    t.equal(box.received.length, 1, 'an acked message is not delivered again');
  });

  t.test('nak with a delay redelivers after the delay', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 3 }, box.handler);
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    const first = await box.next();
    const nakAt = Date.now();
    first.nak(60);
    const second = await box.next('the redelivery');
    t.equal(second.id, 'm1');
    t.equal(text(second.data), 'x');
    t.equal(second.deliveryCount, 2);
    t.ok(Date.now() - nakAt >= 30, 'the redelivery waited for the delay');
    second.ack();
  });

  t.test('a delivery not acked within the ack wait is redelivered', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', ackWaitMs: 50 }, box.handler);
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    const first = await box.next();
    t.equal(first.deliveryCount, 1);
    const second = await box.next('the redelivery after the ack wait');
    t.equal(second.id, 'm1');
    t.equal(second.deliveryCount, 2);
    second.ack();
  });

  t.test('working() pushes the ack deadline back', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', ackWaitMs: 250 }, box.handler);
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    const msg = await box.next();
    // Longer than the ack wait in all, reporting progress well inside it (with room for a busy machine).
    for (let i = 0; i < 20; i++) {
      await sleep(20);
      msg.working();
    }
    msg.ack();
    t.equal(box.received.length, 1, 'no redelivery while the handler reports progress');
    await bus.publish(s, bytes('y'), { msgId: 'm2' });
    const next = await box.next();
    t.equal(next.id, 'm2', 'the next delivery is the next message, not a redelivery');
    next.ack();
  });
}

/** The last delivery, term, and the dead letters. */
export function deadLetterCases(t: Test, { fresh, subject }: Kit): void {
  t.test('the last allowed delivery that fails goes to the dead letters with the last error', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-dl', maxDeliver: 2 }, box.handler);
    await bus.publish(s, bytes('poison'), { msgId: 'm1', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    (await box.next()).nak(0, errorJSON('LOUPE_ERR_FETCH_TIMEOUT', 'first failure'));
    const last = await box.next('the second delivery');
    t.equal(last.deliveryCount, 2);
    last.nak(0, errorJSON('LOUPE_ERR_INFERENCE', 'second failure'));
    const [letter, ...others] = await eventually(async () => {
      const list = await bus.deadLetters.list({ subject: s });
      return list.length > 0 && list;
    }, 'a dead letter');
    t.same(others, []);
    t.match(letter, {
      subject: s,
      stage: 'stage-dl',
      msgId: 'm1',
      deliveries: 2,
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      error: { code: 'LOUPE_ERR_INFERENCE', message: 'second failure', status: 500, retryable: true },
    });
    t.equal(text(letter?.data ?? new Uint8Array()), 'poison');
    t.ok(!Number.isNaN(Date.parse(letter?.at ?? '')), 'the time is a date');
    t.equal(box.received.length, 2, 'a dead letter is not delivered again');
    const stats = await bus.stats(s);
    t.equal(stats.pending + stats.inFlight, 0, 'the dead letter left the queue');
  });

  t.test('a failure reported without an error is dead-lettered as an internal error', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 1 }, box.handler);
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    (await box.next()).nak(0);
    const [letter] = await eventually(async () => {
      const list = await bus.deadLetters.list({ subject: s });
      return list.length > 0 && list;
    }, 'a dead letter');
    t.match(letter, { error: { code: 'LOUPE_ERR_INTERNAL', message: 'no error reported' } });
  });

  t.test('a handler that throws is retried, then dead-lettered with what it threw', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 1 }, async (msg) => {
      if (msg.id === 'coded') throw new LoupeError('LOUPE_ERR_IMAGE_DECODE', 'truncated jpeg');
      throw new Error('database password is hunter2');
    });
    await bus.publish(s, bytes('x'), { msgId: 'coded' });
    await bus.publish(s, bytes('y'), { msgId: 'plain' });
    const list = await eventually(async () => {
      const letters = await bus.deadLetters.list({ subject: s });
      return letters.length === 2 && letters;
    }, 'two dead letters');
    const byId = new Map(list.map((d) => [d.msgId, d]));
    t.match(byId.get('coded'), { deliveries: 1, error: { code: 'LOUPE_ERR_IMAGE_DECODE', message: 'truncated jpeg' } });
    t.match(byId.get('plain'), { error: { code: 'LOUPE_ERR_INTERNAL' } });
    t.notMatch(JSON.stringify(byId.get('plain')?.error), /hunter2/, 'an unknown error stays opaque');
  });

  t.test('term dead-letters at once', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 5 }, box.handler);
    await bus.publish(s, bytes('not iiif'), { msgId: 'm1' });
    (await box.next()).term(errorJSON('LOUPE_ERR_IIIF_NOT_IIIF', 'a PDF'));
    const [letter] = await eventually(async () => {
      const list = await bus.deadLetters.list({ subject: s });
      return list.length > 0 && list;
    }, 'a dead letter');
    t.match(letter, { deliveries: 1, error: { code: 'LOUPE_ERR_IIIF_NOT_IIIF', message: 'a PDF' } });
    t.equal(box.received.length, 1);
  });

  t.test('retry from the dead letters redelivers with fresh deliveries; drop removes', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a', maxDeliver: 5 }, box.handler);
    await bus.publish(s, bytes('one'), { msgId: 'm1' });
    await bus.publish(s, bytes('two'), { msgId: 'm2' });
    const failure = errorJSON('LOUPE_ERR_MODEL_NOT_INSTALLED', 'no model yet');
    (await box.next()).term(failure);
    (await box.next()).term(failure);
    const letters = await eventually(async () => {
      const list = await bus.deadLetters.list({ subject: s });
      return list.length === 2 && list;
    }, 'two dead letters');
    t.equal(await bus.deadLetters.count(), 2, 'counted');
    const one = letters.find((d) => d.msgId === 'm1');
    const two = letters.find((d) => d.msgId === 'm2');
    if (!one || !two) throw new Error('dead letters lost their msgId');

    await bus.deadLetters.retry(one.seq);
    const again = await box.next('the retried message');
    t.equal(again.id, 'm1');
    t.equal(text(again.data), 'one');
    t.equal(again.deliveryCount, 1, 'a retried message starts its deliveries over');
    again.ack();

    await bus.deadLetters.drop(two.seq);
    t.same(await bus.deadLetters.list({ subject: s }), [], 'retried and dropped letters are gone');
    t.equal(await bus.deadLetters.count(), 0, 'and no longer counted');
    await t.rejects(bus.deadLetters.drop(two.seq), { code: 'LOUPE_ERR_NOT_FOUND' });
    await t.rejects(bus.deadLetters.retry(two.seq), { code: 'LOUPE_ERR_NOT_FOUND' });
    t.equal(box.received.length, 3, 'the dropped message was not delivered again');
  });
}

/** De-duplication, consumers sharing a durable, waiting messages, drain. */
export function sharingCases(t: Test, { fresh, subject }: Kit): void {
  t.test('a duplicate msgId is dropped', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const box = inbox();
    await bus.consume(s, { durable: 'stage-a' }, box.handler);
    t.same(await bus.publish(s, bytes('a'), { msgId: 'same' }), { duplicate: false });
    t.same(await bus.publish(s, bytes('a again'), { msgId: 'same' }), { duplicate: true });
    t.same(await bus.publish(s, bytes('b'), { msgId: 'other' }), { duplicate: false });
    const first = await box.next();
    first.ack();
    const second = await box.next();
    second.ack();
    t.same([first.id, second.id], ['same', 'other'], 'the duplicate was never delivered');
    t.equal(text(first.data), 'a');
  });

  t.test('consumers of one durable share the work; each message is handled once', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const handled: string[] = [];
    let started = 0;
    const bothStarted = gate();
    const handler = async (msg: WorkMessage): Promise<void> => {
      if (msg.id.startsWith('block')) {
        // Each consumer takes one message at a time: two running together prove two consumers work.
        if (++started === 2) bothStarted.open();
        await within(bothStarted.wait, 'the second consumer to take work');
      }
      handled.push(msg.id);
      msg.ack();
    };
    await bus.consume(s, { durable: 'workers', concurrency: 1 }, handler);
    await bus.consume(s, { durable: 'workers', concurrency: 1 }, handler);
    await bus.publish(s, bytes('x'), { msgId: 'block-1' });
    await bus.publish(s, bytes('x'), { msgId: 'block-2' });
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const id of ids) await bus.publish(s, bytes(id), { msgId: id });
    await eventually(async () => handled.length >= 22, 'every message handled');
    await sleep(20);
    t.same([...handled].sort(), ['block-1', 'block-2', ...ids].sort(), 'each message handled exactly once');
  });

  t.test('messages published before any consumer wait for one', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    await bus.publish(s, bytes('early-1'), { msgId: 'e1' });
    await bus.publish(s, bytes('early-2'), { msgId: 'e2' });
    t.match(await bus.stats(s), { subject: s, pending: 2, inFlight: 0, consumers: 0 });
    const box = inbox();
    await bus.consume(s, { durable: 'late' }, box.handler);
    const first = await box.next();
    first.ack();
    const second = await box.next();
    second.ack();
    t.same([first.id, second.id].sort(), ['e1', 'e2']);
  });

  t.test('drain waits for the handler in flight and takes no more work', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const release = gate();
    let finished = 0;
    const sub = await bus.consume(s, { durable: 'stage-a' }, async (msg) => {
      await release.wait;
      finished++;
      msg.ack();
    });
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    await eventually(async () => (await bus.stats(s)).inFlight === 1, 'the delivery');
    let drained = false;
    const draining = sub.drain().then(() => {
      drained = true;
    });
    await sleep(20);
    t.notOk(drained, 'drain waits for the handler');
    release.open();
    await within(draining, 'the drain');
    t.equal(finished, 1);
    await bus.publish(s, bytes('y'), { msgId: 'm2' });
    await sleep(20);
    t.equal(finished, 1, 'a drained subscription takes no more messages');
    t.match(await bus.stats(s), { pending: 1, consumers: 0 });
  });
}
