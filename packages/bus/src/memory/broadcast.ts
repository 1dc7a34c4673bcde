import type { Headers, Subscription } from '../bus.js';

interface Listener {
  readonly pattern: string[];
  readonly handler: (data: Uint8Array, headers: Headers) => void;
  active: boolean;
}

/** NATS subject matching: `*` matches one token, a final `>` one or more. */
function subjectMatches(pattern: readonly string[], subject: string): boolean {
  const tokens = subject.split('.');
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p === '>') return tokens.length > i;
    if (i >= tokens.length) return false;
    if (p !== '*' && p !== tokens[i]) return false;
  }
  return tokens.length === pattern.length;
}

/** `emit`/`listen`: fire-and-forget broadcasts, with NATS wildcards in `listen`. */
export class MemoryBroadcast {
  readonly #listeners = new Set<Listener>();

  constructor(private readonly onError: (err: unknown, where: string) => void) {}

  emit(subject: string, data: Uint8Array, headers: Headers): void {
    const frozen = Object.freeze({ ...headers });
    for (const listener of this.#listeners) {
      if (!subjectMatches(listener.pattern, subject)) continue;
      // Never inside emit(): a listener runs as a NATS callback would, after the emitter moves on.
      queueMicrotask(() => {
        if (!listener.active) return;
        try {
          listener.handler(data, frozen);
        } catch (err) {
          this.onError(err, `listener of ${subject}`);
        }
      });
    }
  }

  listen(subject: string, handler: (data: Uint8Array, headers: Headers) => void): Subscription {
    const listener: Listener = { pattern: subject.split('.'), handler, active: true };
    this.#listeners.add(listener);
    return {
      drain: async () => {
        listener.active = false;
        this.#listeners.delete(listener);
      },
    };
  }

  clear(): void {
    this.#listeners.clear();
  }
}
