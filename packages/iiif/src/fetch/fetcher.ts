import { LoupeError, type Logger } from '@loupe/contracts';
import sharp from 'sharp';
import { parseJsonDocument } from '../json-document.js';
import type { ImageRequestPlan } from '../types.js';
import { type CacheEntry, DiskCache } from './disk.cache.js';
import { createEgressPolicy, type EgressPolicy } from './egress.js';
import { HostGates, mapLimit } from './host-gate.js';
import { inspectImage, toRgb } from './image-check.js';
import { PixelBudget } from './pixel-budget.js';
import { isRetryableStatus, parseRetryAfter, RETRY_STATUSES, retryDelay } from './retry-policy.js';
import { TransferWatch } from './transfer-watch.js';

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
 * | `retries`            | 3              | Further attempts after a 429, 502, 503, 504 or a network error. |
 * | `retryBaseMs`        | 500            | First backoff; doubles per attempt, with jitter. |
 * | `maxRetryDelayMs`    | 60000          | Cap on one wait, `Retry-After` (seconds or HTTP date) included. |
 * | `perHostConcurrency` | 4              | Requests in flight at once to one server: its resolved address and port, however the URL spells it. |
 * | `tileConcurrency`    | 8              | Tiles of one plan fetched at once (the host limit still applies). |
 * | `cacheDir`           | none           | On-disk cache; a hit makes no request. Entries never expire: IIIF image URLs name fixed content. |
 * | `userAgent`          | `Loupe/0.1 (+https://github.com/loupe-iiif/loupe)` | Sent on every request. |
 * | `egress`             | allow all      | The {@link EgressPolicy} every request and redirect hop passes. Without one nothing is refused: fine for a library on a person's machine, never for a server (the servers always pass `createEgressPolicy(config.egress)`). |
 * | `log`                | none           | Where the low-level cause of a network failure goes; callers only see "could not fetch <url>". |
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
  readonly userAgent?: string;
  readonly deadlineMs?: number;
  readonly minBytesPerSecond?: number;
  readonly minRateGraceMs?: number;
  readonly pixelBudget?: number;
  readonly egress?: EgressPolicy;
  readonly log?: Pick<Logger, 'warn'>;
}

export type ResolvedFetcherOptions = Required<Omit<FetcherOptions, 'cacheDir' | 'egress' | 'log'>> & { readonly cacheDir: string | undefined };

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
});

/** An image as fetched: still encoded, but known to decode and to be within the pixel limit. */
export interface FetchedImage {
  /** The encoded bytes as served. */
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  /** sharp's name of the encoding: jpeg, png, webp, gif, tiff... */
  readonly format: string;
  /** The URL that answered, after redirects (for a cache hit, the one that answered then). */
  readonly url: string;
  readonly fromCache: boolean;
}

/**
 * The result of a plan, decoded: 8-bit interleaved RGB (`channels` is always 3), row-major, exactly
 * `plan.width` x `plan.height`, ready for `sharp(data, { raw: { width, height, channels } })` or a
 * tensor. Raw rather than PNG because every consumer decodes anyway and the stitched result must
 * not lose anything to a second lossy encoding. Alpha is flattened on white.
 */
export interface PlannedImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  /** True when no request was made: every part came from the cache. */
  readonly fromCache: boolean;
}

export interface Fetcher {
  readonly options: Readonly<ResolvedFetcherOptions>;
  /** The decoded-pixel budget this fetcher's decodes hold; other decodes of fetched images should hold it too. */
  readonly pixels: PixelBudget;
  /** A JSON or JSON-LD document (manifest, collection, `${serviceId}/info.json`), parsed. */
  getJson(url: string): Promise<unknown>;
  /** An image, checked: image/* content type, byte limit, pixel limit, decodes completely. */
  getImage(url: string): Promise<FetchedImage>;
  /** Runs a plan: one request, or every tile stitched; resized to the plan's size when a server answered another. */
  getPlanned(plan: ImageRequestPlan): Promise<PlannedImage>;
}

interface Want {
  readonly accept: string;
  readonly maxBytes: number;
  /** Throws when the (successful) response's content type is not acceptable. */
  readonly checkType: (contentType: string | null, url: string) => void;
}

interface Downloaded {
  /** The URL that answered. */
  readonly url: string;
  readonly body: Buffer;
  readonly contentType: string | null;
  readonly etag: string | null;
  readonly lastModified: string | null;
}

interface Answer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** Read only for 2xx. */
  readonly body?: Buffer;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Media types a JSON document may come with: IIIF servers are often sloppy, HTML never is JSON. */
