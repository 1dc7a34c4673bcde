import { exponentialBackoff } from '@loupe/contracts';

/** Statuses worth another attempt in-process: the server said "not now", not "never". */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 502, 503, 504]);

/**
 * A status that a later delivery might get past: 408 (the server timed the request out), 425 (too
 * early), 429 and the 5xx. 501 (an Image API feature the server lacks) and 505 will answer the
 * same every time, so they count as permanent like every other 4xx.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Parses `Retry-After` (delay seconds or an HTTP date) into milliseconds from `now`; undefined if absent or invalid. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date always names its weekday and month; this keeps Date.parse from reading "-5" as a year.
  if (!/^[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Exponential backoff with equal jitter: half the delay is fixed, half random, so that many clients
 * throttled at once do not come back in lockstep but none retries almost immediately either.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = exponentialBackoff(attempt + 1, baseMs, capMs);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The wait before the next attempt: the server's Retry-After when it gave one, else backoff; never above the cap. */
export function retryDelay(attempt: number, retryAfterMs: number | undefined, baseMs: number, capMs: number): number {
  if (retryAfterMs !== undefined) return Math.min(capMs, retryAfterMs);
  return backoffDelay(attempt, baseMs, capMs);
}
