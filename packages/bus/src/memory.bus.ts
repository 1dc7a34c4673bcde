import { LoupeError, toLoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import type {
  Bus,
  DeadLetter,
  Headers,
  PublishOptions,
  QueueOptions,
  QueueStats,
  Reply,
  RequestOptions,
  Subscription,
  WorkMessage,
} from './bus.js';
import { replyError, throwIfError } from './reply.js';

export interface MemoryBusOptions {
  /** A msgId seen on the same subject within this window is a duplicate (JetStream `duplicate_window`). */
  readonly dedupWindowMs?: number;
  /** Deliveries per message when the consumer does not say. */
  readonly defaultMaxDeliver?: number;
  /** Ack wait when the consumer does not say. */
  readonly defaultAckWaitMs?: number;
  /** Oldest dead letters are forgotten beyond this count, so a poison flood cannot exhaust memory. */
  readonly maxDeadLetters?: number;
  /** `request` timeout when the caller does not say. */
  readonly requestTimeoutMs?: number;
  /** How long `close()` waits for in-flight handlers. */
  readonly closeTimeoutMs?: number;
  /** Redelivery delay after a queue handler throws, by the delivery that failed (1, 2, ...). */
  readonly retryDelayMs?: (deliveryCount: number) => number;
  /** Where errors nobody awaits end up (a throwing `listen` handler). */
  readonly onError?: (err: unknown, where: string) => void;
}

type MessageState = 'ready' | 'delayed' | 'inflight' | 'done';

interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  deliveries: number;
  /** Bumped at each delivery: settling a delivery that is no longer current does nothing. */
  generation: number;
  state: MessageState;
  timer: NodeJS.Timeout | undefined;
}

interface Consumer {
  readonly handler: (msg: WorkMessage) => Promise<void>;
  readonly concurrency: number;
  active: number;
  draining: boolean;
  readonly running: Set<Promise<void>>;
}

interface Queue {
  readonly subject: string;
  readonly ready: StoredMessage[];
  readonly delayed: Set<StoredMessage>;
  readonly inFlight: Set<StoredMessage>;
  durable: string | undefined;
  maxDeliver: number;
  ackWaitMs: number;
  consumers: Consumer[];
  nextConsumer: number;
  pumpScheduled: boolean;
}

interface Responder {
  readonly handler: (data: Uint8Array, headers: Headers) => Promise<Reply>;
  readonly running: Set<Promise<unknown>>;
}

interface Listener {
  readonly pattern: string[];
  readonly handler: (data: Uint8Array, headers: Headers) => void;
  active: boolean;
}

const NO_ERROR_REPORTED: LoupeErrorJSON = new LoupeError('LOUPE_ERR_INTERNAL', 'no error reported').toJSON();

const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(500 * 2 ** (deliveryCount - 1), 30_000);

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
function subjectMatches(pattern: readonly string[], subject: string): boolean {
  const tokens = subject.split('.');
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return tokens.length > i;
    if (i >= tokens.length) return false;
    if (p !== '*' && p !== tokens[i]) return false;
  }
  return tokens.length === pattern.length;
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * The bus in one process, with the semantics of a JetStream WorkQueue stream so that services
 * cannot tell it from the NATS adapter:
 * - a queue message is delivered to one consumer of its subject and kept until acked; one durable
 *   per subject (as a WorkQueue stream forbids overlapping consumers), several `consume` calls
 *   with that durable share the work;
 * - a delivery not acked within the ack wait is redelivered; `working()` pushes the deadline back;
 *   a late ack/nak from a delivery that was already redelivered is ignored;
 * - a handler that throws is treated as `nak(retryDelayMs(deliveryCount), toLoupeError(err))`:
 *   the message is retried, and dead-lettered with that error after its last delivery;
 * - after `maxDeliver` deliveries (including one whose ack wait ran out) or `term()` the message
 *   becomes a dead letter;
 * - a msgId is de-duplicated per subject within the window; a dead letter retried keeps its msgId
 *   but is not subject to de-duplication;
 * - messages published before any consumer exists wait for one.
 * Subjects match exactly, except `listen`, which accepts NATS wildcards (`*`, `>`).
 */
