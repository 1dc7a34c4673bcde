/**
 * The one backoff of the bus: `baseMs` before the first retry, doubling with each attempt,
 * never more than `maxMs`. `attempt` counts from 1.
 */
export function exponentialBackoff(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** (attempt - 1), maxMs);
}

/** Redelivery delay after a queue handler throws, by the delivery that failed: 0.5 s, 1 s, 2 s, ... 30 s. */
export const defaultRetryDelayMs = (deliveryCount: number): number => exponentialBackoff(deliveryCount, 500, 30_000);
