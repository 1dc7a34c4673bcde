/**
 * What tracing costs (docs/benchmarks.md): first off, as every process runs by default (no OTEL_*
 * set, no SDK loaded), then on, exporting OTLP/HTTP to a receiver on loopback, in the same process.
 * - a span: `inSpan` around an async function that does nothing, against the bare call;
 * - a message: publish on the in-memory bus and consume it in a consumer span, as a stage does,
 *   with the trace context written to and read from its headers.
 * Run: pnpm run bench:tracing [messages]
 */
import { inConsumerSpan, inSpan } from '@loupe/contracts';
import { createMemoryBus, encode } from '@loupe/bus';
import { startTracing } from '@loupe/runtime';
import { startOtlpReceiver } from '../support/otlp-receiver.js';

const MESSAGES = Number(process.argv[2] ?? 20_000);
const SPANS = 200_000;
const nothing = async (): Promise<number> => 1;

async function nsPerCall(calls: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 1000; i++) await fn();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await fn();
  return Number(process.hrtime.bigint() - started) / calls;
}

/** Messages per second through publish, consume and a consumer span, as a pipeline stage runs them. */
async function messagesPerSecond(): Promise<number> {
  const bus = createMemoryBus();
  const subject = 'loupe.bench.tracing.v1';
  let left = MESSAGES;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  await bus.consume(subject, { durable: 'bench', concurrency: 8 }, (msg) =>
    inConsumerSpan('process bench', { busKind: bus.kind, subject }, msg, async () => {
      msg.ack();
      if (--left === 0) finished();
    }),
  );
  const started = performance.now();
  await inSpan('publish all', {}, async () => {
    for (let i = 0; i < MESSAGES; i++) await bus.publish(subject, encode({ i }), { msgId: String(i) });
  });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await bus.close();
  return MESSAGES / seconds;
}

async function measure(mode: string): Promise<{ mode: string; spanNs: number; bareNs: number; msgsPerSecond: number }> {
  const bareNs = await nsPerCall(SPANS, nothing);
  const spanNs = await nsPerCall(SPANS, () => inSpan('bench', { 'loupe.bench': 1 }, nothing));
  const msgsPerSecond = await messagesPerSecond();
  return { mode, spanNs, bareNs, msgsPerSecond };
}

// A first pass warms the JIT, so that the bare call is not charged for compiling.
await nsPerCall(SPANS, nothing);
const off = await measure('off (default)');
const receiver = await startOtlpReceiver();
process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
const tracing = await startTracing();
if (!tracing) throw new Error('tracing did not start');
const on = await measure('on (OTLP/HTTP)');
await tracing.forceFlush();
await tracing.shutdown();
await receiver.close();

console.log(`tracing cost, ${SPANS} spans and ${MESSAGES} bus messages per mode (Node ${process.version})`);
console.log('| tracing | bare async call | call in a span | span overhead | bus messages/s (publish, consume, consumer span) |');
console.log('|---|---|---|---|---|');
for (const r of [off, on]) {
  console.log(`| ${r.mode} | ${r.bareNs.toFixed(0)} ns | ${r.spanNs.toFixed(0)} ns | ${(r.spanNs - r.bareNs).toFixed(0)} ns | ${r.msgsPerSecond.toFixed(0)} |`);
}
// The batch processor keeps 2048 spans at most between exports: a loop this tight drops the rest, as it should rather than grow.
console.log(`messages/s on ÷ off: ${(on.msgsPerSecond / off.msgsPerSecond).toFixed(2)}; spans received: ${receiver.spans.length} (the rest dropped by the batch queue's bound)`);
