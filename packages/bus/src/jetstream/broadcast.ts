import type { NatsConnection, Subscription as NatsSubscription } from 'nats';
import type { Headers, Subscription } from '../bus.js';
import { toNatsHeaders, userHeaders, wrapNatsError } from './names.js';

/** `emit`/`listen` over core NATS: at most once, to whoever listens now. */
export class JetStreamBroadcast {
  readonly #listeners = new Set<NatsSubscription>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly onError: (err: unknown, where: string) => void,
  ) {}

  emit(subject: string, data: Uint8Array, headers: Headers): void {
    const h = toNatsHeaders(headers);
    try {
      this.nc.publish(subject, data, h ? { headers: h } : undefined);
    } catch (err) {
      throw wrapNatsError(err, `emitting on ${subject}`);
    }
  }

  listen(subject: string, handler: (data: Uint8Array, headers: Headers) => void): Subscription {
    let sub: NatsSubscription;
    try {
      sub = this.nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err) return this.onError(err, `listener of ${subject}`);
          try {
            handler(msg.data, userHeaders(msg.headers));
          } catch (thrown) {
            this.onError(thrown, `listener of ${msg.subject}`);
          }
        },
      });
    } catch (err) {
      throw wrapNatsError(err, `listening on ${subject}`);
    }
    this.#listeners.add(sub);
    return {
      drain: async () => {
        this.#listeners.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  clear(): void {
    for (const sub of this.#listeners) if (!sub.isClosed()) sub.unsubscribe();
    this.#listeners.clear();
  }
}
