/**
 * Time as a component sees it: now, and timers. Components that wait (a de-duplication window, a
 * batch deadline) take one, so tests pass ManualClock from @loupe/testing and a window passes when
 * the test says, not when a loaded machine gets round to it.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock in epoch milliseconds: for what is compared with dates (message timestamps). */
export const wallClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The real clock from an arbitrary origin, never stepped back: for deadlines and waits. */
export const monotonicClock: Clock = { ...wallClock, now: () => performance.now() };
