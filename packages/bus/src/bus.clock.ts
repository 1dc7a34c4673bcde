/**
 * Time as the memory bus sees it, in epoch milliseconds. Tests pass ManualClock from
 * @loupe/testing, so that a window or a deadline passes when the test says, not when a
 * loaded machine gets round to it.
 */
export interface BusClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: BusClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