export function createMemoryBus(opts: MemoryBusOptions = {}): Bus {
  const dedupWindowMs = opts.dedupWindowMs ?? 120_000;
  const defaultMaxDeliver = opts.defaultMaxDeliver ?? 5;
  const defaultAckWaitMs = opts.defaultAckWaitMs ?? 30_000;
  const maxDeadLetters = opts.maxDeadLetters ?? 10_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
  const retryDelayMs = opts.retryDelayMs ?? defaultRetryDelayMs;
  const onError = opts.onError ?? ((err: unknown, where: string) => process.emitWarning(`memory bus: ${where}: ${String(err)}`));

  const queues = new Map<string, Queue>();
  /** subject + NUL + msgId -> time first seen; insertion order is time order, so expiry prunes from the front. */
  const seenIds = new Map<string, number>();
  const deadLetters = new Map<number, DeadLetter>();
  const responders = new Map<string, Responder[]>();
  const responderTurn = new Map<string, number>();
  const listeners = new Set<Listener>();
  const pendingRequests = new Set<(err: LoupeError) => void>();
  let nextSeq = 1;
  let closed = false;
  let closing: Promise<void> | undefined;

  const closedError = (): LoupeError => new LoupeError('LOUPE_ERR_BUS_CLOSED');
  function assertOpen(): void {
    if (closed) throw closedError();
  }

  function queueOf(subject: string): Queue {
    let queue = queues.get(subject);
    if (!queue) {
      queue = {
        subject,
        ready: [],
        delayed: new Set(),
        inFlight: new Set(),
        durable: undefined,
        maxDeliver: defaultMaxDeliver,
        ackWaitMs: defaultAckWaitMs,
        consumers: [],
        nextConsumer: 0,
        pumpScheduled: false,
      };
      queues.set(subject, queue);
    }
    return queue;
  }

  function clearTimer(msg: StoredMessage): void {
    if (msg.timer !== undefined) clearTimeout(msg.timer);
    msg.timer = undefined;
  }

  // Pumping in a microtask keeps handlers from running inside publish() or inside another handler's ack().
  function schedulePump(queue: Queue): void {
    if (queue.pumpScheduled || closed) return;
    queue.pumpScheduled = true;
    queueMicrotask(() => {
      queue.pumpScheduled = false;
      pump(queue);
    });
  }

  function takeFreeConsumer(queue: Queue): Consumer | undefined {
    const n = queue.consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (queue.nextConsumer + i) % n;
      const consumer = queue.consumers[index];
      if (consumer && !consumer.draining && consumer.active < consumer.concurrency) {
        queue.nextConsumer = (index + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  function pump(queue: Queue): void {
    while (!closed && queue.ready.length > 0) {
      const consumer = takeFreeConsumer(queue);
      if (!consumer) return;
      const msg = queue.ready.shift();
      if (msg) deliver(queue, consumer, msg);
    }
  }

  function makeReady(queue: Queue, msg: StoredMessage): void {
    // Redeliveries go first, as JetStream serves pending redeliveries before new messages.
    msg.state = 'ready';
    queue.ready.unshift(msg);
    schedulePump(queue);
  }

  function armAckWait(queue: Queue, msg: StoredMessage, generation: number): void {
    clearTimer(msg);
    if (closed) return;
    msg.timer = setTimeout(() => {
      if (msg.generation !== generation || msg.state !== 'inflight') return;
      msg.timer = undefined;
      queue.inFlight.delete(msg);
      if (msg.deliveries >= queue.maxDeliver) {
        const error = new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `not acknowledged within ${queue.ackWaitMs} ms on the last delivery`);
        toDeadLetters(queue, msg, error.toJSON());
      } else {
        makeReady(queue, msg);
      }
    }, queue.ackWaitMs);
  }

  function toDeadLetters(queue: Queue, msg: StoredMessage, error: LoupeErrorJSON): void {
    clearTimer(msg);
    msg.state = 'done';
    deadLetters.set(msg.seq, {
      seq: msg.seq,
      subject: msg.subject,
      stage: queue.durable ?? '',
      msgId: msg.id,
      data: msg.data,
      headers: msg.headers,
      deliveries: msg.deliveries,
      error,
      at: new Date().toISOString(),
    });
    for (const seq of deadLetters.keys()) {
      if (deadLetters.size <= maxDeadLetters) break;
      deadLetters.delete(seq);
    }
  }

  function workMessage(queue: Queue, msg: StoredMessage, generation: number): WorkMessage {
    const current = (): boolean => msg.generation === generation && msg.state === 'inflight';
    const settle = (): void => {
      clearTimer(msg);
      queue.inFlight.delete(msg);
    };
    return {
      subject: msg.subject,
      id: msg.id,
      data: msg.data,
      headers: msg.headers,
      deliveryCount: msg.deliveries,
      maxDeliver: queue.maxDeliver,
      ack() {
        if (!current()) return;
        settle();
        msg.state = 'done';
      },
      nak(delayMs, error) {
        if (!current()) return;
        settle();
        if (msg.deliveries >= queue.maxDeliver) {
          toDeadLetters(queue, msg, error ?? NO_ERROR_REPORTED);
        } else if (delayMs > 0 && !closed) {
          msg.state = 'delayed';
          queue.delayed.add(msg);
          msg.timer = setTimeout(() => {
            msg.timer = undefined;
            queue.delayed.delete(msg);
            makeReady(queue, msg);
          }, delayMs);
        } else {
          makeReady(queue, msg);
        }
      },
      term(error) {
        if (!current()) return;
        settle();
        toDeadLetters(queue, msg, error ?? NO_ERROR_REPORTED);
      },
      working() {
        if (current()) armAckWait(queue, msg, generation);
      },
    };
  }

  function deliver(queue: Queue, consumer: Consumer, msg: StoredMessage): void {
    msg.deliveries += 1;
    const generation = ++msg.generation;
    msg.state = 'inflight';
    queue.inFlight.add(msg);
    armAckWait(queue, msg, generation);
    consumer.active += 1;
    const message = workMessage(queue, msg, generation);
    const run = (async () => {
      await null;
      try {
        await consumer.handler(message);
      } catch (err) {
        message.nak(retryDelayMs(message.deliveryCount), toLoupeError(err).toJSON());
      }
    })().finally(() => {
      consumer.active -= 1;
      consumer.running.delete(run);
      schedulePump(queue);
    });
    consumer.running.add(run);
  }

  function enqueue(subject: string, id: string, data: Uint8Array, headers: Headers): void {
    const queue = queueOf(subject);
    const msg: StoredMessage = {
      seq: nextSeq++,
      subject,
      id,
      data,
      headers,
      deliveries: 0,
      generation: 0,
      state: 'ready',
      timer: undefined,
    };
    queue.ready.push(msg);
    schedulePump(queue);
  }

  function isDuplicate(subject: string, msgId: string): boolean {
    const now = Date.now();
    for (const [key, seenAt] of seenIds) {
      if (now - seenAt < dedupWindowMs) break;
      seenIds.delete(key);
    }
    const key = `${subject}\u0000${msgId}`;
    if (seenIds.has(key)) return true;
    seenIds.set(key, now);
    return false;
  }

  function deadLetter(seq: number): DeadLetter {
    const letter = deadLetters.get(seq);
    if (!letter) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no dead letter with seq ${seq}`, { details: { seq } });
    return letter;
  }

  const bus: Bus = {
    kind: 'memory',

    async publish(subject: string, data: Uint8Array, options: PublishOptions) {
      assertOpen();
      if (isDuplicate(subject, options.msgId)) return { duplicate: true };
      // Copies, so that a publisher reusing its buffer cannot change a queued message.
      enqueue(subject, options.msgId, data.slice(), Object.freeze({ ...options.headers }));
      return { duplicate: false };
    },

    async consume(subject: string, options: QueueOptions, handler: (msg: WorkMessage) => Promise<void>): Promise<Subscription> {
      assertOpen();
      const queue = queueOf(subject);
      if (queue.durable !== undefined && queue.durable !== options.durable) {
        throw new LoupeError(
          'LOUPE_ERR_CONFIG_INVALID',
          `subject ${subject} is already consumed by ${queue.durable}; a work queue has one consumer per subject`,
          { details: { subject, durable: options.durable, existing: queue.durable } },
        );
      }
      const consumer: Consumer = {
        handler,
        concurrency: positiveInteger(options.concurrency ?? 1, 'concurrency'),
        active: 0,
        draining: false,
        running: new Set(),
      };
      if (queue.durable === undefined) {
        // The first consumer configures the durable, as creating a JetStream consumer does.
        queue.maxDeliver = positiveInteger(options.maxDeliver ?? defaultMaxDeliver, 'maxDeliver');
        queue.ackWaitMs = positiveInteger(options.ackWaitMs ?? defaultAckWaitMs, 'ackWaitMs');
        queue.durable = options.durable;
      }
      queue.consumers.push(consumer);
      schedulePump(queue);
      let drained: Promise<void> | undefined;
      return {
        drain() {
          drained ??= (async () => {
            consumer.draining = true;
            queue.consumers = queue.consumers.filter((c) => c !== consumer);
            await Promise.allSettled([...consumer.running]);
            schedulePump(queue);
          })();
          return drained;
        },
      };
    },

    emit(subject: string, data: Uint8Array, headers: Headers = {}) {
      assertOpen();
      const frozen = Object.freeze({ ...headers });
      for (const listener of listeners) {
        if (!subjectMatches(listener.pattern, subject)) continue;
        queueMicrotask(() => {
          if (!listener.active) return;
          try {
            listener.handler(data, frozen);
          } catch (err) {
            onError(err, `listener of ${subject}`);
          }
        });
      }
    },

    listen(subject: string, handler: (data: Uint8Array, headers: Headers) => void): Subscription {
      assertOpen();
      const listener: Listener = { pattern: subject.split('.'), handler, active: true };
      listeners.add(listener);
      return {
        async drain() {
          listener.active = false;
          listeners.delete(listener);
        },
      };
    },

    async serve(subject: string, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Promise<Subscription> {
      assertOpen();
      const responder: Responder = { handler, running: new Set() };
      responders.set(subject, [...(responders.get(subject) ?? []), responder]);
      let drained: Promise<void> | undefined;
      return {
        drain() {
          drained ??= (async () => {
            const rest = (responders.get(subject) ?? []).filter((r) => r !== responder);
            if (rest.length > 0) responders.set(subject, rest);
            else responders.delete(subject);
            await Promise.allSettled([...responder.running]);
          })();
          return drained;
        },
      };
    },

    async request(subject: string, data: Uint8Array, options: RequestOptions = {}): Promise<Reply> {
      assertOpen();
      const candidates = responders.get(subject) ?? [];
      if (candidates.length === 0) {
        throw new LoupeError('LOUPE_ERR_BUS_NO_RESPONDER', `no service answers ${subject}`, { details: { subject } });
      }
      const turn = responderTurn.get(subject) ?? 0;
      responderTurn.set(subject, turn + 1);
      const responder = candidates[turn % candidates.length] as Responder;
      if (options.signal?.aborted) throw abortError(options.signal, subject);

      const timeoutMs = options.timeoutMs ?? requestTimeoutMs;
      const headers = Object.freeze({ ...options.headers });
      const handled = (async () => {
        await null;
        try {
          return await responder.handler(data, headers);
        } catch (err) {
          return replyError(err);
        }
      })();
      responder.running.add(handled);
      void handled.finally(() => responder.running.delete(handled));

      let settleEarly: ((err: LoupeError) => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      const early = new Promise<never>((_, reject) => {
        settleEarly = reject;
        timer = setTimeout(
          () => reject(new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`, { details: { subject, timeoutMs } })),
          timeoutMs,
        );
      });
      const reject = settleEarly as (err: LoupeError) => void;
      const onAbort = (): void => reject(abortError(options.signal as AbortSignal, subject));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      pendingRequests.add(reject);
      try {
        return throwIfError(await Promise.race([handled, early]));
      } finally {
        clearTimeout(timer);
        pendingRequests.delete(reject);
        options.signal?.removeEventListener('abort', onAbort);
      }
    },

    async stats(subject: string): Promise<QueueStats> {
      assertOpen();
      const queue = queues.get(subject);
      if (!queue) return { subject, pending: 0, inFlight: 0, consumers: 0 };
      return {
        subject,
        pending: queue.ready.length + queue.delayed.size,
        inFlight: queue.inFlight.size,
        consumers: queue.consumers.length,
      };
    },

    deadLetters: {
      async list(filter: { subject?: string } = {}) {
        assertOpen();
        const all = [...deadLetters.values()];
        return filter.subject === undefined ? all : all.filter((d) => d.subject === filter.subject);
      },
      async retry(seq: number) {
        assertOpen();
        const letter = deadLetter(seq);
        deadLetters.delete(seq);
        enqueue(letter.subject, letter.msgId, letter.data, letter.headers);
      },
      async drop(seq: number) {
        assertOpen();
        deadLetter(seq);
        deadLetters.delete(seq);
      },
    },

    close() {
      closing ??= (async () => {
        closed = true;
        const running: Promise<unknown>[] = [];
        for (const queue of queues.values()) {
          for (const msg of [...queue.delayed, ...queue.inFlight]) clearTimer(msg);
          for (const consumer of queue.consumers) running.push(...consumer.running);
        }
        for (const list of responders.values()) for (const r of list) running.push(...r.running);
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled(running),
          new Promise((resolve) => {
            bound = setTimeout(resolve, closeTimeoutMs);
          }),
        ]);
        clearTimeout(bound);
        // Handlers settling during the drain may have armed timers again.
        for (const queue of queues.values()) for (const msg of [...queue.delayed, ...queue.inFlight]) clearTimer(msg);
        for (const reject of pendingRequests) reject(closedError());
        listeners.clear();
      })();
      return closing;
    },
  };
  return bus;
}

function abortError(signal: AbortSignal, subject: string): LoupeError {
  if (signal.reason instanceof LoupeError) return signal.reason;
  return new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `request on ${subject} aborted by the caller`, { cause: signal.reason, details: { subject } });
}
