/**
 * Waits `ms`, or less when something calls the waker this puts in `wakers` (a reconnect, a drain).
 * The timer is cleared either way, so that a waiting slot never holds a closing process open.
 */
export function wakeableDelay(ms: number, wakers: Set<() => void>): { done: Promise<void>; wake: () => void } {
  let wake = (): void => {};
  const done = new Promise<void>((resolve) => {
    wake = () => {
      clearTimeout(timer);
      wakers.delete(wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    wakers.add(wake);
  });
  return { done, wake };
}
