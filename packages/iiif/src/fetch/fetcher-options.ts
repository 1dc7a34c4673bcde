import type { Logger } from '@loupe/contracts';
import type { EgressPolicy } from './egress.js';

const MiB = 1024 * 1024;

/**
 * How the fetcher talks to remote servers. Every option has a default; only the process entry
 * should decide other values (from its validated configuration).
 *
 * | Option               | Default        | Meaning |
 * |----------------------|----------------|---------|
 * | `timeoutMs`          | 15000          | Connect + response headers, per attempt. A timeout is not retried here (see below). |
 * | `bodyTimeoutMs`      | 30000          | Longest silence between two body chunks. |
 * | `deadlineMs`         | 120000         | The whole exchange (connect, headers, body), per attempt, whatever the server trickles. |
 * | `minBytesPerSecond`  | 4096           | Slowest average body rate once `minRateGraceMs` have passed since the headers; 0 turns it off. |
 * | `minRateGraceMs`     | 5000           | How long a body may start slowly before the rate counts. |
 * | `pixelBudget`        | 250 000 000    | Decoded pixels in flight in this fetcher at once (see {@link PixelBudget}). |
 * | `maxImageBytes`      | 50 MiB         | Largest image body; checked on Content-Length, then while streaming. |
 * | `maxJsonBytes`       | 20 MiB         | Largest JSON body (manifest, collection, info.json). |
 * | `maxPixels`          | 100 000 000    | Largest decoded image (width x height), checked from the header before decoding. |
 * | `maxRedirects`       | 5              | Redirect hops followed (301, 302, 303, 307, 308), each checked for http(s). |
 * | `retries`            | 3              | Further attempts after a 408, 425, 429, 502, 503, 504 or a transient network error (never after a host that does not exist, a bad certificate or another 4xx). |
 * | `retryBaseMs`        | 500            | First backoff; doubles per attempt, with jitter. |
 * | `maxRetryDelayMs`    | 60000          | Cap on one wait, `Retry-After` (seconds or HTTP date) included. |
 * | `perHostConcurrency` | 4              | Requests in flight at once to one server: its resolved address and port, however the URL spells it. |
 * | `tileConcurrency`    | 8              | Tiles of one plan fetched at once (the host limit still applies). |
 * | `cacheDir`           | none           | On-disk cache. An image hit makes no request: IIIF image URLs name fixed content. A document (manifest, collection, info.json) is used as stored for `documentFreshMs`, then asked for again, conditionally when its server gave an ETag or Last-Modified (a 304 keeps the stored copy): a library edits its manifests. |
 * | `documentFreshMs`    | 300000         | How long a cached document is used without asking its server; 0 asks every time. |
 * | `cacheMaxBytes`      | 10 GiB         | What the cache folder may hold; past it the entries least recently used go (never one used in the last ten minutes). |
 * | `userAgent`          | `Loupe/0.1 (+https://github.com/loupe-iiif/loupe)` | Sent on every request. |
 * | `egress`             | allow all      | The {@link EgressPolicy} every request and redirect hop passes. Without one nothing is refused: fine for a library on a person's machine, never for a server (the servers always pass `createEgressPolicy(config.egress)`). |
 * | `log`                | none           | Where the low-level cause of a network failure goes; callers only see "could not fetch <url>" (and, for the permanent causes, no such host or a bad certificate). |
 *
 * A timeout fails the call at once rather than being retried here: a server that hangs tends to
 * keep hanging, and a work queue's redelivery (LOUPE_ERR_FETCH_TIMEOUT is retryable) spaces the
 * next try far better than four back-to-back waits would.
 */
export interface FetcherOptions {
  readonly timeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  readonly maxImageBytes?: number;
  readonly maxJsonBytes?: number;
  readonly maxPixels?: number;
  readonly maxRedirects?: number;
  readonly retries?: number;
  readonly retryBaseMs?: number;
  readonly maxRetryDelayMs?: number;
  readonly perHostConcurrency?: number;
  readonly tileConcurrency?: number;
  readonly cacheDir?: string;
  readonly documentFreshMs?: number;
  readonly cacheMaxBytes?: number;
  readonly userAgent?: string;
  readonly deadlineMs?: number;
  readonly minBytesPerSecond?: number;
  readonly minRateGraceMs?: number;
  readonly pixelBudget?: number;
  readonly egress?: EgressPolicy;
  readonly log?: Pick<Logger, 'warn'>;
  /** The clock the cache dates its entries by (milliseconds since the epoch); tests give their own. */
  readonly now?: () => number;
}

export type ResolvedFetcherOptions = Required<Omit<FetcherOptions, 'cacheDir' | 'egress' | 'log' | 'now'>> & { readonly cacheDir: string | undefined };

export const FETCHER_DEFAULTS: Readonly<Omit<ResolvedFetcherOptions, 'cacheDir'>> = Object.freeze({
  timeoutMs: 15_000,
  bodyTimeoutMs: 30_000,
  maxImageBytes: 50 * MiB,
  maxJsonBytes: 20 * MiB,
  maxPixels: 100_000_000,
  maxRedirects: 5,
  retries: 3,
  retryBaseMs: 500,
  maxRetryDelayMs: 60_000,
  perHostConcurrency: 4,
  tileConcurrency: 8,
  userAgent: 'Loupe/0.1 (+https://github.com/loupe-iiif/loupe)',
  deadlineMs: 120_000,
  minBytesPerSecond: 4096,
  minRateGraceMs: 5000,
  pixelBudget: 250_000_000,
  documentFreshMs: 300_000,
  cacheMaxBytes: 10 * 1024 * MiB,
});

/** Cache entries used this recently stay whatever the budget: a job's next stage reads what its last one fetched. */
export const CACHE_KEEP_MS = 600_000;
