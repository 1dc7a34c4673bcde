import { LoupeError } from '@loupe/contracts';

export interface TransferLimits {
  /** From the start until the response headers. */
  readonly timeoutMs: number;
  /** Longest silence between two body chunks. */
  readonly bodyTimeoutMs: number;
  /** The whole exchange: connect, headers and body together. */
  readonly deadlineMs: number;
  /** Slowest average body rate accepted once `minRateGraceMs` have passed since the headers; 0 = no check. */
  readonly minBytesPerSecond: number;
  readonly minRateGraceMs: number;
}

type Breach = 'headers' | 'gap' | 'deadline' | 'rate';

/**
 * Aborts one HTTP exchange that breaks a time limit, and says which. A gap limit alone lets a
 * server trickle one byte just inside it forever; the deadline bounds the whole exchange and the
 * rate check ends a crawl long before the deadline does. The rate timer is set for the moment the
 * average would fall below the minimum, so a silent server is caught without polling.
 */
export class TransferWatch {
  readonly #controller = new AbortController();
  readonly #limits: TransferLimits;
  readonly #url: string;
  readonly #deadline: NodeJS.Timeout;
  #phase: NodeJS.Timeout | undefined;
  #rate: NodeJS.Timeout | undefined;
  #bodyStart = 0;
  #received = 0;
  breach: Breach | undefined;

  constructor(url: string, limits: TransferLimits) {
    this.#url = url;
    this.#limits = limits;
    this.#deadline = setTimeout(() => this.#abort('deadline'), limits.deadlineMs);
    this.#phase = setTimeout(() => this.#abort('headers'), limits.timeoutMs);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The response headers arrived: the body's limits start now. */
  headers(): void {
    this.#bodyStart = performance.now();
    this.#received = 0;
    this.#armGap();
    this.#armRate();
  }

  /** A body chunk arrived. */
  bytes(count: number): void {
    this.#received += count;
    this.#armGap();
    this.#armRate();
  }

  /** Drops the connection (a status that needs no body, a limit passed). */
  abort(): void {
    this.#controller.abort();
  }

  stop(): void {
    clearTimeout(this.#deadline);
    clearTimeout(this.#phase);
    clearTimeout(this.#rate);
  }

  /** The LoupeError for the breached limit. */
  error(): LoupeError {
    const { timeoutMs, bodyTimeoutMs, deadlineMs, minBytesPerSecond } = this.#limits;
    const why = {
      headers: `no response within ${timeoutMs} ms`,
      gap: `the body stalled for more than ${bodyTimeoutMs} ms`,
      deadline: `not complete within ${deadlineMs} ms`,
      rate: `the body arrived slower than ${minBytesPerSecond} bytes per second`,
    }[this.breach ?? 'deadline'];
    return new LoupeError('LOUPE_ERR_FETCH_TIMEOUT', `${this.#url}: ${why}`, { details: { url: this.#url } });
  }

  #abort(breach: Breach): void {
    this.breach ??= breach;
    this.#controller.abort();
  }

  #armGap(): void {
    clearTimeout(this.#phase);
    this.#phase = setTimeout(() => this.#abort('gap'), this.#limits.bodyTimeoutMs);
  }

  #armRate(): void {
    const { minBytesPerSecond, minRateGraceMs } = this.#limits;
    if (minBytesPerSecond <= 0) return;
    clearTimeout(this.#rate);
    // The average is received / elapsed; it drops below the minimum at received / minimum seconds.
    const dueAt = this.#bodyStart + Math.max(minRateGraceMs, (this.#received / minBytesPerSecond) * 1000);
    this.#rate = setTimeout(() => this.#abort('rate'), Math.max(0, dueAt - performance.now()));
  }
}
