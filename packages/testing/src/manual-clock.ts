/** A clock that moves only when a test says, firing the timers that fall due (e.g. a batcher's wait). */
export class ManualClock {
  time = 0;
  #timers: { at: number; fn: () => void }[] = [];
  now = (): number => this.time;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const timer = { at: this.time + ms, fn };
    this.#timers.push(timer);
    return timer;
  };
  clearTimeout = (handle: unknown): void => {
    this.#timers = this.#timers.filter((timer) => timer !== handle);
  };
  advance(ms: number): void {
    this.time += ms;
    const due = this.#timers.filter((timer) => timer.at <= this.time);
    this.#timers = this.#timers.filter((timer) => timer.at > this.time);
    for (const timer of due) timer.fn();
  }
}

/** Lets queued promise callbacks and immediates run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
