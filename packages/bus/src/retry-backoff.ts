import { exponentialBackoff } from '@loupe/contracts';

export { exponentialBackoff };

/** Redelivery delay after a queue handler throws, by the delivery that failed: 0.5 s, 1 s, 2 s, ... 30 s. */
export const defaultRetryDelayMs = (deliveryCount: number): number => exponentialBackoff(deliveryCount, 500, 30_000);
