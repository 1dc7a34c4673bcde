import path from 'node:path';
import { pino } from 'pino';
import type { Logger } from '@loupe/contracts';
import { createEgressPolicy, createFetcher, openDerivedImages, type Fetcher } from '@loupe/iiif';
import type { LoupeConfig } from './config.js';
import { logSink } from './log-output.js';

/**
 * The fetcher every part of one process shares: one cache, one per-host limit, one pixel budget,
 * and the egress policy the configuration names. `log` receives what callers are not told: why an
 * address was refused, which low-level error a fetch met. Apart from the services so that the
 * commands that only read IIIF (`loupe iiif plan`, `loupe iiif harvest`) load none of them.
 */
export function fetcherFromConfig(
  config: LoupeConfig,
  log: Pick<Logger, 'warn'> = pino({ level: config.logLevel }, logSink(config)),
  opts: { readonly cache?: boolean } = {},
): Fetcher {
  const fetcher = createFetcher({
    timeoutMs: config.fetch.timeoutMs,
    deadlineMs: config.fetch.deadlineMs,
    minBytesPerSecond: config.fetch.minBytesPerSecond,
    maxImageBytes: config.fetch.maxBytes,
    maxPixels: config.fetch.maxPixels,
    pixelBudget: config.fetch.pixelBudget,
    perHostConcurrency: config.fetch.perHostConcurrency,
    retries: config.fetch.retries,
    ...(opts.cache !== false && { cacheDir: path.join(config.dataDir, 'cache'), cacheMaxBytes: config.fetch.cacheMaxBytes }),
    documentFreshMs: config.fetch.documentFreshMs,
    egress: createEgressPolicy({ ...config.egress, log }),
    log,
  });
  const derived = openDerivedImages(path.join(config.dataDir, 'derived'), {
    maxBytes: config.fetch.derivedMaxBytes,
    onError: (err) => log.warn({ err: String(err) }, 'could not sweep the derived images'),
  });
  return { ...fetcher, derived };
}
