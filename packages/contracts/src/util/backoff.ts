/**
 * The one retry backoff: `baseMs` before the first retry, doubling with each attempt, never more
 * than `maxMs`. `attempt` counts from 1. Callers that retry together (tasks failed by one outage,
 * clients throttled at once) spread it with `jittered` so they do not come back in lockstep.
 */
export function exponentialBackoff(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** (attempt - 1), maxMs);
}

/** `ms` spread uniformly by ±`spread` of itself (0.25: between 0.75 and 1.25 times). */
export function jittered(ms: number, spread = 0.25, random: () => number = Math.random): number {
  return ms * (1 - spread + random() * 2 * spread);
}
