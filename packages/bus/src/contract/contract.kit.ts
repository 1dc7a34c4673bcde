import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import type { Test } from 'tap';
import type { Bus, WorkMessage } from '../bus.js';

/** Helpers of the bus contract. Timings are tens of milliseconds; guards only stop a broken adapter from hanging the suite. */

const GUARD_MS = 5_000;

/** Rejects instead of letting a broken adapter hang the suite until tap's timeout. */
export async function within<T>(promise: Promise<T>, what: string, ms = GUARD_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every `everyMs` until it gives a value, for at most `ms`. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, ms = GUARD_MS, everyMs = 5): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Collects deliveries in arrival order; the test decides how each is settled. */
export function inbox(): { handler: (msg: WorkMessage) => Promise<void>; next: (what?: string) => Promise<WorkMessage>; readonly received: WorkMessage[] } {
  const received: WorkMessage[] = [];
  const waiting: ((msg: WorkMessage) => void)[] = [];
  let taken = 0;
  return {
    received,
    async handler(msg) {
      received.push(msg);
      waiting.shift()?.(msg);
    },
    next(what = 'a delivery') {
      const index = taken++;
      const already = received[index];
      if (already) return Promise.resolve(already);
      return within(new Promise<WorkMessage>((resolve) => waiting.push(resolve)), what);
    },
  };
}

export const text = (data: Uint8Array): string => new TextDecoder().decode(data);
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const errorJSON = (code: LoupeErrorJSON['code'], message: string): LoupeErrorJSON => new LoupeError(code, message).toJSON();
/** What each group of cases needs: a fresh bus, closed when the case ends, and a subject no other case uses. */
export interface Kit {
  fresh(t: Test): Promise<Bus>;
  subject(): string;
}
