import type { Clock } from '@loupe/contracts';

/** JetStream's `duplicate_window` in one process: a msgId seen on the same subject within the window is a duplicate. */
export class DedupWindow {
  /** subject + NUL + msgId -> time first seen; insertion order is time order, so expiry prunes from the front. */
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Whether msgId was seen on subject within the window; remembers it when not. */
  isDuplicate(subject: string, msgId: string): boolean {
    const now = this.clock.now();
    for (const [key, seenAt] of this.#seen) {
      if (now - seenAt < this.windowMs) break;
      this.#seen.delete(key);
    }
    const key = `${subject}\u0000${msgId}`;
    if (this.#seen.has(key)) return true;
    this.#seen.set(key, now);
    return false;
  }
}
