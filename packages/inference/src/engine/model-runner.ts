import { context, trace, type Context } from '@opentelemetry/api';
import { inSpan, LoupeError } from '@loupe/contracts';
import type { ModelCard } from '../cards/model-card.js';
import {
  cudaUnavailableReason,
  loadSession,
  type ExecutionProvider,
  type InferenceLogger,
  type ModelSession,
  type Tensor,
  type TensorData,
  type ValueInfo,
} from '../session.js';
import { DynamicBatcher, type BatcherClock, type BatcherLimits } from './dynamic-batcher.js';
import { MetricsRecorder, timingOf, type ModelMetrics, type ModelTiming } from './model-metrics.js';
import { batchKey, concatBatch, splitBatch, type PadSpec } from './tensor-batch.js';

export interface EngineOptions {
  /** The provider asked for; CUDA falls back to the CPU, with the reason logged and in readiness(), where it cannot start. */
  executionProvider: ExecutionProvider;
  log?: InferenceLogger;
  /** Threads one session run may use; every core by default. */
  intraOpNumThreads?: number;
  /** Worker threads of the process's inference pool (see session.worker-pool.ts). */
  inferenceThreads?: number;
  /** For tests: the clock the batchers wait on. */
  clock?: BatcherClock;
}

export interface LoadOptions {
  /** Which of the card's files is the ONNX graph (default 'model'). */
  role?: string;
  /** Run once on zero input before answering (default true). */
  warmUp?: boolean;
  /** Overrides the card's runtime settings. */
  runtime?: Partial<BatcherLimits>;
  /**
   * Axes of the image input (the card's input.name, else the first) along which requests may
   * differ and still share a run: shorter ones are padded (text lines of different widths). Each
   * output then comes from the padded input.
   */
  padding?: PadSpec;
}

export type ModelState = 'loading' | 'warming' | 'ready' | 'failed' | 'closed';

export interface ModelReadiness {
  /** The card id, with `/role` for a role other than 'model'. */
  id: string;
  version: string;
  provider: ExecutionProvider;
  fallbackReason?: string;
  state: ModelState;
  /** How long the warm-up run took, once done. */
  warmUpMs?: number;
  /** Why loading failed. */
  error?: string;
  /** Runs, time and batch sizes since it was loaded, once it is open. */
  timing?: ModelTiming;
}

export interface EngineReadiness {
  /** The provider asked for. */
  requested: ExecutionProvider;
  /** The provider in use: cpu as soon as CUDA is missing or any model could not start on it. */
  provider: ExecutionProvider;
  fallbackReason?: string;
  /** Every model loaded and warm (true with none loaded). */
  ready: boolean;
  models: ModelReadiness[];
}

export interface RunOptions {
  signal?: AbortSignal;
}

export interface ModelRunner {
  /** The card id, with `/role` for a role other than 'model'; names the model in metrics and errors. */
  readonly id: string;
  readonly card: ModelCard;
  readonly provider: ExecutionProvider;
  readonly fallbackReason: string | undefined;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** The image input: the card's input.name, else the graph's first input. */
  readonly inputName: string;
  readonly limits: Readonly<BatcherLimits>;
  /**
   * One item, each feed without its batch dimension or with a batch of 1. Where the card allows
   * batches, concurrent items of the same shape share a run. The outputs are this item's part,
   * shaped like the feeds: without a batch dimension when they came without one.
   */
  run(feeds: Record<string, Tensor>, opts?: RunOptions): Promise<Record<string, Tensor>>;
  /** A batch the caller made (dim 0 of every feed), run as it is, through the same queue and limits. */
  runBatch(feeds: Record<string, Tensor>, opts?: RunOptions): Promise<Record<string, Tensor>>;
  /** One run on zero input; load() does it unless told not to, and it happens only once. */
  warmUp(): Promise<void>;
  metrics(): ModelMetrics;
  /** Finishes the requests already queued, then releases the session (once every load of it is closed). */
  close(): Promise<void>;
}

export interface Engine {
  readonly requested: ExecutionProvider;
  /**
   * Opens a card's ONNX graph (files: role -> verified local path) and warms it up. Loading the
   * same card id, version and role again returns the runner already open.
   */
  load(card: ModelCard, files: Record<string, string>, opts?: LoadOptions): Promise<ModelRunner>;
  readiness(): EngineReadiness;
  /** Per model id. */
  metrics(): Record<string, ModelMetrics>;
  close(): Promise<void>;
}

