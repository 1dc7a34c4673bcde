import type { LoupeErrorJSON } from '@loupe/contracts';
import type { Clock } from '@loupe/contracts';
import type { DeadLetter, Headers } from '../bus.js';
import { noDeadLetter } from '../bus.errors.js';

export interface FailedMessage {
  readonly seq: number;
  readonly subject: string;
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers: Headers;
  readonly deliveries: number;
}

/** The dead letters, oldest forgotten beyond `max`, so that a poison flood cannot exhaust memory. */
export class MemoryDeadLetters {
  readonly #letters = new Map<number, DeadLetter>();

  constructor(
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  add(msg: FailedMessage, stage: string, error: LoupeErrorJSON): void {
    this.#letters.set(msg.seq, {
      seq: msg.seq,
      subject: msg.subject,
      stage,
      msgId: msg.id,
      data: msg.data,
      headers: msg.headers,
      deliveries: msg.deliveries,
      error,
      at: new Date(this.clock.now()).toISOString(),
    });
    for (const seq of this.#letters.keys()) {
      if (this.#letters.size <= this.max) break;
      this.#letters.delete(seq);
    }
  }

  count(): number {
    return this.#letters.size;
  }

  list(filter: { subject?: string }): DeadLetter[] {
    const all = [...this.#letters.values()];
    return filter.subject === undefined ? all : all.filter((d) => d.subject === filter.subject);
  }

  /** Removes the dead letter and returns it; NOT_FOUND when there is none. */
  take(seq: number): DeadLetter {
    const letter = this.#letters.get(seq);
    if (!letter) throw noDeadLetter(seq);
    this.#letters.delete(seq);
    return letter;
  }
}
