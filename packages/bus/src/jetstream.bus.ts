import type { Bus } from './bus.js';
import { tracedRequest, withTraceContext } from './trace-headers.js';
import { busClosed, positiveInteger } from './bus.errors.js';
import { JetStreamBroadcast } from './jetstream/broadcast.js';
import { JetStreamConnection } from './jetstream/connection.js';
import { JetStreamConsumer, type ConsumerContext } from './jetstream/consumer.js';
import { JetStreamDeadLetters } from './jetstream/dead-letters.js';
import { checkName, checkWorkSubject, natsCode, toNatsHeaders } from './jetstream/names.js';
import { Presence } from './jetstream/presence.js';
import { JetStreamRequester } from './jetstream/requester.js';
import { queueStats } from './jetstream/stats.js';
import { JetStreamStreams } from './jetstream/streams.js';
import { defaultRetryDelayMs } from './retry-backoff.js';

export interface JetStreamBusOptions {
  /** A server URL, or several comma-separated (a cluster), e.g. `nats://nats:4222`. */
  readonly url: string;
  /** Connection name, shown by the server's monitoring. */
  readonly name?: string;
  /** Prefix of every stream and internal subject ([A-Za-z0-9_-]); one per Loupe installation sharing a NATS account. Default LOUPE. */
  readonly streamPrefix?: string;
  /** A msgId seen on the same subject within this window is a duplicate (the streams' `duplicate_window`). Default 2 min. */
  readonly dedupWindowMs?: number;
  /** Deliveries per message when the consumer does not say. Default 5. */
  readonly defaultMaxDeliver?: number;
  /** Ack wait when the consumer does not say. Default 30 s. */
  readonly defaultAckWaitMs?: number;
  /** `request` timeout when the caller does not say. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Redelivery delay after a queue handler throws, by the delivery that failed (1, 2, ...). */
  readonly retryDelayMs?: (deliveryCount: number) => number;
  /** Replicas of every stream (a clustered server). Default 1. */
  readonly replicas?: number;
  /** Reconnect attempts before the connection gives up; -1 (default) tries forever. */
  readonly maxReconnectAttempts?: number;
  /** How long publish, set-up and dead-lettering keep retrying while the server is unreachable. Default 60 s. */
  readonly outageBudgetMs?: number;
  /** The dead-letter stream keeps at most this many (the oldest go first). Default 10 000. */
  readonly maxDeadLetters?: number;
  /** How long `close()` waits for in-flight handlers. Default 10 s. */
  readonly closeTimeoutMs?: number;
  /** How long an idle pull request waits at the server before it is renewed (at least 1000). Default 5 s. */
  readonly pullExpiresMs?: number;
  /** Where errors nobody awaits end up (a throwing `listen` handler, a dead letter that could not be written). */
  readonly onError?: (err: unknown, where: string) => void;
}

