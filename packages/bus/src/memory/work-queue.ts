import { toLoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import type { Clock } from '@loupe/contracts';
import type { Headers, QueueOptions, QueueStats, Subscription, WorkMessage } from '../bus.js';
import { NO_ERROR_REPORTED, notAcknowledged, oneDurablePerSubject, positiveInteger } from '../bus.errors.js';
import type { MemoryDeadLetters } from './dead-letters.js';

export interface WorkQueueSettings {
  readonly defaultMaxDeliver: number;
  readonly defaultAckWaitMs: number;
  readonly retryDelayMs: (deliveryCount: number) => number;
  readonly clock: Clock;
  readonly deadLetters: MemoryDeadLetters;
  /** True once the bus closes: no more deliveries, no more timers. */
  readonly closed: () => boolean;
}

interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  deliveries: number;
  /** Bumped at each delivery: settling a delivery that is no longer current does nothing. */
  generation: number;
  state: 'ready' | 'delayed' | 'inflight' | 'done';
  timer: unknown;
}

interface Consumer {
  readonly handler: (msg: WorkMessage) => Promise<void>;
  readonly concurrency: number;
  active: number;
  draining: boolean;
  readonly running: Set<Promise<void>>;
}

/**
 * The work queue of one subject, as a JetStream WorkQueue stream with one durable: messages wait
 * in `ready` (redeliveries first), in `delayed` while a nak delay runs, and in `inFlight` until
 * their delivery is settled or its ack wait runs out.
 */
export class MemoryWorkQueue {
  readonly #ready: StoredMessage[] = [];
  readonly #delayed = new Set<StoredMessage>();
  readonly #inFlight = new Set<StoredMessage>();
  #consumers: Consumer[] = [];
  #nextConsumer = 0;
  #pumpScheduled = false;
  #durable: string | undefined;
  #maxDeliver: number;
  #ackWaitMs: number;

  constructor(
    readonly subject: string,
    private readonly settings: WorkQueueSettings,
  ) {
    this.#maxDeliver = settings.defaultMaxDeliver;
    this.#ackWaitMs = settings.defaultAckWaitMs;
  }

  enqueue(seq: number, id: string, data: Uint8Array, headers: Headers): void {
    this.#ready.push({ seq, subject: this.subject, id, data, headers, deliveries: 0, generation: 0, state: 'ready', timer: undefined });
    this.#schedulePump();
  }

