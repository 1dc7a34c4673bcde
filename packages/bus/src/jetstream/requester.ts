import { LoupeError, toLoupeError } from '@loupe/contracts';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription as NatsSubscription } from 'nats';
import type { Headers, Reply, RequestOptions } from '../bus.js';
import { abortError, noResponder, replyTimeout } from '../bus.errors.js';
import { replyError, throwIfError } from '../reply.js';
import { natsCode, toNatsHeaders, userHeaders, wrapNatsError } from './names.js';

/** Responders of a subject share its requests in this core NATS queue group. */
const SERVE_QUEUE_GROUP = 'loupe';

interface Responder {
  readonly sub: NatsSubscription;
  readonly running: Set<Promise<void>>;
  drained: Promise<void> | undefined;
}

/** `serve`/`request` over core NATS, with Loupe's error replies (reply.ts). */
export class JetStreamRequester {
  readonly #responders = new Set<Responder>();
  readonly #pending = new Set<(err: LoupeError) => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly requestTimeoutMs: number,
    private readonly onError: (err: unknown, where: string) => void,
  ) {}

  /** Resolves once the server has the subscription, so that a request from any process finds this responder. */
  async serve(subject: string, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Promise<() => Promise<void>> {
    const running = new Set<Promise<void>>();
    const sub = this.nc.subscribe(subject, {
      queue: SERVE_QUEUE_GROUP,
      callback: (err, msg) => {
        if (err) return this.onError(err, `responder of ${subject}`);
        if (!msg.reply) return;
        const answered = this.#answer(msg, handler).catch((thrown: unknown) => this.onError(thrown, `responder of ${subject}`));
        running.add(answered);
        void answered.finally(() => running.delete(answered));
      },
    });
    const responder: Responder = { sub, running, drained: undefined };
    this.#responders.add(responder);
    try {
      await this.nc.flush();
    } catch (err) {
      await this.#drain(responder);
      throw wrapNatsError(err, `serving ${subject}`);
    }
    return () => this.#drain(responder);
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Reply> {
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal, subject);
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const h = toNatsHeaders(options.headers);
    let rejectEarly: (err: LoupeError) => void = () => {};
    const early = new Promise<never>((_, reject) => {
      rejectEarly = reject;
    });
    const onAbort = (): void => rejectEarly(abortError(signal as AbortSignal, subject));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.add(rejectEarly);
    try {
      const msg = await Promise.race([this.nc.request(subject, data, { timeout: timeoutMs, ...(h ? { headers: h } : {}) }), early]);
      return throwIfError({ data: msg.data, headers: userHeaders(msg.headers) });
    } catch (err) {
      if (err instanceof LoupeError) throw err;
      // NATS answers at once with a 503 status when no subscription matches the subject.
      if (natsCode(err) === '503') throw noResponder(subject);
      if (natsCode(err) === 'TIMEOUT') throw replyTimeout(subject, timeoutMs);
      throw wrapNatsError(err, `request on ${subject}`, { subject });
    } finally {
      this.#pending.delete(rejectEarly);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops every responder; resolves when their handlers are done. */
  drainAll(): Promise<void>[] {
    return [...this.#responders].map((r) => this.#drain(r));
  }

  rejectPending(err: () => LoupeError): void {
    for (const reject of this.#pending) reject(err());
  }

  async #answer(msg: Msg, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Promise<void> {
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
  }

  #drain(responder: Responder): Promise<void> {
    responder.drained ??= (async () => {
      this.#responders.delete(responder);
      if (!responder.sub.isClosed()) responder.sub.unsubscribe();
      await Promise.allSettled([...responder.running]);
    })();
    return responder.drained;
  }
}