function isJsonishType(mediaType: string | null): boolean {
  if (mediaType === null || mediaType === '') return true;
  return (
    mediaType === 'application/json' ||
    mediaType === 'application/ld+json' ||
    mediaType.endsWith('+json') ||
    mediaType === 'text/json' ||
    mediaType === 'text/plain' ||
    mediaType === 'application/octet-stream'
  );
}

function mediaTypeOf(contentType: string | null): string | null {
  if (contentType === null) return null;
  return contentType.split(';')[0]!.trim().toLowerCase();
}

const JSON_WANT = (maxBytes: number): Want => ({
  accept: 'application/ld+json, application/json;q=0.9, */*;q=0.1',
  maxBytes,
  checkType(contentType, url) {
    const media = mediaTypeOf(contentType);
    if (!isJsonishType(media)) {
      throw new LoupeError('LOUPE_ERR_FETCH_CONTENT_TYPE', `${url}: expected a JSON document, got content type ${media}`, {
        details: { url, contentType },
      });
    }
  },
});

const IMAGE_WANT = (maxBytes: number): Want => ({
  accept: 'image/*;q=0.9, */*;q=0.1',
  maxBytes,
  checkType(contentType, url) {
    const media = mediaTypeOf(contentType);
    if (media === null || !media.startsWith('image/')) {
      throw new LoupeError('LOUPE_ERR_FETCH_CONTENT_TYPE', `${url}: expected an image, got content type ${media ?? '(none)'}`, {
        details: { url, contentType },
      });
    }
  },
});

function resolveOptions(options: FetcherOptions): ResolvedFetcherOptions {
  const resolved: ResolvedFetcherOptions = { ...FETCHER_DEFAULTS, cacheDir: undefined };
  const problems: string[] = [];
  for (const [key, value] of Object.entries(options) as [keyof FetcherOptions, unknown][]) {
    if (value === undefined || key === 'egress' || key === 'log') continue;
    if (!(key in FETCHER_DEFAULTS) && key !== 'cacheDir') {
      problems.push(`${key}: unknown option`);
      continue;
    }
    if (key === 'cacheDir' || key === 'userAgent') {
      if (typeof value !== 'string' || value === '') problems.push(`${key}: must be a non-empty string`);
      else (resolved as Record<string, unknown>)[key] = value;
      continue;
    }
    const mayBeZero = key === 'retries' || key === 'maxRedirects' || key === 'retryBaseMs' || key === 'minBytesPerSecond' || key === 'minRateGraceMs';
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!mayBeZero && value === 0)) {
      problems.push(`${key}: must be a ${mayBeZero ? 'non-negative' : 'positive'} number, got ${String(value)}`);
    } else if ((key === 'perHostConcurrency' || key === 'tileConcurrency' || key === 'retries' || key === 'maxRedirects') && !Number.isInteger(value)) {
      problems.push(`${key}: must be an integer, got ${value}`);
    } else {
      (resolved as Record<string, unknown>)[key] = value;
    }
  }
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `Invalid fetcher options: ${problems.join('; ')}`, { details: { problems } });
  }
  return Object.freeze(resolved);
}