/** Where a card says nothing. concurrency 1: one run already spreads over every core. */
export const RUNTIME_DEFAULTS: Readonly<BatcherLimits> = Object.freeze({ maxBatch: 8, maxWaitMs: 5, maxQueue: 256, concurrency: 1 });

const consoleLogger: InferenceLogger = { warn: (message, details) => console.warn(`[loupe:inference] ${message}`, details ?? '') };

export function createEngine(opts: EngineOptions): Engine {
  return new OnnxEngine(opts);
}

interface Entry {
  key: string;
  version: string;
  refs: number;
  state: ModelState;
  provider: ExecutionProvider;
  fallbackReason?: string;
  error?: string;
  loading: Promise<Runner>;
  runner?: Runner;
}

class OnnxEngine implements Engine {
  readonly requested: ExecutionProvider;
  readonly #log: InferenceLogger;
  readonly #threads: number | undefined;
  readonly #inferenceThreads: number | undefined;
  readonly #clock: BatcherClock | undefined;
  /** Why CUDA cannot be used at all on this machine, found once. */
  readonly #cudaMissing: string | undefined;
  readonly #models = new Map<string, Entry>();
  #closed = false;

  constructor(opts: EngineOptions) {
    this.requested = opts.executionProvider;
    this.#log = opts.log ?? consoleLogger;
    this.#threads = opts.intraOpNumThreads;
    this.#inferenceThreads = opts.inferenceThreads;
    this.#clock = opts.clock;
    if (this.requested === 'cuda') {
      this.#cudaMissing = cudaUnavailableReason();
      if (this.#cudaMissing) this.#log.warn('CUDA was asked for but cannot be used: models run on the CPU', { reason: this.#cudaMissing });
    }
  }

  load(card: ModelCard, files: Record<string, string>, opts: LoadOptions = {}): Promise<ModelRunner> {
    if (this.#closed) return Promise.reject(new LoupeError('LOUPE_ERR_SHUTTING_DOWN', 'The inference engine is closed'));
    const role = opts.role ?? 'model';
    const key = role === 'model' ? card.id : `${card.id}/${role}`;
    const existing = this.#models.get(key);
    if (existing && existing.version === card.version && existing.state !== 'failed' && existing.state !== 'closed') {
      existing.refs++;
      return existing.loading;
    }
    const path = files[role];
    if (!path) {
      return Promise.reject(
        new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Model ${card.id} has no local file for role ${role}`, {
          details: { model: card.id, role, roles: Object.keys(files) },
        }),
      );
    }
    const provider: ExecutionProvider = this.#cudaMissing ? 'cpu' : this.requested;
    // `loading` is the promise of the load that fills this entry in, so it is set right after.
    const entry = {
      key,
      version: card.version,
      refs: 1,
      state: 'loading',
      provider,
      ...(this.#cudaMissing ? { fallbackReason: this.#cudaMissing } : {}),
    } as Entry;
    entry.loading = this.#open(entry, card, path, opts);
    this.#models.set(key, entry);
    return entry.loading;
  }

  async #open(entry: Entry, card: ModelCard, path: string, opts: LoadOptions): Promise<Runner> {
    const limits: BatcherLimits = { ...RUNTIME_DEFAULTS, ...definedOnly(card.runtime ?? {}), ...definedOnly(opts.runtime ?? {}) };
    try {
      const session = await loadSession(path, {
        executionProvider: entry.provider,
        logger: this.#log,
        concurrency: limits.concurrency,
        ...(this.#threads ? { intraOpNumThreads: this.#threads } : {}),
        ...(this.#inferenceThreads ? { inferenceThreads: this.#inferenceThreads } : {}),
      });
      entry.provider = session.provider;
      if (session.fallbackReason) entry.fallbackReason = session.fallbackReason;
      this.#log.info?.(`model ${entry.key} ${card.version} runs on ${session.provider}`, {
        model: entry.key,
        version: card.version,
        provider: session.provider,
        ...(entry.fallbackReason ? { fallbackReason: entry.fallbackReason } : {}),
      });
      const runner = new Runner(entry.key, card, session, limits, opts.padding, this.#log, this.#clock, () => this.#release(entry));
      entry.runner = runner;
      if (opts.warmUp !== false) {
        entry.state = 'warming';
        await runner.warmUp();
      }
      entry.state = 'ready';
      return runner;
    } catch (err) {
      entry.state = 'failed';
      entry.error = err instanceof Error ? err.message : String(err);
      await entry.runner?.shutdown();
      throw err;
    }
  }

  async #release(entry: Entry): Promise<void> {
    if (--entry.refs > 0) return;
    entry.state = 'closed';
    await entry.runner?.shutdown();
    if (this.#models.get(entry.key) === entry) this.#models.delete(entry.key);
  }

  readiness(): EngineReadiness {
    const models = [...this.#models.values()].map((e): ModelReadiness => ({
      id: e.key,
      version: e.version,
      provider: e.provider,
      ...(e.fallbackReason ? { fallbackReason: e.fallbackReason } : {}),
      state: e.state,
      ...(e.runner?.warmUpMs !== undefined ? { warmUpMs: e.runner.warmUpMs } : {}),
      ...(e.error ? { error: e.error } : {}),
      ...(e.runner ? { timing: timingOf(e.runner.metrics()) } : {}),
    }));
    const fallback = this.#cudaMissing ?? models.find((m) => m.fallbackReason)?.fallbackReason;
    return {
      requested: this.requested,
      provider: fallback ? 'cpu' : this.requested,
      ...(fallback ? { fallbackReason: fallback } : {}),
      ready: !this.#closed && models.every((m) => m.state === 'ready'),
      models,
    };
  }

  metrics(): Record<string, ModelMetrics> {
    const out: Record<string, ModelMetrics> = {};
    for (const e of this.#models.values()) if (e.runner) out[e.key] = e.runner.metrics();
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const entries = [...this.#models.values()];
    await Promise.all(entries.map((e) => e.loading.then((r) => r.shutdown(), () => undefined)));
    for (const e of entries) e.state = 'closed';
    this.#models.clear();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface Job {
  feeds: Record<string, Tensor>;
  /** Items in this request (dim 0 of its feeds). */
  size: number;
  /** The request came without a batch dimension, so its outputs go back without one. */
  squeeze: boolean;
  /** The caller's trace context: the batch's span is a child of the first caller's, linked to the others'. */
  trace: Context;
}

class Runner implements ModelRunner {
  readonly inputName: string;
  readonly #session: ModelSession;
  readonly #batcher: DynamicBatcher<Job, Record<string, Tensor>>;
  readonly #recorder = new MetricsRecorder();
  readonly #padding: Record<string, PadSpec> | undefined;
  readonly #batchable: boolean;
  /** Rank each input has in the graph, where it says. */
  readonly #ranks: Map<string, number>;
  #warm: Promise<void> | undefined;
  warmUpMs: number | undefined;

  constructor(
    readonly id: string,
    readonly card: ModelCard,
    session: ModelSession,
    readonly limits: Readonly<BatcherLimits>,
    padding: PadSpec | undefined,
    private readonly log: InferenceLogger,
    clock: BatcherClock | undefined,
    private readonly release: () => Promise<void>,
  ) {
    this.#session = session;
    this.#batchable = card.input.batch !== false && limits.maxBatch > 1;
    this.inputName = card.input.name ?? session.inputNames[0] ?? 'x';
    this.#padding = padding ? { [this.inputName]: padding } : undefined;
    this.#ranks = new Map(session.inputs.filter((i) => i.shape).map((i) => [i.name, i.shape!.length]));
    this.#batcher = new DynamicBatcher(id, limits, (jobs) => this.#execute(jobs), {
      observer: this.#recorder,
      ...(clock ? { clock } : {}),
    });
  }

  get provider(): ExecutionProvider {
    return this.#session.provider;
  }

  get fallbackReason(): string | undefined {
    return this.#session.fallbackReason;
  }

  get inputs(): readonly ValueInfo[] {
    return this.#session.inputs;
  }

  get outputs(): readonly ValueInfo[] {
    return this.#session.outputs;
  }

  run(feeds: Record<string, Tensor>, opts: RunOptions = {}): Promise<Record<string, Tensor>> {
    this.#recorder.requests++;
    let job: Job;
    try {
      job = this.#asItem(feeds);
    } catch (err) {
      this.#recorder.failed();
      return Promise.reject(err);
    }
    return this.#batcher.submit({
      item: job,
      key: batchKey(job.feeds, this.#padding),
      alone: !this.#batchable,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  runBatch(feeds: Record<string, Tensor>, opts: RunOptions = {}): Promise<Record<string, Tensor>> {
    this.#recorder.requests++;
    const size = Object.values(feeds)[0]?.dims[0] ?? 1;
    return this.#batcher.submit({ item: { feeds, size, squeeze: false, trace: context.active() }, key: '', alone: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** Adds the batch dimension a feed lacks, by the rank the graph declares. */
  #asItem(feeds: Record<string, Tensor>): Job {
    let squeeze: boolean | undefined;
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const rank = this.#ranks.get(name);
      const lacksBatch = rank !== undefined && t.dims.length === rank - 1;
      if (!lacksBatch && t.dims[0] !== 1) {
        throw new LoupeError(
          'LOUPE_ERR_INFERENCE',
          `Input ${name} of ${this.id} has shape [${t.dims.join(',')}]: run() takes one item (use runBatch() for a batch)`,
          { details: { model: this.id, input: name, dims: [...t.dims] } },
        );
      }
      out[name] = lacksBatch ? { ...t, dims: [1, ...t.dims] } : t;
      squeeze = (squeeze ?? true) && lacksBatch;
    }
    return { feeds: out, size: 1, squeeze: squeeze ?? false, trace: context.active() };
  }

  async #execute(jobs: Job[]): Promise<Record<string, Tensor>[]> {
    const feeds: Record<string, Tensor> = {};
    for (const name of Object.keys(jobs[0]!.feeds)) {
      feeds[name] = concatBatch(
        jobs.map((j) => j.feeds[name]!),
        this.#padding?.[name],
      );
    }
    const attributes = {
      'loupe.model.id': this.id,
      'loupe.model.version': this.card.version,
      'loupe.inference.batch_size': jobs.reduce((n, j) => n + j.size, 0),
      'loupe.inference.requests': jobs.length,
      'loupe.inference.provider': this.#session.provider,
    };
    const links = jobs.slice(1).flatMap((j) => {
      const span = trace.getSpanContext(j.trace);
      return span ? [{ context: span }] : [];
    });
    const out = await inSpan(`inference ${this.id}`, attributes, () => this.#session.run(feeds), { parent: jobs[0]!.trace, links });
    const sizes = jobs.map((j) => j.size);
    const squeeze = jobs.map((j) => j.squeeze);
    const results: Record<string, Tensor>[] = jobs.map(() => ({}));
    for (const [name, t] of Object.entries(out)) {
      splitBatch(name, t, sizes, squeeze).forEach((part, i) => (results[i]![name] = part));
    }
    return results;
  }

  warmUp(): Promise<void> {
    this.#warm ??= this.#warmUpOnce();
    return this.#warm;
  }

  async #warmUpOnce(): Promise<void> {
    const feeds: Record<string, Tensor> = {};
    for (const input of this.#session.inputs) {
      const t = this.#zeroInput(input);
      if (!t) {
        this.log.info?.(`model ${this.id}: no warm-up, input ${input.name} is ${input.type ?? 'not a tensor'}`, { model: this.id });
        this.warmUpMs = 0;
        return;
      }
      feeds[input.name] = t;
    }
    const started = performance.now();
    try {
      await this.#session.run(feeds);
    } catch (cause) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${this.id} failed its warm-up run: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
        details: { model: this.id },
      });
    }
    this.warmUpMs = Math.round((performance.now() - started) * 10) / 10;
    this.log.info?.(`model ${this.id} warmed up in ${this.warmUpMs} ms`, { model: this.id, ms: this.warmUpMs });
  }

  /**
   * Zeros of the shape the graph declares: batch 1, the card's fixed size for the image input, a
   * small size (32, or the card's multipleOf) where the graph leaves a dimension open.
   */
  #zeroInput(input: ValueInfo): Tensor | undefined {
    const make = ZERO[input.type ?? ''];
    if (!make || !input.shape) return undefined;
    const spec = this.card.input;
    const small = Math.max(32, spec.multipleOf ?? 1);
    const image = input.name === this.inputName && input.shape.length === 4;
    const nhwc = spec.layout === 'NHWC';
    const dims = input.shape.map((d, axis) => {
      if (typeof d === 'number' && d > 0) return d;
      if (axis === 0) return 1;
      if (!image) return 1;
      const role = nhwc ? ['n', 'h', 'w', 'c'][axis] : ['n', 'c', 'h', 'w'][axis];
      if (role === 'c') return 3;
      if (role === 'h') return spec.height ?? small;
      return spec.width ?? small;
    });
    const count = dims.reduce((n, d) => n * d, 1);
    return { data: make(count), dims, type: input.type as Tensor['type'] };
  }

  metrics(): ModelMetrics {
    return this.#recorder.snapshot(this.#batcher.queued, this.#batcher.inFlight);
  }

  close(): Promise<void> {
    return this.release();
  }

  async shutdown(): Promise<void> {
    await this.#batcher.close();
    await this.#session.close();
  }
}

const ZERO: Record<string, (n: number) => TensorData> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  uint8: (n) => new Uint8Array(n),
  bool: (n) => new Uint8Array(n),
  int8: (n) => new Int8Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
};
