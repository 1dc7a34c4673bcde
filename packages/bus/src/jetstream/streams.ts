import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType } from 'nats';
import { oneDurablePerSubject } from '../bus.errors.js';
import type { JetStreamConnection } from './connection.js';
import { API, apiCode, streamNameOf } from './names.js';

export interface WorkQueue {
  readonly subject: string;
  readonly stream: string;
}

export interface StreamSettings {
  readonly prefix: string;
  readonly dedupWindowMs: number;
  readonly replicas: number;
  readonly maxDeadLetters: number;
}

/**
 * The streams and durables the adapter creates, each once per process and again after a
 * failure (the server may have lost them):
 * - one WorkQueue stream per work subject, whose `duplicate_window` de-duplicates msgIds per subject;
 * - `<prefix>_DLQ` on `<prefix>.dlq.<subject>`, the dead letters;
 * - `<prefix>_PRESENCE`, in memory, which never holds a message (see presence.ts).
 */
export class JetStreamStreams {
  readonly dlqStream: string;
  readonly presenceStream: string;
  /** Stream name -> its creation; a failed one is forgotten, so that the next call tries again. */
  readonly #ready = new Map<string, Promise<void>>();

  constructor(
    private readonly conn: JetStreamConnection,
    private readonly settings: StreamSettings,
  ) {
    this.dlqStream = `${settings.prefix}_DLQ`;
    this.presenceStream = `${settings.prefix}_PRESENCE`;
  }

  dlqSubject(subject: string): string {
    return `${this.settings.prefix}.dlq.${subject}`;
  }

  presenceSubject(stream: string): string {
    return `${this.settings.prefix}.presence.${stream}`;
  }

  workStreamOf(subject: string): string {
    return streamNameOf(this.settings.prefix, subject);
  }

  async workQueue(subject: string): Promise<WorkQueue> {
    const stream = this.workStreamOf(subject);
    await this.#ensure({
      name: stream,
      subjects: [subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: nanos(this.settings.dedupWindowMs),
      num_replicas: this.settings.replicas,
    });
    return { subject, stream };
  }

  /** The next workQueue() creates the stream again (it was deleted, or lost with a server's store). */
  forgetWorkQueue(subject: string): void {
    this.#ready.delete(this.workStreamOf(subject));
  }

  ensureDlqStream(): Promise<void> {
    return this.#ensure({
      name: this.dlqStream,
      subjects: [`${this.settings.prefix}.dlq.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs: this.settings.maxDeadLetters,
      duplicate_window: nanos(this.settings.dedupWindowMs),
      num_replicas: this.settings.replicas,
    });
  }

  ensurePresenceStream(): Promise<void> {
    return this.#ensure({
      name: this.presenceStream,
      subjects: [`${this.settings.prefix}.presence.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.Memory,
      max_msgs: 1,
      num_replicas: this.settings.replicas,
    });
  }

  /** After a reconnect the server may have restarted, and the presence stream is kept in memory. */
  forgetPresenceStream(): void {
    this.#ready.delete(this.presenceStream);
  }

  #ensure(config: Parameters<JetStreamConnection['ensureStream']>[0]): Promise<void> {
    let ready = this.#ready.get(config.name);
    if (!ready) {
      const created = this.conn.ensureStream(config);
      this.#ready.set(config.name, (ready = created));
      created.catch(() => {
        if (this.#ready.get(config.name) === created) this.#ready.delete(config.name);
      });
    }
    return ready;
  }

  async ensureDurable(queue: WorkQueue, durable: string, ackWaitMs: number, concurrency: number): Promise<void> {
    const changeable = {
      ack_wait: nanos(ackWaitMs),
      // The adapter counts deliveries itself (see connectJetStreamBus); the server must never stop redelivering.
      max_deliver: -1,
      max_ack_pending: Math.max(1_000, concurrency),
    };
    const { jsm } = this.conn;
    try {
      await jsm.consumers.add(queue.stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ...changeable });
    } catch (err) {
      const code = apiCode(err);
      if (code === API.workQueueUnfilteredNotUnique || code === API.workQueueFilteredNotUnique) {
        const existing: string[] = [];
        for await (const ci of jsm.consumers.list(queue.stream)) existing.push(ci.name);
        throw oneDurablePerSubject(queue.subject, durable, existing);
      }
      // Servers from 2.10 refuse to change a consumer through "create": the last `consume` updates it, as in 2.9.
      if (code === API.consumerAlreadyExists || code === API.consumerNameInUse) {
        await jsm.consumers.update(queue.stream, durable, changeable);
        return;
      }
      throw err;
    }
  }
}
