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
