import type { BatcherObserver } from './dynamic-batcher.js';

export interface Percentiles {
  p50: number;
  p95: number;
}

/** One model's counters since it was loaded; times over its latest runs. */
export interface ModelMetrics {
  /** run() and runBatch() calls. */
  requests: number;
  /** Requests that failed: a failed run, an overloaded queue, a shutdown (caller aborts are not errors). */
  errors: number;
  /** Requests refused because the queue was full. */
  overloaded: number;
  /** Session runs. */
  batches: number;
  /** Requests per run. */
  meanBatch: number;
  /** Time requests waited before their run started, ms. */
  queueMs: Percentiles;
  /** Time a session run took, ms. */
  runMs: Percentiles;
  /** Time in session runs since the model was loaded, ms. */
  runTotalMs: number;
  /** Requests waiting now. */
  queued: number;
  /** Runs under way now. */
  inFlight: number;
}

/** Where one model's time went: what /readyz and `loupe run`'s report.json show per model. */
export interface ModelTiming {
  /** Session runs (warm-up excluded). */
  runs: number;
  /** Requests those runs served: more than runs where requests shared a run. */
  requests: number;
  /** Time in session runs, ms. */
  ms: number;
  meanMs: number;
  /** Requests per run. */
  meanBatch: number;
  /** Time requests waited for their run, ms. */
  queueMs: Percentiles;
}

export function timingOf(m: ModelMetrics): ModelTiming {
  return {
    runs: m.batches,
    requests: m.requests,
    ms: round3(m.runTotalMs),
    meanMs: m.batches === 0 ? 0 : round3(m.runTotalMs / m.batches),
    meanBatch: m.meanBatch,
    queueMs: m.queueMs,
  };
}

/** Latest samples kept for percentiles: enough for a stable p95, small enough to sort on every scrape. */
const WINDOW = 1024;

class Window {
  readonly #values = new Float64Array(WINDOW);
  #count = 0;

  add(v: number): void {
    this.#values[this.#count % WINDOW] = v;
    this.#count++;
  }

  percentiles(): Percentiles {
    const n = Math.min(this.#count, WINDOW);
    if (n === 0) return { p50: 0, p95: 0 };
    const sorted = this.#values.slice(0, n).sort();
    // Nearest rank: the smallest sample with at least p of the samples at or below it.
    const rank = (p: number) => round3(sorted[Math.max(0, Math.ceil(p * n) - 1)]!);
    return { p50: rank(0.5), p95: rank(0.95) };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export class MetricsRecorder implements BatcherObserver {
  requests = 0;
  #errors = 0;
  #overloaded = 0;
  #batches = 0;
  #batched = 0;
  #runTotalMs = 0;
  readonly #queueMs = new Window();
  readonly #runMs = new Window();

  dispatched(queueMs: readonly number[]): void {
    for (const ms of queueMs) this.#queueMs.add(ms);
  }

  ran(runMs: number, requests: number, failed: boolean): void {
    this.#batches++;
    this.#batched += requests;
    this.#runMs.add(runMs);
    this.#runTotalMs += runMs;
    if (failed) this.#errors += requests;
  }

  /** A request that never reached the queue (a malformed input). */
  failed(): void {
    this.#errors++;
  }

  dropped(reason: 'overloaded' | 'aborted' | 'shutting-down'): void {
    if (reason === 'aborted') return;
    this.#errors++;
    if (reason === 'overloaded') this.#overloaded++;
  }

  snapshot(queued: number, inFlight: number): ModelMetrics {
    return {
      requests: this.requests,
      errors: this.#errors,
      overloaded: this.#overloaded,
      batches: this.#batches,
      meanBatch: this.#batches === 0 ? 0 : round3(this.#batched / this.#batches),
      queueMs: this.#queueMs.percentiles(),
      runMs: this.#runMs.percentiles(),
      runTotalMs: round3(this.#runTotalMs),
      queued,
      inFlight,
    };
  }
}
