import type { Bus } from './bus.js';
import { tracedRequest, withTraceContext } from './trace-headers.js';
import { wallClock, type Clock } from '@loupe/contracts';
import { busClosed } from './bus.errors.js';
import { MemoryBroadcast } from './memory/broadcast.js';
import { MemoryDeadLetters } from './memory/dead-letters.js';
import { DedupWindow } from './memory/dedup-window.js';
import { MemoryRequester } from './memory/requester.js';
import { MemoryWorkQueue } from './memory/work-queue.js';
import { defaultRetryDelayMs } from './retry-backoff.js';

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
  /** The time of the de-duplication window, ack waits, nak delays and timeouts; tests pass a ManualClock. */
  readonly clock?: Clock;
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
 * The parts live in memory/: work queues, dead letters, the de-duplication window, request/reply
 * and broadcasts; this function wires them and owns the lifecycle.
 */
export function createMemoryBus(opts: MemoryBusOptions = {}): Bus {
  const clock = opts.clock ?? wallClock;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 10_000;
  let closed = false;
  let closing: Promise<void> | undefined;
  let nextSeq = 1;

  const dedup = new DedupWindow(opts.dedupWindowMs ?? 120_000, clock);
  const deadLetters = new MemoryDeadLetters(opts.maxDeadLetters ?? 10_000, clock);
  const requester = new MemoryRequester(opts.requestTimeoutMs ?? 30_000, clock);
  const broadcast = new MemoryBroadcast(opts.onError ?? ((err, where) => process.emitWarning(`memory bus: ${where}: ${String(err)}`)));
  const settings = {
    defaultMaxDeliver: opts.defaultMaxDeliver ?? 5,
    defaultAckWaitMs: opts.defaultAckWaitMs ?? 30_000,
    retryDelayMs: opts.retryDelayMs ?? defaultRetryDelayMs,
    clock,
    deadLetters,
    closed: () => closed,
  };
  const queues = new Map<string, MemoryWorkQueue>();
  const queueOf = (subject: string): MemoryWorkQueue => {
    let queue = queues.get(subject);
    if (!queue) queues.set(subject, (queue = new MemoryWorkQueue(subject, settings)));
    return queue;
  };

  function assertOpen(): void {
    if (closed) throw busClosed();
  }

  async function waitForHandlers(): Promise<void> {
    const running = [...[...queues.values()].flatMap((q) => q.running()), ...requester.running()];
    let bound: unknown;
    await Promise.race([
      Promise.allSettled(running),
      new Promise((resolve) => {
        bound = clock.setTimeout(() => resolve(undefined), closeTimeoutMs);
      }),
    ]);
    clock.clearTimeout(bound);
  }

  return {
    kind: 'memory',

    async publish(subject, data, options) {
      assertOpen();
      if (dedup.isDuplicate(subject, options.msgId)) return { duplicate: true };
      // Copies, so that a publisher reusing its buffer cannot change a queued message.
      queueOf(subject).enqueue(nextSeq++, options.msgId, data.slice(), Object.freeze({ ...withTraceContext(options.headers) }));
      return { duplicate: false };
    },

    async consume(subject, options, handler) {
      assertOpen();
      return queueOf(subject).consume(options, handler);
    },

    emit(subject, data, headers = {}) {
      assertOpen();
      broadcast.emit(subject, data, withTraceContext(headers) ?? {});
    },

    listen(subject, handler) {
      assertOpen();
      return broadcast.listen(subject, handler);
    },

    async serve(subject, handler) {
      assertOpen();
      return requester.serve(subject, handler);
    },

    async request(subject, data, options = {}) {
      assertOpen();
      return requester.request(subject, data, tracedRequest(options));
    },

    async stats(subject) {
      assertOpen();
      return queues.get(subject)?.stats() ?? { subject, pending: 0, inFlight: 0, consumers: 0 };
    },

    deadLetters: {
      async list(filter = {}) {
        assertOpen();
        return deadLetters.list(filter);
      },
      async count() {
        assertOpen();
        return deadLetters.count();
      },
      async retry(seq) {
        assertOpen();
        const letter = deadLetters.take(seq);
        queueOf(letter.subject).enqueue(nextSeq++, letter.msgId, letter.data, letter.headers);
      },
      async drop(seq) {
        assertOpen();
        deadLetters.take(seq);
      },
    },

    close() {
      closing ??= (async () => {
        closed = true;
        for (const queue of queues.values()) queue.clearTimers();
        await waitForHandlers();
        // Handlers settling during the wait may have armed timers again.
        for (const queue of queues.values()) queue.clearTimers();
        requester.rejectPending(busClosed);
        broadcast.clear();
      })();
      return closing;
    },
  };
}
