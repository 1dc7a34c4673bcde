// `loupe dlq list|retry|drop` against a real nats-server: a message a stage gave up on is listed
// with its stage and last error, can be put back on its queue, or dropped.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { connectJetStreamBus, decode, encode } from '@loupe/bus';
import { requireNatsOrSkip, startNatsServer } from '@loupe/testing';
import { runLoupe } from './support/loupe-process.js';


if (!requireNatsOrSkip(t)) process.exit(0);

const nats = await startNatsServer();
t.teardown(() => nats.close());
const env = { LOUPE_BUS: 'nats', LOUPE_NATS_URL: nats.url };

const loupe = (args: string[], extra: Record<string, string> = env) => runLoupe(args, { env: extra });

t.test('list, retry and drop dead letters', async (t) => {
  const bus = await connectJetStreamBus({ url: nats.url });
  t.teardown(() => bus.close());
  const subject = 'loupe.detect.text.v1';
  let attempts = 0;
  let healed = false;
  const handled: string[] = [];
  const sub = await bus.consume(subject, { durable: 'detect-text', maxDeliver: 1 }, async (msg) => {
    attempts += 1;
    const body = decode<{ jobId: string; task: { canvasId: string } }>(msg.data);
    if (!healed) return msg.term({ code: 'LOUPE_ERR_INFERENCE', message: 'the model crashed', status: 500, retryable: true });
    handled.push(body.task.canvasId);
    msg.ack();
  });
  t.teardown(() => sub.drain());
  for (const canvas of ['c1', 'c2']) {
    await bus.publish(subject, encode({ jobId: 'job-1', key: canvas, task: { canvasId: `https://ex.org/${canvas}` } }), { msgId: `job-1/${canvas}/detect.text` });
  }
  for (let i = 0; i < 100 && (await bus.deadLetters.list()).length < 2; i++) await sleep(50);

  const listed = await loupe(['dlq', 'list']);
  t.equal(listed.code, 0, listed.stderr);
  const letters = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; subject: string; stage: string; error: { code: string }; job: string; canvas: string });
  t.equal(letters.length, 2);
  t.match(letters[0], { subject, stage: 'detect-text', error: { code: 'LOUPE_ERR_INFERENCE' }, job: 'job-1', canvas: 'https://ex.org/c1' });

  healed = true;
  const retried = await loupe(['dlq', 'retry', String(letters[0]!.seq)]);
  t.equal(retried.code, 0, retried.stderr);
  for (let i = 0; i < 100 && handled.length === 0; i++) await sleep(50);
  t.same(handled, ['https://ex.org/c1'], 'the retried message is delivered again, and handled');

  const dropped = await loupe(['dlq', 'drop', String(letters[1]!.seq)]);
  t.equal(dropped.code, 0, dropped.stderr);
  t.same(await bus.deadLetters.list(), [], 'nothing left');

  const wrong = await loupe(['dlq', 'retry', 'first']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, 'needs the sequence number');
  const gone = await loupe(['dlq', 'drop', String(letters[1]!.seq)]);
  t.equal(gone.code, 1);
  t.match(gone.stderr, 'LOUPE_ERR_NOT_FOUND');
  t.ok(attempts >= 3);
});

t.test('with the in-memory bus, loupe dlq says where the dead letters are', async (t) => {
  const ran = await loupe(['dlq', 'list'], { LOUPE_BUS: 'memory' });
  t.equal(ran.code, 1);
  t.match(ran.stderr, '/v1/dead-letters');
});
