import type { Clock } from '@loupe/contracts';

/** Time as the memory bus sees it: epoch milliseconds (message timestamps are dates). */
export type BusClock = Clock;

export const systemClock: BusClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
