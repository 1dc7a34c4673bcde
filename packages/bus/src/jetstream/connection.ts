import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError } from '@loupe/contracts';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection, type StreamConfig } from 'nats';
import { exponentialBackoff } from '../retry-backoff.js';
import { API, apiCode, isTransient, wrapNatsError } from './names.js';
import { wakeableDelay } from './wakeable-delay.js';


export interface ConnectionOptions {
  readonly url: string;
  readonly name?: string;
  readonly maxReconnectAttempts?: number;
  readonly outageBudgetMs: number;
}

/**
 * The one NATS connection every part of the adapter shares, and how it rides out an outage.
 *
 * nats.js v2 discards what it buffered while disconnected (it resets its outbound buffer on
 * reconnect): a request made across an outage is never answered and could only time out. So an
 * attempt in flight when the connection drops is abandoned, and retried once it is back.
 */
export class JetStreamConnection {
  #connected = true;
  readonly #onDisconnect = new Set<() => void>();
  readonly #onReconnect = new Set<() => void>();

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly js: JetStreamClient,
    private readonly outageBudgetMs: number,
  ) {}

  static async open(opts: ConnectionOptions): Promise<JetStreamConnection> {
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
    return new JetStreamConnection(nc, jsm, nc.jetstream(), opts.outageBudgetMs);
  }

  /** Follows the connection's status until it closes; `reconnected` runs after every reconnect. */
  watch(reconnected: () => void): void {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') {
          this.#connected = false;
          for (const abandon of [...this.#onDisconnect]) abandon();
        }
        if (status.type !== 'reconnect') continue;
        this.#connected = true;
        for (const resume of [...this.#onReconnect]) resume();
        reconnected();
      }
    })().catch(() => {});
  }

  /** Runs `op` again while the server is unreachable, for at most outageBudgetMs. */
  async resilient<T>(what: string, op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.outageBudgetMs;
    for (let attempt = 1; ; attempt++) {
      if (!this.#connected && !this.nc.isClosed()) await this.#untilReconnected(deadline);
      let abandon = (): void => {};
      const dropped = new Promise<never>((_, reject) => {
        abandon = () => reject(Object.assign(new Error('the connection to NATS dropped'), { code: 'DISCONNECT' }));
      });
      this.#onDisconnect.add(abandon);
      try {
        return await Promise.race([op(), dropped]);
      } catch (err) {
        if (!isTransient(err) || Date.now() >= deadline || this.nc.isClosed()) throw wrapNatsError(err, what);
        if (this.#connected) await sleep(exponentialBackoff(attempt, 100, 2_000));
      } finally {
        this.#onDisconnect.delete(abandon);
      }
    }
  }

  /** Creates the stream, or accepts one that exists with the same subjects (another process, an older configuration). */
  async ensureStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }): Promise<void> {
    try {
      await this.jsm.streams.add(config);
    } catch (err) {
      if (apiCode(err) !== API.streamNameInUse) throw err;
      const info = await this.jsm.streams.info(config.name);
      if (!config.subjects.every((s) => info.config.subjects?.includes(s))) {
        throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `stream ${config.name} exists for other subjects (${info.config.subjects?.join(', ')})`, {
          details: { stream: config.name, subjects: config.subjects },
        });
      }
    }
  }

  #untilReconnected(deadline: number): Promise<void> {
    const { done, wake } = wakeableDelay(Math.max(0, deadline - Date.now()), this.#onReconnect);
    void this.nc.closed().then(wake);
    return done;
  }
}
