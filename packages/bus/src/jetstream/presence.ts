import { AckPolicy, createInbox, DeliverPolicy, nanos, nuid, type Subscription as NatsSubscription } from 'nats';
import type { JetStreamConnection } from './connection.js';
import { API, apiCode } from './names.js';
import type { JetStreamStreams, WorkQueue } from './streams.js';

/** An ephemeral presence consumer outlives its vanished process this long before the server deletes it. */
const PRESENCE_GRACE_MS = 10_000;

/**
 * How `stats().consumers` counts `consume` calls across processes: each holds an ephemeral push
 * consumer on the presence stream, bound to its connection, so a killed process drops out at once.
 */
export class Presence {
  readonly name = `presence_${nuid.next()}`;
  // Only its interest matters (it makes the presence consumer `push_bound`); nothing is ever delivered to it.
  readonly #sub: NatsSubscription;

  constructor(
    private readonly conn: JetStreamConnection,
    private readonly streams: JetStreamStreams,
    private readonly queue: WorkQueue,
    private readonly durable: string,
  ) {
    this.#sub = conn.nc.subscribe(createInbox(), { callback: () => {} });
  }

  /** Idempotent: run again after a reconnect, as the server may have lost the consumer. */
  async register(): Promise<void> {
    await this.streams.ensurePresenceStream();
    await this.conn.jsm.consumers.add(this.streams.presenceStream, {
      name: this.name,
      deliver_subject: this.#sub.getSubject(),
      filter_subject: this.streams.presenceSubject(this.queue.stream),
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.New,
      inactive_threshold: nanos(PRESENCE_GRACE_MS),
      description: `${this.durable} on ${this.queue.subject}`,
    });
  }

  /** Stops being counted; `onError` hears of a removal that failed for another reason than being gone already. */
  async withdraw(onError: (err: unknown, where: string) => void): Promise<void> {
    this.#sub.unsubscribe();
    if (this.conn.nc.isClosed()) return;
    await this.conn.jsm.consumers.delete(this.streams.presenceStream, this.name).catch((err: unknown) => {
      if (apiCode(err) !== API.consumerNotFound && apiCode(err) !== API.streamNotFound) onError(err, `removing the presence of ${this.durable}`);
    });
  }

  /** Unsubscribes without removing the consumer (registration failed, or the bus closed meanwhile). */
  abandon(): void {
    this.#sub.unsubscribe();
  }
}

/** Live `consume` calls on a work stream, in all processes. */
export async function countPresence(conn: JetStreamConnection, streams: JetStreamStreams, stream: string): Promise<number> {
  let count = 0;
  try {
    for await (const ci of conn.jsm.consumers.list(streams.presenceStream)) {
      if (ci.config.filter_subject === streams.presenceSubject(stream) && ci.push_bound) count++;
    }
  } catch (err) {
    if (apiCode(err) === API.streamNotFound) return 0;
    throw err;
  }
  return count;
}