/**
 * The bus over NATS: JetStream work queues for `publish`/`consume`, core NATS for
 * `emit`/`listen` and `serve`/`request`. Services cannot tell it from the memory bus (both pass
 * bus.contract.ts); what differs is said below. Its parts, over one connection, live in jetstream/:
 * the connection and its outages, the streams, presence, consumers, dead letters, request/reply,
 * broadcasts and stats; this function wires them and owns the lifecycle.
 *
 * Streams (all named `<prefix>_...`):
 * - one WorkQueue stream per work subject (`LOUPE_loupe_detect_text_v1`), file storage,
 *   `duplicate_window` = dedupWindowMs, so that msgIds are de-duplicated per subject and each
 *   subject has its own single durable consumer (a WorkQueue stream allows one unfiltered one);
 * - `<prefix>_DLQ` on `<prefix>.dlq.<subject>`: the dead letters, original data and headers plus
 *   `Loupe-Dlq-*` headers (subject, stage, msgId, deliveries, error as LoupeErrorJSON, time);
 * - `<prefix>_PRESENCE` (memory, never holds a message): one ephemeral push consumer per live
 *   `consume` call, which is how `stats().consumers` counts consumers across processes.
 *
 * Dead letters are written by the client, never by a janitor: the durable has no delivery limit
 * (`max_deliver: -1`) and the adapter enforces `maxDeliver` itself. A failing last delivery
 * (nak, throw) or a `term` publishes the dead letter, waits for its PubAck, then acks the
 * original. A delivery that arrives beyond `maxDeliver` means the last one was never settled
 * (its process died or hung past the ack wait): it is dead-lettered with LOUPE_ERR_BUS_TIMEOUT
 * without calling the handler. Because the dead letter's msgId is the original's stream sequence
 * and timestamp, a process killed between the two steps only causes a duplicate the DLQ stream
 * drops, and no message can be stranded in a work stream past its last delivery.
 *
 * Ack wait and delivery limit: the ack wait is the durable's (`ack_wait`, set by the latest
 * `consume` of the stage, so a deploy that changes it takes effect); `maxDeliver` is enforced by
 * each process from its own `consume` options, so every process of a stage should pass the same.
 * A settle after the ack wait has run out (as this process sees it) is ignored: the server has
 * redelivered, and that delivery now owns the message.
 *
 * stats(): `pending` = messages in the stream that no delivery holds, `inFlight` = the
 * durable's `num_ack_pending` (which, unlike the memory bus, includes messages waiting out a nak
 * delay: JetStream keeps them in the ack-pending set), `consumers` = live `consume` calls in all
 * processes (presence consumers bound to a connection; a killed process drops out at once).
 *
 * A subject used as a work queue is captured by its stream: do not also `emit` or `serve` on it.
 * The server must be nats-server >= 2.9 (nak delays, `next_by_subj`, named consumers).
 */
