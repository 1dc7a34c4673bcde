// The process's inference threads, seen from the main thread: one pool per process, each session
// placed on one thread for its life (its runs take turns there, as one session's runs always did).
// Feeds are copied across (the caller may reuse its arrays); outputs come back by transfer.
import { Worker } from 'node:worker_threads';
import type { Pixels, TensorSpec } from './pixel-tensor.js';

export interface WireTensor {
  type: string;
  data: Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;
  dims: readonly number[];
}

export interface WireMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

export interface CreatedSession {
  handle: number;
  inputNames: string[];
  outputNames: string[];
  inputMetadata: WireMetadata[];
  outputMetadata: WireMetadata[];
}

export type Call =
  | { id: number; op: 'create'; path: string; options: Record<string, unknown> }
  | { id: number; op: 'run'; handle: number; feeds: Record<string, WireTensor> }
  | { id: number; op: 'release'; handle: number }
  | { id: number; op: 'tensor'; image: Pixels; spec: TensorSpec }
  | { id: number; op: 'convert'; source: string; from: 'tfjs-graph' | 'tfjs-layers'; outputs?: string[]; inputShape?: number[] };

export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

type Request = Call extends infer C ? (C extends Call ? Omit<C, 'id'> : never) : never;

/** Threads the pool starts unless told otherwise: one keeps the main thread free; onnxruntime spreads each run over the cores itself. */
export const DEFAULT_INFERENCE_THREADS = 1;

class InferenceThread {
  readonly #worker: Worker;
  readonly #calls = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  #nextId = 1;
  sessions = 0;

  constructor() {
    this.#worker = import.meta.url.endsWith('.ts') ? sourceWorker() : new Worker(new URL('./session.worker.js', import.meta.url));
    // Idle threads never keep the process alive; a call in flight does (see #settled).
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const call = this.#calls.get(reply.id);
      if (!call) return;
      this.#calls.delete(reply.id);
      this.#settled();
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new Error(reply.message));
    });
    this.#worker.on('error', (err) => this.#failAll(err));
    this.#worker.on('exit', (code) => this.#failAll(new Error(`inference thread exited with code ${code}`)));
  }

  /** `transfer`: buffers handed to the thread rather than copied; they are unusable here afterwards. */
  call<T>(request: Request, transfer: readonly ArrayBuffer[] = []): Promise<T> {
    const id = this.#nextId++;
    if (this.#calls.size === 0) this.#worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.#calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.#worker.postMessage({ ...request, id }, [...transfer]);
      } catch (err) {
        // A buffer handed over already (a made tensor run twice) cannot go again: this call fails alone.
        this.#calls.delete(id);
        this.#settled();
        reject(err as Error);
      }
    });
  }

  #settled(): void {
    if (this.#calls.size === 0) this.#worker.unref();
  }

  #failAll(err: Error): void {
    for (const call of this.#calls.values()) call.reject(err);
    this.#calls.clear();
    this.#settled();
  }
}

/**
 * Tests and scripts run this module as TypeScript through tsx, whose loader hooks a worker thread
 * does not inherit on Node 20: the worker registers them before it imports its .ts entry.
 */
function sourceWorker(): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./session.worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

/**
 * Feed buffers nobody reads after their run (the tensors toInputTensor makes): a run hands them to
 * its thread instead of copying them, which for a page's OCR input (up to 60 MB of floats) held
 * the main thread for up to half a second. Every other feed is copied, as the caller may reuse it.
 */
const handOver = new WeakSet<ArrayBufferLike>();

export function handOverOnRun(data: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): void {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) handOver.add(data.buffer);
}

/** The buffers of `feeds` that may be handed over, each once. */
export function handedOver(feeds: Record<string, WireTensor>): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of Object.values(feeds)) if (handOver.has(t.data.buffer)) out.add(t.data.buffer as ArrayBuffer);
  return [...out];
}

const threads: InferenceThread[] = [];

/**
 * The thread a new session goes to: the one holding fewest sessions, starting threads up to
 * `size` (the process's pool only grows; the first size asked for usually stays).
 */
export function inferenceThread(size = DEFAULT_INFERENCE_THREADS): InferenceThread {
  if (threads.length < Math.max(1, size) && threads.every((t) => t.sessions > 0)) threads.push(new InferenceThread());
  return threads.reduce((least, t) => (t.sessions < least.sessions ? t : least));
}

let pixels: InferenceThread | undefined;

/**
 * The thread that turns large images into float tensors (image-ops' toInputTensor) and TF.js models
 * into ONNX (model-files' convertFromPackage, a third of a second of weights for CenterNet): its
 * own, since work queued behind a model run on an inference thread would wait for the whole run.
 */
export function pixelThread(): InferenceThread {
  return (pixels ??= new InferenceThread());
}

export type { InferenceThread };
