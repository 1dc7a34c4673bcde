import type { Logger } from '@loupe/contracts';

export interface SignalHandlerOptions {
  /** After this long the process exits with 1 even if shutdown has not finished. Default 30 s (Kubernetes' grace period). */
  readonly deadlineMs?: number;
  readonly signals?: readonly NodeJS.Signals[];
  /** How to end the process; tests replace it. */
  readonly exit?: (code: number) => void;
}

/**
 * SIGTERM / SIGINT close the app gracefully and exit 0; a failed close, the hard deadline or a
 * second signal exit 1. Returns a function that removes the handlers.
 */
export function installSignalHandlers(app: { close(): Promise<void> }, log: Pick<Logger, 'info' | 'error'>, opts: SignalHandlerOptions = {}): () => void {
  const deadlineMs = opts.deadlineMs ?? 30_000;
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      log.error({ signal }, 'second signal during shutdown: exiting now');
      exit(1);
      return;
    }
    shuttingDown = true;
    log.info({ signal, deadlineMs }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown did not finish before the deadline: exiting');
      exit(1);
    }, deadlineMs);
    deadline.unref();
    app.close().then(
      () => {
        clearTimeout(deadline);
        log.info({}, 'shut down');
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(deadline);
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
