import { toLoupeError } from '@loupe/contracts';
import type { Consumer, ConsumerMessages, JsMsg } from 'nats';
import type { WorkMessage } from '../bus.js';
import { notAcknowledged } from '../bus.errors.js';
import { exponentialBackoff } from '../retry-backoff.js';
import type { JetStreamConnection } from './connection.js';
import type { JetStreamDeadLetters } from './dead-letters.js';
import { isTransient } from './names.js';
import type { Presence } from './presence.js';
import type { JetStreamStreams, WorkQueue } from './streams.js';
import { wakeableDelay } from './wakeable-delay.js';
import { jetStreamWorkMessage } from './work-message.js';

/** What every `consume` call of one bus shares. */
export interface ConsumerContext {
  readonly conn: JetStreamConnection;
  readonly streams: JetStreamStreams;
  readonly deadLetters: JetStreamDeadLetters;
  readonly retryDelayMs: (deliveryCount: number) => number;
  readonly pullExpiresMs: number;
  readonly onError: (err: unknown, where: string) => void;
}

export interface ConsumerSettings {
  readonly queue: WorkQueue;
  readonly durable: string;
  readonly concurrency: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly handler: (msg: WorkMessage) => Promise<void>;
}

/**
 * One `consume` call: `concurrency` slots, each holding at most one pull request or one message.
 * A slot never holds a message it cannot start at once, so no message waits out its ack wait in
 * a client buffer, and a closed pull request is withdrawn (the server drops requests whose inbox
 * has no interest).
 */
export class JetStreamConsumer {
  readonly #fetches = new Set<ConsumerMessages>();
  readonly #wakers = new Set<() => void>();
  #slots: Promise<void>[] = [];
  /** Set after a pull failed: the durable is recreated before the next pull (the server may have lost it). */
  #suspect = false;
  /** The newest delivery count seen per stream sequence, until that delivery settles. */
  readonly #newest = new Map<number, number>();
  #stopped = false;
  #drained: Promise<void> | undefined;

  constructor(
    private readonly context: ConsumerContext,
    readonly settings: ConsumerSettings,
    private readonly consumer: Consumer,
    readonly presence: Presence,
  ) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#slots = Array.from({ length: this.settings.concurrency }, () => this.#runSlot());
  }

  drain(): Promise<void> {
    this.#drained ??= (async () => {
      this.#stopped = true;
      for (const messages of this.#fetches) void messages.close();
      for (const wake of [...this.#wakers]) wake();
      await Promise.allSettled(this.#slots);
      await this.presence.withdraw(this.context.onError);
    })();
    return this.#drained;
  }

  async #runSlot(): Promise<void> {
    const { conn, streams, pullExpiresMs, onError } = this.context;
    const { queue, durable, ackWaitMs, concurrency } = this.settings;
    let failures = 0;
    while (!this.#stopped && !conn.nc.isClosed()) {
      try {
        if (this.#suspect) {
          streams.forgetWorkQueue(queue.subject);
          await streams.workQueue(queue.subject);
          await streams.ensureDurable(queue, durable, ackWaitMs, concurrency);
          this.#suspect = false;
        }
        const messages = await this.consumer.fetch({ max_messages: 1, expires: pullExpiresMs });
        this.#fetches.add(messages);
        try {
          if (this.#stopped) void messages.close();
          for await (const m of messages) await this.#handle(m);
        } finally {
          this.#fetches.delete(messages);
        }
        failures = 0;
      } catch (err) {
        if (this.#stopped || conn.nc.isClosed()) return;
        this.#suspect = true;
        if (failures++ % 20 === 0 && !isTransient(err)) onError(err, `pulling ${queue.subject} for ${durable}`);
        await wakeableDelay(exponentialBackoff(failures, 200, 5_000), this.#wakers).done;
      }
    }
  }

  async #handle(m: JsMsg): Promise<void> {
    const { maxDeliver, ackWaitMs, durable, handler } = this.settings;
    const deliveryCount = m.info.deliveryCount;
    // The last delivery was never settled (its process died or hung past the ack wait).
    if (deliveryCount > maxDeliver) {
      this.#newest.delete(m.info.streamSequence);
      await this.context.deadLetters.write(m, durable, notAcknowledged(ackWaitMs).toJSON(), maxDeliver);
      return;
    }
    const seq = m.info.streamSequence;
    this.#newest.set(seq, deliveryCount);
    const ownership = {
      isCurrent: () => this.#newest.get(seq) === deliveryCount,
      release: () => void this.#newest.delete(seq),
    };
    let settling: Promise<void> | undefined;
    const message = jetStreamWorkMessage(
      this.context,
      this.settings,
      m,
      deliveryCount,
      (p) => {
        settling = p;
      },
      ownership,
    );
    try {
      await handler(message);
    } catch (err) {
      message.nak(this.context.retryDelayMs(deliveryCount), toLoupeError(err).toJSON());
    }
    // The slot stays busy until the dead letter is written, so that drain and close wait for it.
    await settling;
  }
}
