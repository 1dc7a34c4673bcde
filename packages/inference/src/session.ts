import { existsSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import type * as ort from 'onnxruntime-node';
import { handedOver, inferenceThread, type CreatedSession, type InferenceThread, type WireMetadata, type WireTensor } from './session.worker-pool.js';

export type ExecutionProvider = 'cpu' | 'cuda';

/**
 * Where sessions and the engine report what they decided: a provider fallback (warn), the provider
 * in use and warm-up (info). Defaults to console.warn and silence.
 */
export interface InferenceLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
}

export interface LoadSessionOptions {
  executionProvider?: ExecutionProvider;
  /** Threads one run may use; defaults to every core, since runs of one session do not overlap. */
  intraOpNumThreads?: number;
  /**
   * Inference threads of the process (default 1): sessions run on worker threads, never on the
   * main thread, which answers HTTP. The first load of a process sizes the pool.
   */
  inferenceThreads?: number;
  /**
   * onnxruntime's CPU memory arena (default off): it keeps the memory of a session's largest run
   * for the session's life, and a process holds a dozen sessions, so the arena made `serve`'s
   * memory the sum of every model's peak. Without it a run's memory goes back when the run ends.
   */
  cpuMemArena?: boolean;
  logger?: InferenceLogger;
  /**
   * Runs the session may hold at once (default 1); more wait their turn. onnxruntime-node 1.29
   * runs a session synchronously on the thread that calls it, so runs on one inference thread take
   * turns whatever this says; it bounds how many are handed to that thread at once.
   */
  concurrency?: number;
}

/** Element types a tensor may carry in or out; `bool` travels as Uint8Array and must be named. */
export type TensorType = 'float32' | 'float64' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';
export type TensorData = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

/** A tensor in and out: onnxruntime's own types stay inside this file. */
export interface Tensor {
  data: TensorData;
  dims: readonly number[];
  /** Inferred from `data` when absent; always set on outputs. */
  type?: TensorType;
}

export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** A model input or output as the graph declares it; symbolic (dynamic) dimensions are names. */
export interface ValueInfo {
  name: string;
  /** Element type, absent for non-tensor values (sequences, maps). */
  type?: string;
  shape?: readonly (number | string)[];
}

export interface ModelSession {
  readonly path: string;
  /** The provider actually in use, which is cpu when cuda was asked for and could not start. */
  readonly provider: ExecutionProvider;
  /** Why the asked-for provider is not the one in use; absent when it is. */
  readonly fallbackReason: string | undefined;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Runs waiting for or holding the session. */
  readonly pending: number;
  run(feeds: Record<string, Tensor>, opts?: { signal?: AbortSignal }): Promise<Record<string, Tensor>>;
  close(): Promise<void>;
}

const consoleLogger: InferenceLogger = {
  warn: (message, details) => console.warn(`[loupe:inference] ${message}`, details ?? ''),
};

export async function loadSession(path: string, opts: LoadSessionOptions = {}): Promise<ModelSession> {
  const logger = opts.logger ?? consoleLogger;
  try {
    await access(path, constants.R_OK);
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Model file ${basename(path)} is missing or unreadable: ${path}`, {
      cause,
      details: { path },
    });
  }

  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.intraOpNumThreads ?? os.availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: opts.cpuMemArena ?? false,
    // onnxruntime's pool threads spin between tasks by default: harmless when a run had the cores
    // to itself, but beside the main thread and the pixel thread they burn the CPU those need.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  const wanted = opts.executionProvider ?? 'cpu';
  let provider: ExecutionProvider = 'cpu';
  let fallbackReason: string | undefined;
  let session: CreatedSession | undefined;
  const thread = inferenceThread(opts.inferenceThreads);

  if (wanted === 'cuda') {
    fallbackReason = cudaUnavailableReason();
    if (!fallbackReason) {
      try {
        // Fatal-only logging: a CUDA start failure is an expected outcome here, reported once below.
        session = await thread.call<CreatedSession>({ op: 'create', path, options: { ...base, executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 } });
        provider = 'cuda';
      } catch (err) {
        fallbackReason = `CUDA execution provider unavailable: ${firstLine(err)}`;
      }
    }
    if (fallbackReason) logger.warn(`falling back to CPU for ${basename(path)}`, { path, reason: fallbackReason });
  }
  if (!session) {
    try {
      session = await thread.call<CreatedSession>({ op: 'create', path, options: { ...base, executionProviders: ['cpu'] } });
    } catch (cause) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${basename(path)} could not be loaded: ${firstLine(cause)}`, {
        cause,
        details: { path },
      });
    }
  }
  thread.sessions++;
  return new QueuedSession(path, thread, session, provider, fallbackReason, Math.max(1, opts.concurrency ?? 1));
}

