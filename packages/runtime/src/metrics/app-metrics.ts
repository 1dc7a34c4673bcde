import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Bus } from '@loupe/bus';
import { watchTraffic } from './traffic-metrics.js';

export type StageOutcome = 'done' | 'failed' | 'retried';

/** What a queue binding tells about each message it handles (pipeline.ts calls it). */
export interface StageObserver {
  started(stage: string): void;
  /** `code` is the LoupeError code of a failed or retried message. */
  finished(stage: string, outcome: StageOutcome, seconds: number, code?: string): void;
  /** Called however the handling ended, a throw from the bus included, so that in-flight cannot drift. */
  left(stage: string): void;
  /** The message went to the dead letters for an operator to replay. */
  deadLettered(stage: string): void;
}

export interface AppMetricsOptions {
  readonly bus: Bus;
  /** The process's readiness details (ServiceAppOptions.readiness): per-model timing is read from there at each scrape. */
  readonly processDetails?: () => Record<string, unknown>;
}

export interface AppMetrics {
  readonly registry: Registry;
  readonly stages: StageObserver;
  /** A work-queue subject this process consumes: its backlog is reported at each scrape. */
  watchQueue(subject: string): void;
  /** Stops listening to the process's fetches. */
  close(): void;
}

// Seconds, from a cached image fetch to a slow OCR page on a CPU.
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * One registry per app, not prom-client's global one: two apps in a process (tests, the CLI's
 * embedded mode beside a worker) each report only their own work. What other parts already count
 * (the inference engine's timing, the bus's backlog) is read when scraped, not copied as it happens.
 */
export function createAppMetrics(opts: AppMetricsOptions): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'loupe_stage_duration_seconds',
    help: 'Time a pipeline stage spent on one message, by outcome',
    labelNames: ['stage', 'outcome'],
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const messages = new Counter({ name: 'loupe_stage_messages_total', help: 'Messages a pipeline stage handled, by outcome', labelNames: ['stage', 'outcome'], registers: [registry] });
  const errors = new Counter({ name: 'loupe_stage_errors_total', help: 'Failed or retried stage messages, by Loupe error code', labelNames: ['stage', 'code'], registers: [registry] });
  const inFlight = new Gauge({ name: 'loupe_stage_in_flight', help: 'Messages a pipeline stage is handling now', labelNames: ['stage'], registers: [registry] });
  const deadLettered = new Counter({
    name: 'loupe_stage_dead_letters_total',
    help: 'Messages this process sent to the dead letters, by stage',
    labelNames: ['stage'],
    registers: [registry],
  });

  const queues = new Set<string>();
  const queueGauge = (name: string, help: string, read: (s: { pending: number; inFlight: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['subject'],
      registers: [registry],
      async collect() {
        this.reset();
        // A bus that cannot answer now leaves the series out rather than failing the whole scrape.
        const stats = await Promise.all([...queues].map((subject) => opts.bus.stats(subject).catch(() => undefined)));
        for (const s of stats) if (s) this.set({ subject: s.subject }, read(s));
      },
    });
  queueGauge('loupe_queue_pending_messages', 'Messages waiting in a work queue this process consumes', (s) => s.pending);
  queueGauge('loupe_queue_in_flight_messages', 'Messages of a work queue delivered and not yet settled, by any consumer', (s) => s.inFlight);

  const models = () => modelTimings(opts.processDetails);
  new Counter({
    name: 'loupe_inference_runs_total',
    help: 'Session runs of a model since it was loaded (warm-up excluded)',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models()) this.inc({ model: m.id }, m.timing.runs);
    },
  });
  new Counter({
    name: 'loupe_inference_requests_total',
    help: 'Requests the runs of a model served (more than runs where requests shared a run)',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models()) this.inc({ model: m.id }, m.timing.requests);
    },
  });
  new Counter({
    name: 'loupe_inference_duration_seconds_total',
    help: 'Time in session runs of a model since it was loaded',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models()) this.inc({ model: m.id }, m.timing.ms / 1000);
    },
  });
  new Gauge({
    name: 'loupe_inference_batch_size',
    help: 'Mean requests per session run of a model since it was loaded',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models()) this.set({ model: m.id }, m.timing.meanBatch);
    },
  });
  new Gauge({
    name: 'loupe_inference_queue_seconds',
    help: 'Time requests to a model waited for their run, over its latest requests, by quantile',
    labelNames: ['model', 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      for (const m of models()) {
        this.set({ model: m.id, quantile: '0.5' }, m.timing.queueMs.p50 / 1000);
        this.set({ model: m.id, quantile: '0.95' }, m.timing.queueMs.p95 / 1000);
      }
    },
  });

  return {
    registry,
    stages: {
      started: (stage) => inFlight.inc({ stage }),
      finished(stage, outcome, seconds, code) {
        duration.observe({ stage, outcome }, seconds);
        messages.inc({ stage, outcome });
        if (code) errors.inc({ stage, code });
      },
      left: (stage) => inFlight.dec({ stage }),
      deadLettered: (stage) => deadLettered.inc({ stage }),
    },
    watchQueue: (subject) => void queues.add(subject),
    close: watchTraffic(registry, opts.bus),
  };
}

interface ModelTimingView {
  readonly id: string;
  readonly timing: { runs: number; requests: number; ms: number; meanBatch: number; queueMs: { p50: number; p95: number } };
}

/**
 * The models in the process's readiness details: any detail holding `models: [{ id, timing }]`
 * (the inference engine's readiness()). Read by shape so that the runtime needs no inference package.
 */
function modelTimings(processDetails: (() => Record<string, unknown>) | undefined): ModelTimingView[] {
  if (!processDetails) return [];
  let details: Record<string, unknown>;
  try {
    details = processDetails();
  } catch {
    return [];
  }
  const out: ModelTimingView[] = [];
  for (const part of Object.values(details)) {
    const list = (part as { models?: unknown } | null)?.models;
    if (!Array.isArray(list)) continue;
    for (const m of list as Partial<ModelTimingView>[]) if (typeof m?.id === 'string' && m.timing) out.push(m as ModelTimingView);
  }
  return out;
}
