import t from 'tap';
import { Type } from '@sinclair/typebox';
import { createMemoryBus, encode } from '@loupe/bus';
import { LoupeError, defineHandler, type StageEnvelope } from '@loupe/contracts';
import { defineService } from '../define-service.js';
import { createServiceApp } from '../service-app.js';

const SUBJECT = 'loupe.demo.stage.v1';

/** A stage whose canvas id says how it ends: read, a network error once, bad input, or a bug. */
const stage = defineHandler({
  name: 'stage',
  summary: 'A demo stage',
  subject: SUBJECT,
  mode: 'queue',
  input: Type.Object({ task: Type.Object({ canvasId: Type.String() }, { additionalProperties: true }) }, { additionalProperties: true }),
  output: Type.Object({}),
  errors: [],
  role: 'operator',
  handler: async ({ task }, ctx) => {
    if (task.canvasId === 'flaky' && ctx.attempt === 1) throw new LoupeError('LOUPE_ERR_FETCH_NETWORK');
    if (task.canvasId === 'bad') throw new LoupeError('LOUPE_ERR_VALIDATION', 'bad canvas');
    if (task.canvasId === 'bug') throw new Error('a bug');
    return {};
  },
});

t.test('each outcome of a queue handler is counted: done, retried, failed, dead-lettered, errors by code', async (t) => {
  const bus = createMemoryBus();
  const app = await createServiceApp([defineService({ name: 'demo', version: '1.0.0', description: 'demo', handlers: [stage] })], {
    bus,
    logger: false,
    queue: { maxDeliver: 2, backoffMs: () => 0 },
    readiness: () => ({ inference: { models: [{ id: 'det', timing: { runs: 3, requests: 6, ms: 1500, meanBatch: 2, queueMs: { p50: 1, p95: 4 } } }] } }),
  });
  t.teardown(async () => {
    await app.close();
    await bus.close();
  });
  await app.start();

  for (const canvasId of ['ok', 'flaky', 'bad', 'bug']) {
    const envelope = { jobId: 'j', key: canvasId, task: { canvasId }, route: [{ subject: SUBJECT, stage: 'demo' }], results: {} } as unknown as StageEnvelope;
    await bus.publish(SUBJECT, encode(envelope), { msgId: canvasId });
  }
  // Every message settled (the counts are taken as a message settles): no clock involved.
  for (;;) {
    const stats = await bus.stats(SUBJECT);
    if (stats.pending === 0 && stats.inFlight === 0) break;
    await new Promise((r) => setImmediate(r));
  }

  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const lines = new Set(res.body.split('\n'));
  for (const line of [
    'loupe_stage_messages_total{stage="demo",outcome="done"} 2',
    'loupe_stage_messages_total{stage="demo",outcome="retried"} 1',
    'loupe_stage_messages_total{stage="demo",outcome="failed"} 2',
    'loupe_stage_duration_seconds_count{stage="demo",outcome="failed"} 2',
    'loupe_stage_errors_total{stage="demo",code="LOUPE_ERR_FETCH_NETWORK"} 1',
    'loupe_stage_errors_total{stage="demo",code="LOUPE_ERR_VALIDATION"} 1',
    'loupe_stage_errors_total{stage="demo",code="LOUPE_ERR_INTERNAL"} 1',
    'loupe_stage_dead_letters_total{stage="demo"} 1',
    'loupe_stage_in_flight{stage="demo"} 0',
    `loupe_queue_pending_messages{subject="${SUBJECT}"} 0`,
    'loupe_inference_runs_total{model="det"} 3',
    'loupe_inference_requests_total{model="det"} 6',
    'loupe_inference_duration_seconds_total{model="det"} 1.5',
    'loupe_inference_batch_size{model="det"} 2',
    'loupe_inference_queue_seconds{model="det",quantile="0.95"} 0.004',
  ]) {
    t.ok(lines.has(line), line);
  }
});

t.test('two apps in one process keep their own counts', async (t) => {
  const buses = [createMemoryBus(), createMemoryBus()];
  const apps = await Promise.all(buses.map((bus) => createServiceApp([], { bus, logger: false })));
  t.teardown(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await Promise.all(buses.map((b) => b.close()));
  });
  const bodies = await Promise.all(apps.map(async (a) => (await a.inject({ method: 'GET', url: '/metrics' })).body));
  for (const body of bodies) t.match(body, /^process_cpu_user_seconds_total \d/m, 'each has the process metrics, no name clash');
});
