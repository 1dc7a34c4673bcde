import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError } from '@loupe/contracts';
import type { Test } from 'tap';
import { decode, encode } from '../bus.js';
import { jsonReply, replyError } from '../reply.js';
import { bytes, gate, inbox, text, within, type Kit } from './contract.kit.js';

/** Request/reply, headers and broadcasts. */
export function requestReplyCases(t: Test, { fresh, subject }: Kit): void {
  t.test('a request reaches a responder and gets its reply', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    await bus.serve(s, async (data) => jsonReply({ echo: decode<{ n: number }>(data).n + 1 }, { 'Loupe-Model': 'effnet' }));
    const reply = await bus.request(s, encode({ n: 41 }), { timeoutMs: 2_000 });
    t.same(decode(reply.data), { echo: 42 });
    t.equal(reply.headers['Loupe-Model'], 'effnet', 'reply headers travel');
  });

  t.test('a request nobody serves fails at once with LOUPE_ERR_BUS_NO_RESPONDER', async (t) => {
    const bus = await fresh(t);
    // A long timeout: only a fast failure can report NO_RESPONDER rather than TIMEOUT.
    await t.rejects(bus.request(subject(), encode({}), { timeoutMs: 60_000 }), { code: 'LOUPE_ERR_BUS_NO_RESPONDER', status: 503 });
  });

  t.test('a responder that does not answer in time gives LOUPE_ERR_BUS_TIMEOUT', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const release = gate();
    t.teardown(release.open);
    await bus.serve(s, async () => {
      await release.wait;
      return jsonReply({});
    });
    await t.rejects(bus.request(s, encode({}), { timeoutMs: 30 }), { code: 'LOUPE_ERR_BUS_TIMEOUT', retryable: true });
  });

  t.test('error replies become LoupeErrors', async (t) => {
    const bus = await fresh(t);
    const replied = subject();
    const thrown = subject();
    const crashed = subject();
    await bus.serve(replied, async () => replyError(new LoupeError('LOUPE_ERR_JOB_NOT_FOUND', 'no job j-1', { details: { jobId: 'j-1' } })));
    await bus.serve(thrown, async () => {
      throw new LoupeError('LOUPE_ERR_IIIF_NOT_JSON', 'not json');
    });
    await bus.serve(crashed, async () => {
      throw new Error('secret stack detail');
    });
    const failure = await bus.request(replied, encode({})).then(
      () => undefined,
      (err: unknown) => err,
    );
    t.ok(failure instanceof LoupeError, 'the requester gets a LoupeError');
    t.match(failure, { code: 'LOUPE_ERR_JOB_NOT_FOUND', message: 'no job j-1', status: 404, details: { jobId: 'j-1' } });
    await t.rejects(bus.request(thrown, encode({})), { code: 'LOUPE_ERR_IIIF_NOT_JSON', message: 'not json' });
    const opaque = await bus.request(crashed, encode({})).catch((err: unknown) => err);
    t.match(opaque, { code: 'LOUPE_ERR_INTERNAL' });
    t.notMatch(String((opaque as Error).message), /secret/, 'an unknown error stays opaque');
  });

  t.test('headers travel with requests, queue messages and broadcasts', async (t) => {
    const bus = await fresh(t);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const q = subject();
    const r = subject();
    const e = subject();
    const box = inbox();
    await bus.consume(q, { durable: 'stage-a' }, box.handler);
    await bus.serve(r, async (_data, headers) => jsonReply({ seen: headers.traceparent }));
    const heard = new Promise<Record<string, string>>((resolve) => bus.listen(e, (_data, headers) => resolve(headers)));

    await bus.publish(q, bytes('x'), { msgId: 'm1', headers: { traceparent } });
    const msg = await box.next();
    t.equal(msg.headers.traceparent, traceparent, 'queue message');
    msg.ack();
    const reply = await bus.request(r, encode({}), { headers: { traceparent } });
    t.same(decode(reply.data), { seen: traceparent }, 'request');
    bus.emit(e, bytes('evt'), { traceparent });
    t.equal((await within(heard, 'the broadcast')).traceparent, traceparent, 'broadcast');
  });

  t.test('a broadcast reaches every listener', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const heard: string[] = [];
    const both = gate();
    const listener = (who: string) => (data: Uint8Array) => {
      heard.push(`${who}:${text(data)}`);
      if (heard.length === 2) both.open();
    };
    const sub = bus.listen(s, listener('a'));
    bus.listen(s, listener('b'));
    // Core NATS subscriptions become active asynchronously: a request round trip flushes them.
    await bus.serve(`${s}.flush`, async () => jsonReply({}));
    await bus.request(`${s}.flush`, encode({}));
    bus.emit(s, bytes('job-done'));
    await within(both.wait, 'both listeners');
    t.same(heard.sort(), ['a:job-done', 'b:job-done']);
    await sub.drain();
  });
}

/** What close() waits for and refuses afterwards. */
export function closeCases(t: Test, { fresh, subject }: Kit): void {
  t.test('close waits for handlers in flight, then rejects every call', async (t) => {
    const bus = await fresh(t);
    const s = subject();
    const started = gate();
    const release = gate();
    const order: string[] = [];
    await bus.consume(s, { durable: 'stage-a' }, async (msg) => {
      started.open();
      await release.wait;
      msg.ack();
      order.push('handler finished');
    });
    await bus.publish(s, bytes('x'), { msgId: 'm1' });
    await within(started.wait, 'the delivery');
    const closing = bus.close().then(() => order.push('closed'));
    await sleep(20);
    t.same(order, [], 'close waits for the handler');
    release.open();
    await within(closing, 'close');
    t.same(order, ['handler finished', 'closed']);

    await t.rejects(bus.publish(s, bytes('y'), { msgId: 'm2' }), { code: 'LOUPE_ERR_BUS_CLOSED' });
    await t.rejects(bus.request(s, encode({})), { code: 'LOUPE_ERR_BUS_CLOSED' });
    await t.rejects(bus.consume(s, { durable: 'stage-a' }, async () => {}), { code: 'LOUPE_ERR_BUS_CLOSED' });
    await t.rejects(bus.serve(s, async () => jsonReply({})), { code: 'LOUPE_ERR_BUS_CLOSED' });
    await t.rejects(bus.stats(s), { code: 'LOUPE_ERR_BUS_CLOSED' });
    await t.rejects(bus.deadLetters.list(), { code: 'LOUPE_ERR_BUS_CLOSED' });
    t.throws(() => bus.emit(s, bytes('z')), { code: 'LOUPE_ERR_BUS_CLOSED' });
  });
}
