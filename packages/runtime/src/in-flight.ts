/** Counts handlers running, so shutdown can wait for them whatever the transport (inject included). */
export interface InFlight {
  enter(): void;
  leave(): void;
  idle(): Promise<void>;
}

export function inFlightCounter(): InFlight {
  let running = 0;
  let waiters: (() => void)[] = [];
  return {
    enter() {
      running++;
    },
    leave() {
      running--;
      if (running === 0) {
        for (const resolve of waiters) resolve();
        waiters = [];
      }
    },
    idle() {
      return running === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

