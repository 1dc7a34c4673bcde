import type { LoupeErrorJSON } from '@loupe/contracts';

export type Headers = Record<string, string>;

/** A message taken from a work queue. Exactly one of ack / nak / term must be called. */
export interface WorkMessage {
  readonly subject: string;
  /** The publisher's message id (de-duplication key). */
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /** The queue's maximum deliveries: after the last one fails the message is dead-lettered. */
  readonly maxDeliver: number;
  ack(): void;
  /** Redeliver after `delayMs`; when this was the last allowed delivery the message is dead-lettered with `error`. */
  nak(delayMs: number, error?: LoupeErrorJSON): void;
  /** Give up now: dead-letter the message with the error (for failures no retry can fix). */
  term(error: LoupeErrorJSON): void;
  /** Still working: push the ack deadline back. */
  working(): void;
}

export interface QueueOptions {
  /** Durable consumer name; one consumer per stage. */
  readonly durable: string;
  /** Messages handled at once by this consumer. */
  readonly concurrency?: number;
  /** Deliveries before a message is dead-lettered. */
  readonly maxDeliver?: number;
  /** A delivery not acked within this time is redelivered. */
  readonly ackWaitMs?: number;
}

export interface PublishOptions {
  /** De-duplication key: a second publish with the same id inside the window is dropped. */
  readonly msgId: string;
  readonly headers?: Headers;
}

export interface RequestOptions {
  readonly timeoutMs?: number;
  readonly headers?: Headers;
  readonly signal?: AbortSignal;
}

export interface Reply {
  readonly data: Uint8Array;
  readonly headers: Headers;
}

export interface DeadLetter {
  /** Identifier of the dead letter, for retry and drop. */
  readonly seq: number;
  readonly subject: string;
  readonly stage: string;
  readonly msgId: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  readonly deliveries: number;
  readonly error: LoupeErrorJSON;
  readonly at: string;
}

export interface Subscription {
  /** Stops taking new messages and waits for those in flight. */
  drain(): Promise<void>;
}

export interface QueueStats {
  readonly subject: string;
  /** Messages waiting for a delivery, including those waiting out a nak delay. */
  readonly pending: number;
  /** Messages delivered and not yet acked, nakked or terminated. */
  readonly inFlight: number;
  /** Active `consume` subscriptions on the subject. */
  readonly consumers: number;
}

/**
 * The bus port. Adapters: memory (one process) and, later, NATS JetStream.
 * Work queues give at-least-once delivery with explicit ack, retry with delay,
 * a maximum of deliveries and dead letters; request/reply is for synchronous API calls.
 */
export interface Bus {
  readonly kind: 'memory' | 'nats';
  /** Adds a message to the work queue of `subject`. A repeated msgId within the window is dropped. */
  publish(subject: string, data: Uint8Array, opts: PublishOptions): Promise<{ duplicate: boolean }>;
  /**
   * Consumes the work queue of `subject`. A handler that throws is treated as
   * `nak(backoff, toLoupeError(err).toJSON())`: retried, then dead-lettered with what it threw.
   */
  consume(subject: string, opts: QueueOptions, handler: (msg: WorkMessage) => Promise<void>): Promise<Subscription>;
  /** Fire-and-forget broadcast (events nobody must process exactly once). */
  emit(subject: string, data: Uint8Array, headers?: Headers): void;
  /** Listens to broadcasts. */
  listen(subject: string, handler: (data: Uint8Array, headers: Headers) => void): Subscription;
  /** Answers requests on `subject`; several responders share the load. A handler that throws answers with an error reply. */
  serve(subject: string, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Promise<Subscription>;
  /**
   * Fails fast with LOUPE_ERR_BUS_NO_RESPONDER when nobody serves `subject`, with
   * LOUPE_ERR_BUS_TIMEOUT when no reply comes in time; an error reply (see reply.ts) is thrown as its LoupeError.
   */
  request(subject: string, data: Uint8Array, opts?: RequestOptions): Promise<Reply>;
  stats(subject: string): Promise<QueueStats>;
  deadLetters: {
    list(filter?: { subject?: string }): Promise<DeadLetter[]>;
    /** How many dead letters wait, every subject together: cheap enough for each /metrics scrape. */
    count(): Promise<number>;
    /** Publishes the message again on its subject with fresh deliveries and removes the dead letter. */
    retry(seq: number): Promise<void>;
    drop(seq: number): Promise<void>;
  };
  close(): Promise<void>;
}

export const encode = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
export const decode = <T = unknown>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T;
