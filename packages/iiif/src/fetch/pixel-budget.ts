import { LoupeError } from '@loupe/contracts';

/**
 * A semaphore on decoded pixels: the images one process decodes at once never add up to more than
 * `limit` pixels, so that several near-limit images arriving together wait their turn instead of
 * exhausting memory (a 99 Mpx PNG can be a few hundred kilobytes on the wire). Waiters are served
 * in arrival order, so a large image is not starved by a stream of small ones. An image larger
 * than the whole budget still runs, alone.
 */
export class PixelBudget {
  readonly limit: number;
  #inUse = 0;
  #peak = 0;
  readonly #waiting: { pixels: number; grant: () => void }[] = [];

  constructor(limit: number) {
    if (!Number.isFinite(limit) || limit < 1) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `pixel budget: must be a positive number, got ${limit}`);
    this.limit = limit;
  }

  /** Pixels held now by decodes in progress. */
  get inUse(): number {
    return this.#inUse;
  }

  /** The most pixels ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Runs `work` while holding `pixels` of the budget, waiting for room first. */
  async hold<T>(pixels: number, work: () => Promise<T>): Promise<T> {
    // Charged at most the whole budget: an oversize image waits for an empty budget and runs alone.
    const charge = Math.min(Math.max(1, Math.ceil(pixels)), this.limit);
    if (this.#waiting.length > 0 || this.#inUse + charge > this.limit) {
      await new Promise<void>((grant) => this.#waiting.push({ pixels: charge, grant }));
    } else {
      this.#take(charge);
    }
    try {
      return await work();
    } finally {
      this.#inUse -= charge;
      this.#admit();
    }
  }

  #take(charge: number): void {
    this.#inUse += charge;
    this.#peak = Math.max(this.#peak, this.#inUse);
  }

  #admit(): void {
    while (this.#waiting.length > 0 && this.#inUse + this.#waiting[0]!.pixels <= this.limit) {
      const next = this.#waiting.shift()!;
      this.#take(next.pixels);
      next.grant();
    }
  }
}
