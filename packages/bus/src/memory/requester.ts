import type { LoupeError } from '@loupe/contracts';
import type { Clock } from '@loupe/contracts';
import type { Headers, Reply, RequestOptions, Subscription } from '../bus.js';
import { abortError, noResponder, replyTimeout } from '../bus.errors.js';
import { replyError, throwIfError } from '../reply.js';

interface Responder {
  readonly handler: (data: Uint8Array, headers: Headers) => Promise<Reply>;
  readonly running: Set<Promise<unknown>>;
}

/** `serve`/`request`: responders of a subject take requests in turn, as a NATS queue group would. */
export class MemoryRequester {
  readonly #responders = new Map<string, Responder[]>();
  readonly #turn = new Map<string, number>();
  readonly #pending = new Set<(err: LoupeError) => void>();

  constructor(
    private readonly requestTimeoutMs: number,
    private readonly clock: Clock,
  ) {}

  serve(subject: string, handler: (data: Uint8Array, headers: Headers) => Promise<Reply>): Subscription {
    const responder: Responder = { handler, running: new Set() };
    this.#responders.set(subject, [...(this.#responders.get(subject) ?? []), responder]);
    let drained: Promise<void> | undefined;
    return {
      drain: () => {
        drained ??= (async () => {
          const rest = (this.#responders.get(subject) ?? []).filter((r) => r !== responder);
          if (rest.length > 0) this.#responders.set(subject, rest);
          else this.#responders.delete(subject);
          await Promise.allSettled([...responder.running]);
        })();
        return drained;
      },
    };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Reply> {
    const responder = this.#nextResponder(subject);
    if (options.signal?.aborted) throw abortError(options.signal, subject);
    const handled = this.#handle(responder, data, Object.freeze({ ...options.headers }));

    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    let reject: (err: LoupeError) => void = () => {};
    const early = new Promise<never>((_, fail) => {
      reject = fail;
    });
    const timer = this.clock.setTimeout(() => reject(replyTimeout(subject, timeoutMs)), timeoutMs);
    const onAbort = (): void => reject(abortError(options.signal as AbortSignal, subject));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.add(reject);
    try {
      return throwIfError(await Promise.race([handled, early]));
    } finally {
      this.clock.clearTimeout(timer);
      this.#pending.delete(reject);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Handlers still answering, for close() to wait on. */
  running(): Promise<unknown>[] {
    return [...this.#responders.values()].flatMap((list) => list.flatMap((r) => [...r.running]));
  }

  /** Fails every request still waiting, with `err`. */
  rejectPending(err: () => LoupeError): void {
    for (const reject of this.#pending) reject(err());
  }

  #nextResponder(subject: string): Responder {
    const candidates = this.#responders.get(subject) ?? [];
    if (candidates.length === 0) throw noResponder(subject);
    const turn = this.#turn.get(subject) ?? 0;
    this.#turn.set(subject, turn + 1);
    return candidates[turn % candidates.length] as Responder;
  }

  #handle(responder: Responder, data: Uint8Array, headers: Headers): Promise<Reply> {
    const handled = (async () => {
      // Never inside request(): the responder runs after the requester is waiting, as over a network.
      await null;
      try {
        return await responder.handler(data, headers);
      } catch (err) {
        return replyError(err);
      }
    })();
    responder.running.add(handled);
    void handled.finally(() => responder.running.delete(handled));
    return handled;
  }
}
