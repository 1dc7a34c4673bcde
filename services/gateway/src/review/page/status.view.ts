// The status line: every outcome and every error is announced here.
import { $ } from './dom.helpers.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function say(message: string): void {
  const status = $('status');
  status.classList.remove('error');
  status.textContent = message;
}

export function fail(err: unknown): void {
  const status = $('status');
  status.classList.add('error');
  if (err instanceof ApiError) status.textContent = 'Error ' + err.code + ': ' + err.message;
  else status.textContent = 'Error: ' + messageOf(err);
}

export function messageOf(err: unknown): string {
  const message = err && typeof err === 'object' && 'message' in err ? err.message : undefined;
  return message ? String(message) : String(err);
}

/** Runs an async action from an event; its failure is shown, never lost. */
export function run(action: () => unknown): void {
  Promise.resolve()
    .then(action)
    .catch(fail);
}
