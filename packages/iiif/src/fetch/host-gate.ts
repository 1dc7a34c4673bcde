/**
 * A counting semaphore per host (host:port), so that one slow or rate-limiting server never gets
 * more than `limit` requests from this process at once, while other hosts proceed independently.
 */
export class HostGates {
  readonly #limit: number;
  readonly #gates = new Map<string, { active: number; waiting: (() => void)[] }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Waits for a slot on the host and returns the function that gives it back (call it exactly once). */
  async acquire(host: string): Promise<() => void> {
    let gate = this.#gates.get(host);
    if (!gate) {
      gate = { active: 0, waiting: [] };
      this.#gates.set(host, gate);
    }
    if (gate.active < this.#limit) {
      gate.active++;
    } else {
      const g = gate;
      // The releasing request hands its slot straight over, so `active` stays counted.
      await new Promise<void>((resolve) => g.waiting.push(resolve));
    }
    const g = gate;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = g.waiting.shift();
      if (next) {
        next();
        return;
      }
      g.active--;
      if (g.active === 0) this.#gates.delete(host);
    };
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; after the first failure starts nothing new and rejects with it. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // Every worker is awaited, so nothing is still running when the caller sees the error.
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