  consume(options: QueueOptions, handler: (msg: WorkMessage) => Promise<void>): Subscription {
    if (this.#durable !== undefined && this.#durable !== options.durable) throw oneDurablePerSubject(this.subject, options.durable, this.#durable);
    const consumer: Consumer = {
      handler,
      concurrency: positiveInteger(options.concurrency ?? 1, 'concurrency'),
      active: 0,
      draining: false,
      running: new Set(),
    };
    if (this.#durable === undefined) {
      // The first consumer configures the durable, as creating a JetStream consumer does.
      this.#maxDeliver = positiveInteger(options.maxDeliver ?? this.settings.defaultMaxDeliver, 'maxDeliver');
      this.#ackWaitMs = positiveInteger(options.ackWaitMs ?? this.settings.defaultAckWaitMs, 'ackWaitMs');
      this.#durable = options.durable;
    }
    this.#consumers.push(consumer);
    this.#schedulePump();
    let drained: Promise<void> | undefined;
    return {
      drain: () => {
        drained ??= (async () => {
          consumer.draining = true;
          this.#consumers = this.#consumers.filter((c) => c !== consumer);
          await Promise.allSettled([...consumer.running]);
          this.#schedulePump();
        })();
        return drained;
      },
    };
  }

  stats(): QueueStats {
    return { subject: this.subject, pending: this.#ready.length + this.#delayed.size, inFlight: this.#inFlight.size, consumers: this.#consumers.length };
  }

  /** Handlers still running, for close() to wait on. */
  running(): Promise<void>[] {
    return this.#consumers.flatMap((c) => [...c.running]);
  }

  clearTimers(): void {
    for (const msg of [...this.#delayed, ...this.#inFlight]) this.#clearTimer(msg);
  }

  #clearTimer(msg: StoredMessage): void {
    if (msg.timer !== undefined) this.settings.clock.clearTimeout(msg.timer);
    msg.timer = undefined;
  }

  // Pumping in a microtask keeps handlers from running inside publish() or inside another handler's ack().
  #schedulePump(): void {
    if (this.#pumpScheduled || this.settings.closed()) return;
    this.#pumpScheduled = true;
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.settings.closed() && this.#ready.length > 0) {
      const consumer = this.#takeFreeConsumer();
      if (!consumer) return;
      const msg = this.#ready.shift();
      if (msg) this.#deliver(consumer, msg);
    }
  }

  #takeFreeConsumer(): Consumer | undefined {
    const n = this.#consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#nextConsumer + i) % n;
      const consumer = this.#consumers[index];
      if (consumer && !consumer.draining && consumer.active < consumer.concurrency) {
        this.#nextConsumer = (index + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  #makeReady(msg: StoredMessage): void {
    // Redeliveries go first, as JetStream serves pending redeliveries before new messages.
    msg.state = 'ready';
    this.#ready.unshift(msg);
    this.#schedulePump();
  }

  #armAckWait(msg: StoredMessage, generation: number): void {
    this.#clearTimer(msg);
    if (this.settings.closed()) return;
    msg.timer = this.settings.clock.setTimeout(() => {
      if (msg.generation !== generation || msg.state !== 'inflight') return;
      msg.timer = undefined;
      this.#inFlight.delete(msg);
      if (msg.deliveries >= this.#maxDeliver) this.#toDeadLetters(msg, notAcknowledged(this.#ackWaitMs).toJSON());
      else this.#makeReady(msg);
    }, this.#ackWaitMs);
  }

  #delay(msg: StoredMessage, delayMs: number): void {
    msg.state = 'delayed';
    this.#delayed.add(msg);
    msg.timer = this.settings.clock.setTimeout(() => {
      msg.timer = undefined;
      this.#delayed.delete(msg);
      this.#makeReady(msg);
    }, delayMs);
  }

  #toDeadLetters(msg: StoredMessage, error: LoupeErrorJSON): void {
    this.#clearTimer(msg);
    msg.state = 'done';
    this.settings.deadLetters.add(msg, this.#durable ?? '', error);
  }

  #deliver(consumer: Consumer, msg: StoredMessage): void {
    msg.deliveries += 1;
    const generation = ++msg.generation;
    msg.state = 'inflight';
    this.#inFlight.add(msg);
    this.#armAckWait(msg, generation);
    consumer.active += 1;
    const message = this.#workMessage(msg, generation);
    const run = (async () => {
      await null;
      try {
        await consumer.handler(message);
      } catch (err) {
        message.nak(this.settings.retryDelayMs(message.deliveryCount), toLoupeError(err).toJSON());
      }
    })().finally(() => {
      consumer.active -= 1;
      consumer.running.delete(run);
      this.#schedulePump();
    });
    consumer.running.add(run);
  }

  #workMessage(msg: StoredMessage, generation: number): WorkMessage {
    const current = (): boolean => msg.generation === generation && msg.state === 'inflight';
    const settle = (): boolean => {
      if (!current()) return false;
      this.#clearTimer(msg);
      this.#inFlight.delete(msg);
      return true;
    };
    return {
      subject: msg.subject,
      id: msg.id,
      data: msg.data,
      headers: msg.headers,
      deliveryCount: msg.deliveries,
      maxDeliver: this.#maxDeliver,
      ack: () => {
        if (settle()) msg.state = 'done';
      },
      nak: (delayMs, error) => {
        if (!settle()) return;
        if (msg.deliveries >= this.#maxDeliver) this.#toDeadLetters(msg, error ?? NO_ERROR_REPORTED);
        else if (delayMs > 0 && !this.settings.closed()) this.#delay(msg, delayMs);
        else this.#makeReady(msg);
      },
      term: (error) => {
        if (settle()) this.#toDeadLetters(msg, error ?? NO_ERROR_REPORTED);
      },
      working: () => {
        if (current()) this.#armAckWait(msg, generation);
      },
    };
  }
}
