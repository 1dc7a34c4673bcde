import { existsSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'cpu' | 'cuda';

/** Where a session reports what it decided (a provider fallback). Defaults to console.warn. */
export interface InferenceLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

export interface LoadSessionOptions {
  executionProvider?: ExecutionProvider;
  /** Threads one run may use; defaults to every core, since runs of one session never overlap. */
  intraOpNumThreads?: number;
  logger?: InferenceLogger;
}

/** A float tensor in and out: onnxruntime's own types stay inside this file. */
export interface FloatTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface ModelSession {
  readonly path: string;
  /** The provider actually in use, which is cpu when cuda was asked for and could not start. */
  readonly provider: ExecutionProvider;
  /** Why the asked-for provider is not the one in use; absent when it is. */
  readonly fallbackReason: string | undefined;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs waiting for or holding the session. */
  readonly pending: number;
  run(feeds: Record<string, FloatTensor>, opts?: { signal?: AbortSignal }): Promise<Record<string, FloatTensor>>;
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
  };
  const wanted = opts.executionProvider ?? 'cpu';
  let provider: ExecutionProvider = 'cpu';
  let fallbackReason: string | undefined;
  let session: ort.InferenceSession | undefined;

  if (wanted === 'cuda') {
    fallbackReason = cudaMissingReason();
    if (!fallbackReason) {
      try {
        // Fatal-only logging: a CUDA start failure is an expected outcome here, reported once below.
        session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 });
        provider = 'cuda';
      } catch (err) {
        fallbackReason = `CUDA execution provider unavailable: ${firstLine(err)}`;
      }
    }
    if (fallbackReason) logger.warn(`falling back to CPU for ${basename(path)}`, { path, reason: fallbackReason });
  }
  if (!session) {
    try {
      session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
    } catch (cause) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${basename(path)} could not be loaded: ${firstLine(cause)}`, {
        cause,
        details: { path },
      });
    }
  }
  return new QueuedSession(path, session, provider, fallbackReason);
}

/**
 * onnxruntime-node ships CUDA support as a separate library that its install
 * script downloads (and that pnpm skips unless the package may run scripts).
 * Checking for it first gives a clear reason instead of a native error log.
 * Where the binding folder is not where we expect, we just try.
 */
function cudaMissingReason(): string | undefined {
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
 * One run at a time per session: onnxruntime already spreads one run over every
 * core, so overlapping runs would only fight for them and grow memory.
 */
class QueuedSession implements ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #closed = false;

  constructor(
    readonly path: string,
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProvider,
    readonly fallbackReason: string | undefined,
  ) {
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
  }

  get pending(): number {
    return this.#pending;
  }

  run(feeds: Record<string, FloatTensor>, opts: { signal?: AbortSignal } = {}): Promise<Record<string, FloatTensor>> {
    if (this.#closed) return Promise.reject(new LoupeError('LOUPE_ERR_SHUTTING_DOWN', `Session ${basename(this.path)} is closed`));
    this.#pending++;
    const result = this.#tail.then(() => this.#runNow(feeds, opts.signal));
    this.#tail = result.catch(() => undefined).finally(() => this.#pending--);
    return result;
  }

  async #runNow(feeds: Record<string, FloatTensor>, signal: AbortSignal | undefined): Promise<Record<string, FloatTensor>> {
    signal?.throwIfAborted();
    if (this.#closed) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN', `Session ${basename(this.path)} is closed`);
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = new ort.Tensor('float32', t.data, [...t.dims]);
    let output: ort.InferenceSession.ReturnType;
    try {
      output = await this.session.run(input);
    } catch (cause) {
      throw new LoupeError('LOUPE_ERR_INFERENCE', `Inference failed in ${basename(this.path)}: ${firstLine(cause)}`, {
        cause,
        details: { path: this.path },
      });
    }
    const out: Record<string, FloatTensor> = {};
    for (const [name, t] of Object.entries(output)) {
      if (t.type !== 'float32') {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `Output ${name} of ${basename(this.path)} is ${t.type}, expected float32`);
      }
      out[name] = { data: t.data as Float32Array, dims: t.dims };
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    await this.session.release();
  }
}
