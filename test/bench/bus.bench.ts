// Benchmark (not a test): the pipeline path over the in-memory bus against NATS JetStream.
// A task goes through three queue stages (trivial handlers, so only the bus is measured) and its
// progress events; prints one JSON line per bus with tasks/s and per-task latency.
//   node --import tsx --conditions=loupe-source test/bench/bus.bench.ts [--tasks N] [--concurrency N]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import { SUBJECTS, StageInput, defineHandler, type JobEvent, type ServiceDefinition, type StageEnvelope } from '@loupe/contracts';
import { connectJetStreamBus, createMemoryBus, decode, encode, type Bus } from '@loupe/bus';
import { bindQueueHandler } from '@loupe/runtime';
import { natsServerAvailable, startNatsServer } from '@loupe/testing';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '16' } } });
const TASKS = Number(values.tasks);
const CONCURRENCY = Number(values.concurrency);

const stages = ['one', 'two', 'three'].map((name) => ({ stage: `bench.${name}`, subject: `loupe.bench.${name}.v1` }));
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function run(bus: Bus, label: string): Promise<void> {
  const service: ServiceDefinition = { name: 'bench', version: '0', description: 'bench', handlers: [] };
  const subs = [];
  for (const { stage, subject } of stages) {
    const decl = defineHandler({ name: stage, summary: stage, subject, mode: 'queue', input: StageInput, output: Type.Object({ ok: Type.Boolean() }), errors: [], handler: async () => ({ ok: true }) });
    subs.push(
      await bindQueueHandler(bus, service, decl, (msg, signal) => ({ signal, log: silent, headers: msg.headers, working: () => msg.working(), attempt: msg.deliveryCount }), { concurrency: CONCURRENCY }),
    );
  }
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  subs.push(
    await bus.consume(SUBJECTS.jobEvents, { durable: 'bench-events', concurrency: CONCURRENCY }, async (msg) => {
      const event = decode<JobEvent>(msg.data);
      if (event.type === 'task-done') {
        latencies.push(performance.now() - started.get(event.key)!);
        if (latencies.length === TASKS) resolveAll();
      }
      msg.ack();
    }),
  );
  const jobId = `bench-${label}-${Date.now()}`;
  const t0 = performance.now();
  for (let i = 0; i < TASKS; i++) {
    const key = `c${i}`;
    const task = { jobId, manifestId: 'm', canvasId: key, canvasIndex: i, canvasLabel: key, canvasWidth: 1, canvasHeight: 1, imageIndex: 0, image: { id: 'x' } };
    const envelope: StageEnvelope = { jobId, key, task, route: stages, results: {} };
    started.set(key, performance.now());
    await bus.publish(stages[0]!.subject, encode(envelope), { msgId: `${jobId}/${key}/${stages[0]!.stage}` });
  }
  await allDone;
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 100) / 100;
  for (const s of subs) await s.drain();
  console.log(JSON.stringify({ bench: 'pipeline-bus', bus: label, tasks: TASKS, stages: stages.length, concurrency: CONCURRENCY, tasks_per_s: Math.round(TASKS / seconds), latency_ms: { p50: q(0.5), p95: q(0.95), p99: q(0.99) } }));
}

const memory = createMemoryBus();
await run(memory, 'memory');
await memory.close();

if (!natsServerAvailable()) {
  console.log(JSON.stringify({ bench: 'pipeline-bus', bus: 'jetstream', skipped: 'nats-server not installed (apt-get install -y nats-server)' }));
} else {
  const nats = await startNatsServer();
  const js = await connectJetStreamBus({ url: nats.url, streamPrefix: 'BENCH' });
  await run(js, 'jetstream');
  await js.close();
  await nats.close();
}
