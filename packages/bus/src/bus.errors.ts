import { LoupeError, type LoupeErrorJSON } from '@loupe/contracts';

/** Errors and checks both adapters report the same way, so that services cannot tell them apart. */

/** What a dead letter says when the handler gave up without an error. */
export const NO_ERROR_REPORTED: LoupeErrorJSON = new LoupeError('LOUPE_ERR_INTERNAL', 'no error reported').toJSON();

export const busClosed = (): LoupeError => new LoupeError('LOUPE_ERR_BUS_CLOSED');

export const noDeadLetter = (seq: number): LoupeError => new LoupeError('LOUPE_ERR_NOT_FOUND', `no dead letter with seq ${seq}`, { details: { seq } });

export const notAcknowledged = (ackWaitMs: number): LoupeError =>
  new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `not acknowledged within ${ackWaitMs} ms on the last delivery`);

export const noResponder = (subject: string): LoupeError =>
  new LoupeError('LOUPE_ERR_BUS_NO_RESPONDER', `no service answers ${subject}`, { details: { subject } });

export const replyTimeout = (subject: string, timeoutMs: number): LoupeError =>
  new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `no reply on ${subject} within ${timeoutMs} ms`, { details: { subject, timeoutMs } });

/** The caller's own LoupeError when it gave one as the abort reason. */
export function abortError(signal: AbortSignal, subject: string): LoupeError {
  if (signal.reason instanceof LoupeError) return signal.reason;
  return new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `request on ${subject} aborted by the caller`, { cause: signal.reason, details: { subject } });
}

export function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${what} must be a positive integer, got ${value}`);
  }
  return value;
}

export function oneDurablePerSubject(subject: string, durable: string, existing: string | readonly string[]): LoupeError {
  const names = typeof existing === 'string' ? existing : existing.join(', ');
  return new LoupeError('LOUPE_ERR_CONFIG_INVALID', `subject ${subject} is already consumed by ${names}; a work queue has one consumer per subject`, {
    details: { subject, durable, existing },
  });
}