/**
 * onnxruntime-node ships CUDA support as a separate library that its install
 * script downloads (and that pnpm skips unless the package may run scripts).
 * Checking for it first gives a clear reason instead of a native error log.
 * Where the binding folder is not where we expect, we just try.
 */
export function cudaUnavailableReason(): string | undefined {
  let root: string;
  try {
    root = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..');
  } catch {
    return undefined;
  }
  const bin = join(root, 'bin', 'napi-v6', process.platform, process.arch);
  if (!existsSync(bin)) return undefined;
  const cuda = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (existsSync(join(bin, cuda))) return undefined;
  return `CUDA execution provider not installed (${cuda} is absent from onnxruntime-node; its install script fetches it on CUDA machines)`;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? text;
}

/**
 * One run at a time per session by default: onnxruntime already spreads one run over every core,
 * so overlapping runs would only fight for them and grow memory.
 */
class QueuedSession implements ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  #pending = 0;
  #closed = false;
  #idle: (() => void) | undefined;

  constructor(
    readonly path: string,
    private readonly thread: InferenceThread,
    private readonly session: CreatedSession,
    readonly provider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
    private readonly concurrency: number,
  ) {
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    this.inputs = describe(session.inputNames, session.inputMetadata);
    this.outputs = describe(session.outputNames, session.outputMetadata);
  }

  get pending(): number {
    return this.#pending;
  }

  async run(feeds: Record<string, Tensor>, opts: { signal?: AbortSignal } = {}): Promise<Record<string, Tensor>> {
    if (this.#closed) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN', `Session ${basename(this.path)} is closed`);
    this.#pending++;
    try {
      // A finishing run hands its slot straight to the next waiter, so no newcomer can slip in between.
      if (this.#running < this.concurrency) this.#running++;
      else await new Promise<void>((resolve) => this.#waiting.push(resolve));
      try {
        return await this.#runNow(feeds, opts.signal);
      } finally {
        const next = this.#waiting.shift();
        if (next) next();
        else this.#running--;
      }
    } finally {
      this.#pending--;
      if (this.#pending === 0) this.#idle?.();
    }
  }

  async #runNow(feeds: Record<string, Tensor>, signal: AbortSignal | undefined): Promise<Record<string, Tensor>> {
    signal?.throwIfAborted();
    if (this.#closed) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN', `Session ${basename(this.path)} is closed`);
    let output: Record<string, WireTensor>;
    try {
      const input: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(feeds)) input[name] = toWire(t);
      output = await this.thread.call<Record<string, WireTensor>>({ op: 'run', handle: this.session.handle, feeds: input }, handedOver(input));
    } catch (cause) {
      throw new LoupeError('LOUPE_ERR_INFERENCE', `Inference failed in ${basename(this.path)}: ${firstLine(cause)}`, {
        cause,
        details: { path: this.path },
      });
    }
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(output)) {
      if (!isTensorType(t.type)) {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `Output ${name} of ${basename(this.path)} is ${t.type}, which Loupe does not read`);
      }
      out[name] = { data: t.data, dims: t.dims, type: t.type };
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.thread.sessions--;
    await this.thread.call({ op: 'release', handle: this.session.handle });
  }
}

const TENSOR_TYPES: readonly string[] = ['float32', 'float64', 'uint8', 'int8', 'int32', 'int64', 'bool'] satisfies TensorType[];

function isTensorType(type: string): type is TensorType {
  return TENSOR_TYPES.includes(type);
}

function toWire(t: Tensor): WireTensor {
  // The typed array names the element type (Float32Array: float32, BigInt64Array: int64...); bool travels as Uint8Array.
  return { type: t.type ?? typeOf(t.data), data: t.data, dims: [...t.dims] };
}

function typeOf(data: TensorData): TensorType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint8';
}

function describe(names: readonly string[], metadata: readonly WireMetadata[] | undefined): ValueInfo[] {
  return names.map((name, i) => {
    const m = metadata?.[i];
    if (!m?.isTensor) return { name };
    return { name, ...(m.type && { type: m.type }), shape: [...(m.shape ?? [])] };
  });
}

/** The float32 output `name`, or an inference error saying what came instead. */
export function floatOutput(out: Record<string, Tensor>, name: string, model: string): FloatTensor {
  const t = out[name];
  if (!t) throw new LoupeError('LOUPE_ERR_INFERENCE', `${model} has no output ${name}`, { details: { output: name } });
  if (!(t.data instanceof Float32Array)) {
    throw new LoupeError('LOUPE_ERR_INFERENCE', `Output ${name} of ${model} is ${t.type ?? 'not float32'}, expected float32`);
  }
  return { data: t.data, dims: t.dims };
}