export async function connectJetStreamBus(opts: JetStreamBusOptions): Promise<Bus> {
  const prefix = checkName(opts.streamPrefix ?? 'LOUPE', 'streamPrefix');
  const dedupWindowMs = positiveInteger(opts.dedupWindowMs ?? 120_000, 'dedupWindowMs');
  const defaultMaxDeliver = positiveInteger(opts.defaultMaxDeliver ?? 5, 'defaultMaxDeliver');
  const defaultAckWaitMs = positiveInteger(opts.defaultAckWaitMs ?? 30_000, 'defaultAckWaitMs');
  const requestTimeoutMs = positiveInteger(opts.requestTimeoutMs ?? 30_000, 'requestTimeoutMs');
  const replicas = positiveInteger(opts.replicas ?? 1, 'replicas');
  const outageBudgetMs = positiveInteger(opts.outageBudgetMs ?? 60_000, 'outageBudgetMs');
  const maxDeadLetters = positiveInteger(opts.maxDeadLetters ?? 10_000, 'maxDeadLetters');
  const closeTimeoutMs = positiveInteger(opts.closeTimeoutMs ?? 10_000, 'closeTimeoutMs');
  const pullExpiresMs = Math.max(1_000, positiveInteger(opts.pullExpiresMs ?? 5_000, 'pullExpiresMs'));
  const onError = opts.onError ?? ((err: unknown, where: string) => process.emitWarning(`jetstream bus: ${where}: ${String(err)}`));

  const conn = await JetStreamConnection.open({ url: opts.url, name: opts.name, maxReconnectAttempts: opts.maxReconnectAttempts, outageBudgetMs });
  const { nc } = conn;
  const streams = new JetStreamStreams(conn, { prefix, dedupWindowMs, replicas, maxDeadLetters });
  const deadLetters = new JetStreamDeadLetters(conn, streams, onError);
  const requester = new JetStreamRequester(nc, requestTimeoutMs, onError);
  const broadcast = new JetStreamBroadcast(nc, onError);
  const context: ConsumerContext = { conn, streams, deadLetters, retryDelayMs: opts.retryDelayMs ?? defaultRetryDelayMs, pullExpiresMs, onError };
  const consumers = new Set<JetStreamConsumer>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function assertOpen(): void {
    if (closed) throw busClosed();
  }

  const drainConsumer = (consumer: JetStreamConsumer): Promise<void> => consumer.drain().finally(() => consumers.delete(consumer));

  // After a reconnect the server may have restarted: the presence stream is in memory, and the
  // ephemeral consumers may be gone. Registering again is idempotent.
  conn.watch(() => {
    streams.forgetPresenceStream();
    for (const consumer of consumers) {
      if (consumer.stopped) continue;
      conn.resilient('presence', () => consumer.presence.register()).catch((err: unknown) => onError(err, `presence of ${consumer.settings.durable}`));
    }
  });

  return {
    kind: 'nats',

    async publish(subject, data, options) {
      assertOpen();
      checkWorkSubject(subject);
      const h = toNatsHeaders(withTraceContext(options.headers));
      let attempts = 0;
      const ack = await conn.resilient(`publishing on ${subject}`, async () => {
        attempts++;
        await streams.workQueue(subject);
        try {
          return await conn.js.publish(subject, data, { msgID: options.msgId, ...(h ? { headers: h } : {}) });
        } catch (err) {
          // No stream answers (deleted, or lost with a server's store): create it again on the retry.
          if (natsCode(err) === '503') streams.forgetWorkQueue(subject);
          throw err;
        }
      });
      // After an attempt whose PubAck was lost, the retry is reported as a duplicate of that attempt.
      return { duplicate: ack.duplicate && attempts === 1 };
    },

    async consume(subject, options, handler) {
      assertOpen();
      checkWorkSubject(subject);
      const durable = checkName(options.durable, 'durable');
      const concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
      const maxDeliver = positiveInteger(options.maxDeliver ?? defaultMaxDeliver, 'maxDeliver');
      const ackWaitMs = positiveInteger(options.ackWaitMs ?? defaultAckWaitMs, 'ackWaitMs');
      const what = `consuming ${subject}`;
      const queue = await conn.resilient(what, () => streams.workQueue(subject));
      await conn.resilient(what, () => streams.ensureDurable(queue, durable, ackWaitMs, concurrency));
      const pull = await conn.resilient(what, () => conn.js.consumers.get(queue.stream, durable));
      const presence = new Presence(conn, streams, queue, durable);
      try {
        await conn.resilient(what, () => presence.register());
      } catch (err) {
        presence.abandon();
        throw err;
      }
      if (closed) {
        presence.abandon();
        throw busClosed();
      }
      const consumer = new JetStreamConsumer(context, { queue, durable, concurrency, maxDeliver, ackWaitMs, handler }, pull, presence);
      consumers.add(consumer);
      consumer.start();
      return { drain: () => drainConsumer(consumer) };
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
      return { drain: await requester.serve(subject, handler) };
    },

    async request(subject, data, options = {}) {
      assertOpen();
      return requester.request(subject, data, tracedRequest(options));
    },

    async stats(subject) {
      assertOpen();
      return queueStats(conn, streams, subject);
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
        await deadLetters.retry(seq);
      },
      async drop(seq) {
        assertOpen();
        await deadLetters.drop(seq);
      },
    },

    close() {
      closing ??= (async () => {
        closed = true;
        const stopping = [...[...consumers].map(drainConsumer), ...requester.drainAll()];
        broadcast.clear();
        await within(Promise.allSettled(stopping), closeTimeoutMs);
        requester.rejectPending(busClosed);
        // Drain flushes the last acks; a server that is gone cannot be drained, only left.
        const drained = await within(
          nc.drain().then(() => true, () => false),
          closeTimeoutMs,
        );
        if (!drained && !nc.isClosed()) await nc.close();
      })();
      return closing;
    },
  };
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
