import { LoupeError, monotonicClock, type Clock } from '@loupe/contracts';

/** Time as the batcher sees it: a monotonic clock (deadlines and waits, never dates). */
export type BatcherClock = Clock;

export interface BatcherLimits {
  /** Most requests one run takes. */
  maxBatch: number;
  /** How long the oldest waiting request may wait for others to join it. */
  maxWaitMs: number;
  /** Requests that may wait; one more is refused with LOUPE_ERR_OVERLOADED. */
  maxQueue: number;
  /** Runs at once. */
  concurrency: number;
}

/** What the batcher reports, for metrics. */
export interface BatcherObserver {
  /** A group left the queue: how long each of its requests waited. */
  dispatched?(queueMs: readonly number[]): void;
  /** A group's run ended. */
  ran?(runMs: number, requests: number, failed: boolean): void;
  /** A request was refused or gave up before running (overload, abort, shutdown). */
  dropped?(reason: 'overloaded' | 'aborted' | 'shutting-down'): void;
}

export interface BatchRequest<T> {
  item: T;
  /** Requests of different keys never share a run. */
  key: string;
  /** Runs by itself (a request that is already a batch). */
  alone?: boolean;
  signal?: AbortSignal;
}

interface Waiting<T, R> extends BatchRequest<T> {
  since: number;
  resolve(result: R): void;
  reject(err: unknown): void;
}

/** The requests of one signal still in the queue, and the one listener that gives them up. */
interface Watched<T, R> {
  readonly waiting: Set<Waiting<T, R>>;
  readonly onAbort: () => void;
}

/**
 * Groups requests into runs: a group leaves as soon as it has maxBatch requests of one key, or
 * when its oldest request has waited maxWaitMs, whichever comes first, and only while fewer than
 * `concurrency` runs are under way. Requests submitted in the same tick always meet (the queue
 * is looked at once the tick ends), so a caller that submits a page's lines in a loop gets them
 * grouped in order even with maxWaitMs 0.
 */
export class DynamicBatcher<T, R> {
  readonly #name: string;
  readonly #limits: BatcherLimits;
  readonly #execute: (items: T[]) => Promise<R[]>;
  readonly #clock: BatcherClock;
  readonly #observer: BatcherObserver;
  readonly #queue: Waiting<T, R>[] = [];
  /**
   * One abort listener per signal, not per request: a page's text lines share their job's signal,
   * and a listener each would pass Node's limit of ten (MaxListenersExceededWarning).
   */
  readonly #watched = new Map<AbortSignal, Watched<T, R>>();
  #inFlight = 0;
  #timer: { handle: unknown; at: number } | undefined;
  #pumpScheduled = false;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(
    name: string,
    limits: BatcherLimits,
    execute: (items: T[]) => Promise<R[]>,
    opts: { clock?: BatcherClock; observer?: BatcherObserver } = {},
  ) {
    this.#name = name;
    this.#limits = limits;
    this.#execute = execute;
    this.#clock = opts.clock ?? monotonicClock;
    this.#observer = opts.observer ?? {};
  }

  get queued(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  submit(request: BatchRequest<T>): Promise<R> {
    if (this.#closing) {
      this.#observer.dropped?.('shutting-down');
      return Promise.reject(new LoupeError('LOUPE_ERR_SHUTTING_DOWN', `Model ${this.#name} is closing`, { details: { model: this.#name } }));
    }
    try {
      request.signal?.throwIfAborted();
    } catch (err) {
      this.#observer.dropped?.('aborted');
      return Promise.reject(err);
    }
    if (this.#queue.length >= this.#limits.maxQueue) {
      this.#observer.dropped?.('overloaded');
      return Promise.reject(
        new LoupeError(
          'LOUPE_ERR_OVERLOADED',
          `Model ${this.#name} is overloaded: ${this.#queue.length} requests are already waiting (queue limit ${this.#limits.maxQueue})`,
          { details: { model: this.#name, queued: this.#queue.length, maxQueue: this.#limits.maxQueue } },
        ),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const waiting: Waiting<T, R> = { ...request, since: this.#clock.now(), resolve, reject };
      if (request.signal) this.#watch(request.signal, waiting);
      this.#queue.push(waiting);
      this.#schedulePump();
    });
  }

  /** Refuses new requests, runs those already waiting without waiting for company, and resolves when all are done. */
  close(): Promise<void> {
    this.#closing = true;
    this.#pump();
    if (this.#queue.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#limits.concurrency && this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const group = head.alone ? [head] : this.#groupOf(head);
      const dueAt = head.since + this.#limits.maxWaitMs;
      if (!this.#closing && !head.alone && group.length < this.#limits.maxBatch && this.#clock.now() < dueAt) {
        this.#wakeAt(dueAt);
        return;
      }
      for (const w of group) this.#queue.splice(this.#queue.indexOf(w), 1);
      this.#run(group);
    }
    if (this.#queue.length === 0) this.#cancelTimer();
  }

  #groupOf(head: Waiting<T, R>): Waiting<T, R>[] {
    const group: Waiting<T, R>[] = [];
    for (const w of this.#queue) {
      if (w.alone || w.key !== head.key) continue;
      group.push(w);
      if (group.length === this.#limits.maxBatch) break;
    }
    return group;
  }

  #wakeAt(at: number): void {
    if (this.#timer && this.#timer.at <= at) return;
    this.#cancelTimer();
    const handle = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(0, at - this.#clock.now()));
    this.#timer = { handle, at };
  }

  #cancelTimer(): void {
    if (!this.#timer) return;
    this.#clock.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #run(group: Waiting<T, R>[]): void {
    this.#inFlight++;
    const started = this.#clock.now();
    this.#observer.dispatched?.(group.map((w) => started - w.since));
    for (const w of group) this.#unwatch(w);
    let results: Promise<R[]>;
    try {
      results = this.#execute(group.map((w) => w.item));
    } catch (err) {
      results = Promise.reject(err);
    }
    // The slot is free before the callers hear back, so that what they submit next can start at once.
    const done = (failed: boolean) => {
      this.#inFlight--;
      this.#observer.ran?.(this.#clock.now() - started, group.length, failed);
    };
    results
      .then(
        (out) => {
          done(false);
          group.forEach((w, i) => w.resolve(out[i]!));
        },
        (err: unknown) => {
          done(true);
          for (const w of group) w.reject(err);
        },
      )
      .finally(() => {
        this.#pump();
        this.#settle();
      });
  }

  #watch(signal: AbortSignal, waiting: Waiting<T, R>): void {
    let watched = this.#watched.get(signal);
    if (!watched) {
      const onAbort = (): void => {
        this.#watched.delete(signal);
        for (const w of watched!.waiting) {
          const at = this.#queue.indexOf(w);
          if (at >= 0) this.#queue.splice(at, 1);
          this.#observer.dropped?.('aborted');
          w.reject(signal.reason);
        }
        this.#settle();
      };
      watched = { waiting: new Set(), onAbort };
      this.#watched.set(signal, watched);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watched.waiting.add(waiting);
  }

  /** The request left the queue: its signal no longer concerns the batcher, and the last one out removes the listener. */
  #unwatch(waiting: Waiting<T, R>): void {
    const signal = waiting.signal;
    const watched = signal && this.#watched.get(signal);
    if (!watched) return;
    watched.waiting.delete(waiting);
    if (watched.waiting.size > 0) return;
    signal.removeEventListener('abort', watched.onAbort);
    this.#watched.delete(signal);
  }

  #settle(): void {
    if (this.#drained && this.#queue.length === 0 && this.#inFlight === 0) {
      this.#drained();
      this.#drained = undefined;
    }
  }
}