function parseHttpUrl(url: string, from?: string): URL {
  let parsed: URL;
  try {
    parsed = from === undefined ? new URL(url) : new URL(url, from);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${from === undefined ? url : `${from}: redirect to ${url}`}: not a valid URL`, {
      cause: err,
      details: { url: from ?? url },
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    const code = from === undefined ? 'LOUPE_ERR_VALIDATION' : 'LOUPE_ERR_FETCH_REDIRECTS';
    throw new LoupeError(code, `${from === undefined ? url : `${from}: redirect to ${parsed.href}`}: only http and https URLs are fetched`, {
      details: { url: from ?? url },
    });
  }
  return parsed;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The low-level reason (ECONNREFUSED, ENOTFOUND...), for the log only. */
function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

/** Creates a fetcher; see {@link FetcherOptions} for the defaults. */
export function createFetcher(options: FetcherOptions = {}): Fetcher {
  const opts = resolveOptions(options);
  const egress = options.egress ?? createEgressPolicy({ denyPrivate: false, log: options.log });
  const gates = new HostGates(opts.perHostConcurrency);
  const pixels = new PixelBudget(opts.pixelBudget);
  const cache = opts.cacheDir === undefined ? undefined : new DiskCache(opts.cacheDir);

  /**
   * What outside callers learn of a failed connection: that it failed. Refused, reset, unknown
   * host and unreachable all read alike, so a job's error cannot map someone's network; the
   * cause goes to the log.
   */
  function couldNotFetch(url: URL, err: unknown): LoupeError {
    options.log?.warn({ url: url.href, cause: describeNetworkError(err) }, 'fetch failed');
    return new LoupeError('LOUPE_ERR_FETCH_NETWORK', `could not fetch ${url.href}`, { cause: err, details: { url: url.href } });
  }

  /**
   * One HTTP exchange (one hop, one attempt): the egress check first, so a refused address is
   * never connected to, then a slot on the server, then the request under its time limits.
   */
  async function exchange(url: URL, want: Want): Promise<Answer> {
    const lease = await egress.admit(url);
    try {
      const release = await gates.acquire(lease.key);
      try {
        return await request(url, want);
      } finally {
        release();
      }
    } finally {
      lease.release();
    }
  }

  async function request(url: URL, want: Want): Promise<Answer> {
    const watch = new TransferWatch(url.href, opts);
    try {
      let response: Awaited<ReturnType<EgressPolicy['fetch']>>;
      try {
        response = await egress.fetch(url, {
          redirect: 'manual',
          signal: watch.signal,
          headers: { accept: want.accept, 'user-agent': opts.userAgent },
        });
      } catch (err) {
        if (watch.breach) throw watch.error();
        if (err instanceof LoupeError) throw err;
        throw couldNotFetch(url, err);
      }
      watch.headers();
      if (response.status < 200 || response.status >= 300) {
        // Only the status and headers matter; dropping the body frees the connection now.
        watch.abort();
        return { status: response.status, headers: response.headers };
      }
      try {
        want.checkType(response.headers.get('content-type'), url.href);
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        if (declared > want.maxBytes) throw tooLarge(url.href, want.maxBytes, `Content-Length is ${declared} bytes`);
      } catch (err) {
        watch.abort();
        throw err;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      const reader = response.body?.getReader();
      if (reader) {
        for (;;) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (err) {
            if (watch.breach) throw watch.error();
            throw couldNotFetch(url, err);
          }
          if (chunk.done) break;
          watch.bytes(chunk.value.byteLength);
          total += chunk.value.byteLength;
          if (total > want.maxBytes) {
            watch.abort();
            throw tooLarge(url.href, want.maxBytes, 'the body passed the limit while streaming');
          }
          chunks.push(Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength));
        }
      }
      return { status: response.status, headers: response.headers, body: Buffer.concat(chunks, total) };
    } finally {
      watch.stop();
    }
  }

  /** One hop with its retries: 429/502/503/504 and network errors wait and try again. */
  async function exchangeWithRetries(url: URL, want: Want): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      let answer: Answer;
      try {
        answer = await exchange(url, want);
      } catch (err) {
        if (err instanceof LoupeError && err.code === 'LOUPE_ERR_FETCH_NETWORK' && attempt < opts.retries) {
          await sleep(retryDelay(attempt, undefined, opts.retryBaseMs, opts.maxRetryDelayMs));
          continue;
        }
        throw err;
      }
      const { status } = answer;
      if (status < 400) return answer;
      const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
      if (RETRY_STATUSES.has(status) && attempt < opts.retries) {
        await sleep(retryDelay(attempt, retryAfterMs, opts.retryBaseMs, opts.maxRetryDelayMs));
        continue;
      }
      const attempts = attempt + 1;
      if (isRetryableStatus(status)) {
        throw new LoupeError('LOUPE_ERR_FETCH_HTTP_RETRYABLE', `${url.href}: HTTP ${status} after ${attempts} attempt${attempts === 1 ? '' : 's'}`, {
          details: { url: url.href, status, attempts, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
        });
      }
      throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `${url.href}: HTTP ${status}`, { details: { url: url.href, status } });
    }
  }

  async function download(url: string, want: Want): Promise<Downloaded> {
    let current = parseHttpUrl(url);
    for (let hop = 0; ; hop++) {
      const answer = await exchangeWithRetries(current, want);
      if (REDIRECT_STATUSES.has(answer.status)) {
        const location = answer.headers.get('location');
        if (location === null) {
          throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `${current.href}: HTTP ${answer.status} redirect without a Location`, {
            details: { url: current.href, status: answer.status },
          });
        }
        if (hop >= opts.maxRedirects) {
          throw new LoupeError('LOUPE_ERR_FETCH_REDIRECTS', `${url}: more than ${opts.maxRedirects} redirects (last to ${new URL(location, current).href})`, {
            details: { url, status: answer.status },
          });
        }
        current = parseHttpUrl(location, current.href);
        continue;
      }
      if (answer.body === undefined) {
        // 1xx/3xx other than the redirects above: nothing usable came back.
        throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `${current.href}: unexpected HTTP ${answer.status}`, {
          details: { url: current.href, status: answer.status },
        });
      }
      return {
        url: current.href,
        body: answer.body,
        contentType: answer.headers.get('content-type'),
        etag: answer.headers.get('etag'),
        lastModified: answer.headers.get('last-modified'),
      };
    }
  }

  async function store(key: string, got: Downloaded): Promise<void> {
    if (!cache) return;
    await cache.put(key, got.body, { finalUrl: got.url, contentType: got.contentType, etag: got.etag, lastModified: got.lastModified });
  }

  async function cached(key: string): Promise<CacheEntry | undefined> {
    return cache ? cache.get(key) : undefined;
  }

  async function getJson(url: string): Promise<unknown> {
    const key = parseHttpUrl(url).href;
    const hit = await cached(key);
    if (hit) {
      try {
        return parseJsonDocument(hit.body, hit.meta.finalUrl);
      } catch {
        await cache?.delete(key);
      }
    }
    const got = await download(key, JSON_WANT(opts.maxJsonBytes));
    const json = parseJsonDocument(got.body, got.url);
    await store(key, got);
    return json;
  }

  async function getImage(url: string): Promise<FetchedImage> {
    const key = parseHttpUrl(url).href;
    const hit = await cached(key);
    if (hit) {
      try {
        const facts = await inspectImage(hit.body, hit.meta.finalUrl, opts.maxPixels, pixels);
        return { data: hit.body, ...facts, url: hit.meta.finalUrl, fromCache: true };
      } catch {
        // A damaged entry (or a lower pixel limit than when it was stored): fetch afresh.
        await cache?.delete(key);
      }
    }
    const got = await download(key, IMAGE_WANT(opts.maxImageBytes));
    const facts = await inspectImage(got.body, got.url, opts.maxPixels, pixels);
    await store(key, got);
    return { data: got.body, ...facts, url: got.url, fromCache: false };
  }

  async function getPlanned(plan: ImageRequestPlan): Promise<PlannedImage> {
    const { width, height } = plan;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `Invalid plan: result size ${width}x${height}`, { details: { plan } });
    }
    if (width * height > opts.maxPixels) {
      throw new LoupeError('LOUPE_ERR_IMAGE_TOO_MANY_PIXELS', `The plan's result of ${width}x${height} exceeds the limit of ${opts.maxPixels} pixels`, {
        details: { url: plan.url ?? plan.tiles?.[0]?.url, width, height, maxPixels: opts.maxPixels },
      });
    }
    if (plan.kind === 'single') {
      if (plan.url === undefined) throw new LoupeError('LOUPE_ERR_VALIDATION', 'Invalid plan: kind "single" without a url', { details: { plan } });
      const image = await getImage(plan.url);
      const data = await pixels.hold(image.width * image.height, () => toRgb(image.data, image.url, opts.maxPixels, width, height));
      return { data, width, height, channels: 3, fromCache: image.fromCache };
    }
    const tiles = plan.tiles ?? [];
    if (tiles.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'Invalid plan: kind "tiles" without tiles', { details: { plan } });
    for (const tile of tiles) {
      const whole = [tile.x, tile.y, tile.width, tile.height].every(Number.isInteger);
      if (!whole || tile.x < 0 || tile.y < 0 || tile.width < 1 || tile.height < 1 || tile.x + tile.width > width || tile.y + tile.height > height) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `Invalid plan: tile ${tile.url} at ${tile.x},${tile.y} ${tile.width}x${tile.height} lies outside ${width}x${height}`, {
          details: { url: tile.url },
        });
      }
    }
    const decoded = await mapLimit(tiles, opts.tileConcurrency, async (tile) => {
      const image = await getImage(tile.url);
      const data = await pixels.hold(image.width * image.height, () => toRgb(image.data, image.url, opts.maxPixels, tile.width, tile.height));
      return { tile, data, fromCache: image.fromCache };
    });
    const data = await pixels.hold(width * height, () =>
      sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
        .composite(decoded.map(({ tile, data: input }) => ({ input, raw: { width: tile.width, height: tile.height, channels: 3 as const }, left: tile.x, top: tile.y })))
        .removeAlpha()
        .raw()
        .toBuffer(),
    );
    return { data, width, height, channels: 3, fromCache: decoded.every((d) => d.fromCache) };
  }

  return { options: opts, pixels, getJson, getImage, getPlanned };
}

function tooLarge(url: string, maxBytes: number, why: string): LoupeError {
  return new LoupeError('LOUPE_ERR_FETCH_TOO_LARGE', `${url}: larger than the limit of ${maxBytes} bytes (${why})`, {
    details: { url, maxBytes },
  });
}
