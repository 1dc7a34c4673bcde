import { LoupeError, toLoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import {
  AckPolicy,
  connect,
  createInbox,
  DeliverPolicy,
  DiscardPolicy,
  headers as natsHeaders,
  nanos,
  nuid,
  RetentionPolicy,
  StorageType,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type MsgRequest,
  type NatsConnection,
  type StoredMsg,
  type StreamConfig,
  type Subscription as NatsSubscription,
} from 'nats';
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
import {
  API,
  apiCode,
  checkName,
  checkWorkSubject,
  DLQ,
  isTransient,
  natsCode,
  ORIGINAL_ID_HEADER,
  positiveInteger,
  streamNameOf,
  toNatsHeaders,
  userHeaders,
  wrapNatsError,
} from './jetstream.names.js';
import { replyError, throwIfError } from './reply.js';

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

interface WorkQueue {
  readonly subject: string;
  readonly stream: string;
}

/** One `consume` call: `concurrency` slots, each holding at most one pull request or one message. */
interface ConsumeSub {
  readonly queue: WorkQueue;
  readonly durable: string;
  readonly concurrency: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly handler: (msg: WorkMessage) => Promise<void>;
  readonly consumer: Consumer;
  readonly fetches: Set<ConsumerMessages>;
  readonly wakers: Set<() => void>;
  readonly presence: { readonly name: string; readonly sub: NatsSubscription };
  slots: Promise<void>[];
  /** Set after a pull failed: the durable is recreated before the next pull (the server may have lost it). */
  suspect: boolean;
  stopped: boolean;
  drained: Promise<void> | undefined;
}

interface Responder {
  readonly sub: NatsSubscription;
  readonly running: Set<Promise<void>>;
  drained: Promise<void> | undefined;
}

const NO_ERROR_REPORTED: LoupeErrorJSON = new LoupeError('LOUPE_ERR_INTERNAL', 'no error reported').toJSON();
const SERVE_QUEUE_GROUP = 'loupe';
/** An ephemeral presence consumer outlives its vanished process this long before the server deletes it. */
const PRESENCE_GRACE_MS = 10_000;

const defaultRetryDelayMs = (deliveryCount: number): number => Math.min(500 * 2 ** (deliveryCount - 1), 30_000);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bus over NATS: JetStream work queues for `publish`/`consume`, core NATS for
 * `emit`/`listen` and `serve`/`request`. Services cannot tell it from the memory bus (both pass
 * bus.contract.ts); what differs is said below.
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
  const retryDelayMs = opts.retryDelayMs ?? defaultRetryDelayMs;
  const onError = opts.onError ?? ((err: unknown, where: string) => process.emitWarning(`jetstream bus: ${where}: ${String(err)}`));
  const servers = opts.url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', 'url names no NATS server');

  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      ...(opts.name === undefined ? {} : { name: opts.name }),
      maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
      reconnectTimeWait: 500,
    });
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_NOT_READY', `cannot connect to NATS at ${opts.url}`, { cause: err, details: { url: opts.url } });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (err) {
    await nc.close();
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `JetStream is not enabled on ${opts.url} (start nats-server with -js)`, { cause: err });
  }
  const js: JetStreamClient = nc.jetstream();

  const dlqStream = `${prefix}_DLQ`;
  const dlqSubject = (subject: string): string => `${prefix}.dlq.${subject}`;
  const presenceStream = `${prefix}_PRESENCE`;
  const presenceSubject = (stream: string): string => `${prefix}.presence.${stream}`;

  const queues = new Map<string, Promise<WorkQueue>>();
  const consumeSubs = new Set<ConsumeSub>();
  const responders = new Set<Responder>();
  const listeners = new Set<NatsSubscription>();
  const pendingRequests = new Set<(err: LoupeError) => void>();
  let dlqReady: Promise<void> | undefined;
  let presenceReady: Promise<void> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  const closedError = (): LoupeError => new LoupeError('LOUPE_ERR_BUS_CLOSED');
  function assertOpen(): void {
    if (closed) throw closedError();
  }

  // nats.js v2 discards what it buffered while disconnected (it resets its outbound buffer on
  // reconnect): a request made across an outage is never answered and could only time out. So an
  // attempt in flight when the connection drops is abandoned, and retried once it is back.
  let connected = true;
  const onDisconnect = new Set<() => void>();
  const onReconnect = new Set<() => void>();

  function untilReconnected(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        onReconnect.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      onReconnect.add(done);
      void nc.closed().then(done);
    });
  }

  /** Runs `op` again while the server is unreachable, for at most outageBudgetMs. */
  async function resilient<T>(what: string, op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + outageBudgetMs;
    for (let attempt = 0; ; attempt++) {
      if (!connected && !nc.isClosed()) await untilReconnected(deadline);
      let abandon = (): void => {};
      const dropped = new Promise<never>((_, reject) => {
        abandon = () => reject(Object.assign(new Error('the connection to NATS dropped'), { code: 'DISCONNECT' }));
      });
      onDisconnect.add(abandon);
      try {
        return await Promise.race([op(), dropped]);
      } catch (err) {
        if (!isTransient(err) || Date.now() >= deadline || nc.isClosed()) throw wrapNatsError(err, what);
        if (connected) await sleep(Math.min(100 * 2 ** attempt, 2_000));
      } finally {
        onDisconnect.delete(abandon);
      }
    }
  }

  /** Creates the stream, or accepts one that exists with the same subjects (another process, an older configuration). */
  async function ensureStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
    try {
      await jsm.streams.add(config);
    } catch (err) {
      if (apiCode(err) !== API.streamNameInUse) throw err;
      const info = await jsm.streams.info(config.name);
      if (!config.subjects.every((s) => info.config.subjects?.includes(s))) {
        throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `stream ${config.name} exists for other subjects (${info.config.subjects?.join(', ')})`, {
          details: { stream: config.name, subjects: config.subjects },
        });
      }
    }
  }

  function workQueue(subject: string): Promise<WorkQueue> {
    let queue = queues.get(subject);
    if (!queue) {
      const stream = streamNameOf(prefix, subject);
      queue = ensureStream({
        name: stream,
        subjects: [subject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(dedupWindowMs),
        num_replicas: replicas,
      }).then(() => ({ subject, stream }));
      queues.set(subject, queue);
      queue.catch(() => queues.delete(subject));
    }
    return queue;
  }

  function ensureDlqStream(): Promise<void> {
    dlqReady ??= ensureStream({
      name: dlqStream,
      subjects: [`${prefix}.dlq.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs: maxDeadLetters,
      duplicate_window: nanos(dedupWindowMs),
      num_replicas: replicas,
    });
    dlqReady.catch(() => {
      dlqReady = undefined;
    });
    return dlqReady;
  }

  function ensurePresenceStream(): Promise<void> {
    presenceReady ??= ensureStream({
      name: presenceStream,
      subjects: [`${prefix}.presence.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      max_msgs: 1,
      num_replicas: replicas,
    });
    presenceReady.catch(() => {
      presenceReady = undefined;
    });
    return presenceReady;
  }

  async function ensureDurable(queue: WorkQueue, durable: string, ackWaitMs: number, concurrency: number): Promise<void> {
    const changeable = {
      ack_wait: nanos(ackWaitMs),
      // The adapter counts deliveries itself (see connectJetStreamBus); the server must never stop redelivering.
      max_deliver: -1,
      max_ack_pending: Math.max(1_000, concurrency),
    };
    try {
      await jsm.consumers.add(queue.stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...changeable,
      });
    } catch (err) {
      const code = apiCode(err);
      if (code === API.workQueueUnfilteredNotUnique || code === API.workQueueFilteredNotUnique) {
        const existing: string[] = [];
        for await (const ci of jsm.consumers.list(queue.stream)) existing.push(ci.name);
        throw new LoupeError(
          'LOUPE_ERR_CONFIG_INVALID',
          `subject ${queue.subject} is already consumed by ${existing.join(', ')}; a work queue has one consumer per subject`,
          { details: { subject: queue.subject, durable, existing } },
        );
      }
      // Servers from 2.10 refuse to change a consumer through "create": the last `consume` updates it, as in 2.9.
      if (code === API.consumerAlreadyExists || code === API.consumerNameInUse) {
        await jsm.consumers.update(queue.stream, durable, changeable);
        return;
      }
      throw err;
    }
  }

  async function registerPresence(sub: ConsumeSub): Promise<void> {
    await ensurePresenceStream();
    await jsm.consumers.add(presenceStream, {
      name: sub.presence.name,
      deliver_subject: sub.presence.sub.getSubject(),
      filter_subject: presenceSubject(sub.queue.stream),
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.New,
      inactive_threshold: nanos(PRESENCE_GRACE_MS),
      description: `${sub.durable} on ${sub.queue.subject}`,
    });
  }

  async function countPresence(stream: string): Promise<number> {
    let count = 0;
    try {
      for await (const ci of jsm.consumers.list(presenceStream)) {
        if (ci.config.filter_subject === presenceSubject(stream) && ci.push_bound) count++;
      }
    } catch (err) {
      if (apiCode(err) === API.streamNotFound) return 0;
      throw err;
    }
    return count;
  }

  // After a reconnect the server may have restarted: the presence stream is in memory, and the
  // ephemeral consumers may be gone. Registering again is idempotent.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        connected = false;
        for (const abandon of [...onDisconnect]) abandon();
      }
      if (status.type !== 'reconnect') continue;
      connected = true;
      for (const resume of [...onReconnect]) resume();
      presenceReady = undefined;
      for (const sub of consumeSubs) {
        if (sub.stopped) continue;
        resilient('presence', () => registerPresence(sub)).catch((err: unknown) => onError(err, `presence of ${sub.durable}`));
      }
    }
  })().catch(() => {});

  function idOf(m: JsMsg): string {
    return m.headers?.get(ORIGINAL_ID_HEADER) || m.headers?.get('Nats-Msg-Id') || `${m.info.stream}:${m.seq}`;
  }

  /** Publishes the dead letter, waits for its PubAck, then removes the original. */
  async function deadLetter(sub: ConsumeSub, m: JsMsg, error: LoupeErrorJSON, deliveries: number): Promise<void> {
    const h = toNatsHeaders(userHeaders(m.headers)) ?? natsHeaders();
    h.set(DLQ.subject, m.subject);
    h.set(DLQ.stage, sub.durable);
    h.set(DLQ.msgId, idOf(m));
    h.set(DLQ.deliveries, String(deliveries));
    h.set(DLQ.error, JSON.stringify(error));
    h.set(DLQ.at, new Date().toISOString());
    // Stable across redeliveries of the same message, so that dead-lettering twice stores it once.
    const msgID = `${m.info.stream}:${m.seq}:${m.info.timestampNanos}`;
    try {
      await resilient(`dead-lettering on ${m.subject}`, async () => {
        await ensureDlqStream();
        await js.publish(dlqSubject(m.subject), m.data, { msgID, headers: h });
      });
      // Acked rather than termed: on a WorkQueue stream both remove it, and only an ack can be
      // confirmed, so that stats() no longer counts a message once it is in the dead letters.
      await m.ackAck().catch((err: unknown) => onError(err, `removing a dead-lettered message of ${m.subject}`));
    } catch (err) {
      // The original stays unsettled: after its ack wait the next delivery is past the maximum and is dead-lettered again.
      onError(err, `dead-lettering a message of ${m.subject}`);
    }
  }

  function workMessage(sub: ConsumeSub, m: JsMsg, deliveryCount: number, track: (p: Promise<void>) => void): WorkMessage {
    let settled = false;
    // Local view of the ack deadline. Past it the server has redelivered (or will): a late settle is
    // ignored, as JetStream would otherwise ack, nak or dead-letter a message another delivery now owns.
    let deadline = Date.now() + sub.ackWaitMs;
    const settle = (): boolean => {
      if (settled || Date.now() > deadline) return false;
      settled = true;
      return true;
    };
    // A settle is a publish: on a connection that is gone it is lost, and the ack wait redelivers.
    const send = (settlement: () => void): void => {
      try {
        settlement();
      } catch (err) {
        if (!nc.isClosed()) onError(err, `settling a message of ${m.subject}`);
      }
    };
    return {
      subject: m.subject,
      id: idOf(m),
      data: m.data,
      headers: userHeaders(m.headers),
      deliveryCount,
      maxDeliver: sub.maxDeliver,
      ack() {
        if (settle()) send(() => m.ack());
      },
      nak(delayMs, error) {
        if (!settle()) return;
        if (deliveryCount >= sub.maxDeliver) track(deadLetter(sub, m, error ?? NO_ERROR_REPORTED, deliveryCount));
        else send(() => (delayMs > 0 ? m.nak(Math.round(delayMs)) : m.nak()));
      },
      term(error) {
        if (settle()) track(deadLetter(sub, m, error ?? NO_ERROR_REPORTED, deliveryCount));
      },
      working() {
        if (settled || Date.now() > deadline) return;
        deadline = Date.now() + sub.ackWaitMs;
        send(() => m.working());
      },
    };
  }

  async function handle(sub: ConsumeSub, m: JsMsg): Promise<void> {
    const deliveryCount = m.info.deliveryCount;
    if (deliveryCount > sub.maxDeliver) {
      const error = new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `not acknowledged within ${sub.ackWaitMs} ms on the last delivery`);
      await deadLetter(sub, m, error.toJSON(), sub.maxDeliver);
      return;
    }
    let settling: Promise<void> | undefined;
    const message = workMessage(sub, m, deliveryCount, (p) => {
      settling = p;
    });
    try {
      await sub.handler(message);
    } catch (err) {
      message.nak(retryDelayMs(deliveryCount), toLoupeError(err).toJSON());
    }
    // The slot stays busy until the dead letter is written, so that drain and close wait for it.
    await settling;
  }

  function pause(sub: ConsumeSub, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        sub.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sub.wakers.add(wake);
    });
  }

  /**
   * One slot: pull one message, handle it, pull the next. A slot never holds a message it
   * cannot start at once, so no message waits out its ack wait in a client buffer, and a
   * closed pull request is withdrawn (the server drops requests whose inbox has no interest).
   */
  async function runSlot(sub: ConsumeSub): Promise<void> {
    let failures = 0;
    while (!sub.stopped && !nc.isClosed()) {
      try {
        if (sub.suspect) {
          queues.delete(sub.queue.subject);
          await workQueue(sub.queue.subject);
          await ensureDurable(sub.queue, sub.durable, sub.ackWaitMs, sub.concurrency);
          sub.suspect = false;
        }
        const messages = await sub.consumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        sub.fetches.add(messages);
        try {
          if (sub.stopped) void messages.close();
          for await (const m of messages) await handle(sub, m);
        } finally {
          sub.fetches.delete(messages);
        }
        failures = 0;
      } catch (err) {
        if (sub.stopped || nc.isClosed()) return;
        sub.suspect = true;
        if (failures++ % 20 === 0 && !isTransient(err)) onError(err, `pulling ${sub.queue.subject} for ${sub.durable}`);
        await pause(sub, Math.min(100 * 2 ** failures, 5_000));
      }
    }
  }

  function drainConsumer(sub: ConsumeSub): Promise<void> {
    sub.drained ??= (async () => {
      sub.stopped = true;
      for (const messages of sub.fetches) void messages.close();
      for (const wake of [...sub.wakers]) wake();
      await Promise.allSettled(sub.slots);
      consumeSubs.delete(sub);
      sub.presence.sub.unsubscribe();
      if (!nc.isClosed()) {
        await jsm.consumers.delete(presenceStream, sub.presence.name).catch((err: unknown) => {
          if (apiCode(err) !== API.consumerNotFound && apiCode(err) !== API.streamNotFound) onError(err, `removing the presence of ${sub.durable}`);
        });
      }
    })();
    return sub.drained;
  }

  function drainResponder(responder: Responder): Promise<void> {
    responder.drained ??= (async () => {
      responders.delete(responder);
      if (!responder.sub.isClosed()) responder.sub.unsubscribe();
      await Promise.allSettled([...responder.running]);
    })();
    return responder.drained;
  }

  async function storedDeadLetter(seq: number): Promise<StoredMsg> {
    try {
      return await jsm.streams.getMessage(dlqStream, { seq });
    } catch (err) {
      const code = apiCode(err);
      if (code === API.noMessageFound || code === API.streamNotFound) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no dead letter with seq ${seq}`, { details: { seq } });
      }
      throw wrapNatsError(err, 'reading a dead letter', { seq });
    }
  }

  /** False when there is no such dead letter. */
  async function deleteDeadLetter(seq: number): Promise<boolean> {
    try {
      await jsm.streams.deleteMessage(dlqStream, seq, false);
      return true;
    } catch (err) {
      // The server reports a missing sequence under several codes (10043, or 10057 with its own text): ask directly.
      if (apiCode(err) === API.streamNotFound) return false;
      const exists = await jsm.streams.getMessage(dlqStream, { seq }).then(
        () => true,
        (getErr: unknown) => apiCode(getErr) !== API.noMessageFound,
      );
      if (exists) throw wrapNatsError(err, 'removing a dead letter', { seq });
      return false;
    }
  }

  function toDeadLetter(stored: StoredMsg): DeadLetter {
    const h = stored.header;
    let error = NO_ERROR_REPORTED;
    try {
      error = LoupeError.fromJSON(JSON.parse(h.get(DLQ.error)) as Record<string, unknown>).toJSON();
    } catch {
      // A dead letter written by another tool still lists; its error is unknown.
    }
    const deliveries = Number.parseInt(h.get(DLQ.deliveries), 10);
    return {
      seq: stored.seq,
      subject: h.get(DLQ.subject) || stored.subject.slice(`${prefix}.dlq.`.length),
      stage: h.get(DLQ.stage),
      msgId: h.get(DLQ.msgId),
      data: stored.data,
      headers: userHeaders(h),
      deliveries: Number.isNaN(deliveries) ? 0 : deliveries,
      error,
      at: h.get(DLQ.at) || stored.time.toISOString(),
    };
  }

  const bus: Bus = {
    kind: 'nats',

    async publish(subject: string, data: Uint8Array, options: PublishOptions) {
      assertOpen();
      checkWorkSubject(subject);
      const h = toNatsHeaders(options.headers);
      let attempts = 0;
      const ack = await resilient(`publishing on ${subject}`, async () => {
        attempts++;
        await workQueue(subject);
        try {
          return await js.publish(subject, data, { msgID: options.msgId, ...(h ? { headers: h } : {}) });
        } catch (err) {
          // No stream answers (deleted, or lost with a server's store): create it again on the retry.
          if (natsCode(err) === '503') queues.delete(subject);
          throw err;
        }
      });
      // After an attempt whose PubAck was lost, the retry is reported as a duplicate of that attempt.
      return { duplicate: ack.duplicate && attempts === 1 };
    },

    async consume(subject: string, options: QueueOptions, handler: (msg: WorkMessage) => Promise<void>): Promise<Subscription> {
      assertOpen();
      checkWorkSubject(subject);
      const durable = checkName(options.durable, 'durable');
      const concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
      const maxDeliver = positiveInteger(options.maxDeliver ?? defaultMaxDeliver, 'maxDeliver');
      const ackWaitMs = positiveInteger(options.ackWaitMs ?? defaultAckWaitMs, 'ackWaitMs');
      const queue = await resilient(`consuming ${subject}`, () => workQueue(subject));
      await resilient(`consuming ${subject}`, () => ensureDurable(queue, durable, ackWaitMs, concurrency));
      const consumer = await resilient(`consuming ${subject}`, () => js.consumers.get(queue.stream, durable));
      const sub: ConsumeSub = {
        queue,
        durable,
        concurrency,
        maxDeliver,
        ackWaitMs,
        handler,
        consumer,
        fetches: new Set(),
        wakers: new Set(),
        // Only its interest matters (it makes the presence consumer `push_bound`); nothing is ever delivered to it.
        presence: { name: `presence_${nuid.next()}`, sub: nc.subscribe(createInbox(), { callback: () => {} }) },
        slots: [],
        suspect: false,
        stopped: false,
        drained: undefined,
      };
      try {
        await resilient(`consuming ${subject}`, () => registerPresence(sub));
      } catch (err) {
        sub.presence.sub.unsubscribe();
        throw err;
      }
      if (closed) {
        sub.presence.sub.unsubscribe();
        throw closedError();
      }
      consumeSubs.add(sub);
      sub.slots = Array.from({ length: concurrency }, () => runSlot(sub));
      return { drain: () => drainConsumer(sub) };
    },

    emit(subject: string, data: Uint8Array, headers: Headers = {}) {
      assertOpen();
      const h = toNatsHeaders(headers);
      try {
        nc.publish(subject, data, h ? { headers: h } : undefined);
      } catch (err) {
        throw wrapNatsError(err, `emitting on ${subject}`);
      }
    },

    listen(subject: string, handler: (data: Uint8Array, headers: Headers) => void): Subscription {
      assertOpen();
      let sub: NatsSubscription;
      try {
        sub = nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return onError(err, `listener of ${subject}`);
            try {
              handler(msg.data, userHeaders(msg.headers));
            } catch (thrown) {
              onError(thrown, `listener of ${msg.subject}`);
            }
          },
        });
      } catch (err) {
        throw wrapNatsError(err, `listening on ${subject}`);
      }
      listeners.add(sub);
      return {
        async drain() {
          listeners.delete(sub);
          if (!sub.isClosed()) sub.unsubscribe();
        },
      };
    },

    async serve(subject: string, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Promise<Subscription> {
      assertOpen();
      const running = new Set<Promise<void>>();
      const sub = nc.subscribe(subject, {
        queue: SERVE_QUEUE_GROUP,
        callback: (err, msg) => {
          if (err) return onError(err, `responder of ${subject}`);
          if (!msg.reply) return;
          const answered = (async () => {
            let reply: Reply;
            try {
              reply = await handler(msg.data, userHeaders(msg.headers));
            } catch (thrown) {
              reply = replyError(thrown);
            }
            try {
              msg.respond(reply.data, { headers: toNatsHeaders(reply.headers) ?? natsHeaders() });
            } catch (thrown) {
              // A reply the transport refuses (a bad header) still answers, as the error it is.
              const failure = replyError(toLoupeError(thrown));
              msg.respond(failure.data, { headers: toNatsHeaders(failure.headers) ?? natsHeaders() });
            }
          })().catch((thrown: unknown) => onError(thrown, `responder of ${subject}`));
          running.add(answered);
          void answered.finally(() => running.delete(answered));
        },
      });
      const responder: Responder = { sub, running, drained: undefined };
      responders.add(responder);
      try {
        // Once the server has the subscription, a request from any process finds this responder.
        await nc.flush();
      } catch (err) {
        await drainResponder(responder);
        throw wrapNatsError(err, `serving ${subject}`);
      }
      return { drain: () => drainResponder(responder) };
    },

    async request(subject: string, data: Uint8Array, options: RequestOptions = {}): Promise<Reply> {
      assertOpen();
      const { signal } = options;
      if (signal?.aborted) throw abortError(signal, subject);
      const timeoutMs = options.timeoutMs ?? requestTimeoutMs;
      const h = toNatsHeaders(options.headers);
      let rejectEarly: (err: LoupeError) => void = () => {};
      const early = new Promise<never>((_, reject) => {
        rejectEarly = reject;
      });
      const onAbort = (): void => rejectEarly(abortError(signal as AbortSignal, subject));
      signal?.addEventListener('abort', onAbort, { once: true });
      pendingRequests.add(rejectEarly);
      try {
        const msg = await Promise.race([nc.request(subject, data, { timeout: timeoutMs, ...(h ? { headers: h } : {}) }), early]);
        return throwIfError({ data: msg.data, headers: userHeaders(msg.headers) });
      } catch (err) {
        if (err instanceof LoupeError) throw err;
        // NATS answers at once with a 503 status when no subscription matches the subject.
        if (natsCode(err) === '503') throw new LoupeError('LOUPE_ERR_BUS_NO_RESPONDER', `no service answers ${subject}`, { details: { subject } });
        if (natsCode(err) === 'TIMEOUT') {
          throw new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`, { details: { subject, timeoutMs } });
        }
        throw wrapNatsError(err, `request on ${subject}`, { subject });
      } finally {
        pendingRequests.delete(rejectEarly);
        signal?.removeEventListener('abort', onAbort);
      }
    },

    async stats(subject: string): Promise<QueueStats> {
      assertOpen();
      checkWorkSubject(subject);
      const stream = streamNameOf(prefix, subject);
      try {
        const [info, durables, consumers] = await Promise.all([
          jsm.streams.info(stream),
          (async () => {
            const all = [];
            for await (const ci of jsm.consumers.list(stream)) all.push(ci);
            return all;
          })(),
          countPresence(stream),
        ]);
        // JetStream keeps a message waiting out a nak delay in the ack-pending set: it counts as in flight.
        const inFlight = durables.reduce((sum, ci) => sum + ci.num_ack_pending, 0);
        return { subject, pending: Math.max(0, info.state.messages - inFlight), inFlight, consumers };
      } catch (err) {
        if (apiCode(err) === API.streamNotFound) return { subject, pending: 0, inFlight: 0, consumers: 0 };
        throw wrapNatsError(err, `stats of ${subject}`, { subject });
      }
    },

    deadLetters: {
      async list(filter: { subject?: string } = {}) {
        assertOpen();
        const wanted = filter.subject === undefined ? `${prefix}.dlq.>` : dlqSubject(checkWorkSubject(filter.subject));
        const letters: DeadLetter[] = [];
        for (let seq = 1; ; ) {
          let stored: StoredMsg;
          try {
            // nats-server >= 2.9 answers `next_by_subj` on STREAM.MSG.GET; the v2 client only types it for direct gets.
            stored = await jsm.streams.getMessage(dlqStream, { seq, next_by_subj: wanted } as unknown as MsgRequest);
          } catch (err) {
            const code = apiCode(err);
            if (code === API.noMessageFound || code === API.streamNotFound) break;
            throw wrapNatsError(err, 'listing dead letters');
          }
          letters.push(toDeadLetter(stored));
          seq = stored.seq + 1;
        }
        return letters;
      },

      async retry(seq: number) {
        assertOpen();
        const stored = await storedDeadLetter(seq);
        const letter = toDeadLetter(stored);
        const h = toNatsHeaders(letter.headers) ?? natsHeaders();
        h.set(ORIGINAL_ID_HEADER, letter.msgId);
        // A new msgId, or the stream would drop it as a duplicate inside the window; stable per dead
        // letter, so that a retry repeated after a crash is de-duplicated.
        const msgID = `loupe-retry:${dlqStream}:${seq}:${stored.timestamp}`;
        await resilient(`retrying a dead letter on ${letter.subject}`, async () => {
          await workQueue(checkWorkSubject(letter.subject));
          await js.publish(letter.subject, letter.data, { msgID, headers: h });
        });
        // Gone already: a concurrent retry or drop won, and the msgId above keeps the republish single.
        await deleteDeadLetter(seq);
      },

      async drop(seq: number) {
        assertOpen();
        if (!(await deleteDeadLetter(seq))) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no dead letter with seq ${seq}`, { details: { seq } });
      },
    },

    close() {
      closing ??= (async () => {
        closed = true;
        const stopping = [...[...consumeSubs].map(drainConsumer), ...[...responders].map(drainResponder)];
        for (const sub of listeners) if (!sub.isClosed()) sub.unsubscribe();
        listeners.clear();
        await within(Promise.allSettled(stopping), closeTimeoutMs);
        for (const reject of pendingRequests) reject(closedError());
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
  return bus;
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      })]);
  } finally {
    clearTimeout(timer);
  }
}

function abortError(signal: AbortSignal, subject: string): LoupeError {
  if (signal.reason instanceof LoupeError) return signal.reason;
  return new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `request on ${subject} aborted by the caller`, { cause: signal.reason, details: { subject } });
}
