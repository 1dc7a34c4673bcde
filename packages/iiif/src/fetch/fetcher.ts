import { LoupeError } from '@loupe/contracts';
import sharp from 'sharp';
import { parseJsonDocument } from '../json-document.js';
import type { ImageRequestPlan } from '../types.js';
import { type CacheEntry, DiskCache } from './disk.cache.js';
import { createEgressPolicy } from './egress.js';
import { HostGates, mapLimit } from './host-gate.js';
import { inspectImage, toRgb } from './image-check.js';
import { PixelBudget } from './pixel-budget.js';
import { createDownloader, IMAGE_WANT, JSON_WANT, parseHttpUrl, type Downloaded } from './http-download.js';
import { CACHE_KEEP_MS, FETCHER_DEFAULTS, type FetcherOptions, type ResolvedFetcherOptions } from './fetcher-options.js';
import { reportedFetch, type NoteFetched } from './fetch-report.js';
import type { DerivedImages } from '../derived-images.js';

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
  /** Images Loupe made ($LOUPE_DATA_DIR/derived), which a prepared image may name instead of the IIIF image; absent: none kept. */
  readonly derived?: DerivedImages;
}

/** What a conditional request for a stored document sends (none when its server gave neither). */
function validators(entry: CacheEntry): { etag: string | null; lastModified: string | null } | undefined {
  const { etag, lastModified } = entry.meta;
  return etag || lastModified ? { etag, lastModified } : undefined;
}

function resolveOptions(options: FetcherOptions): ResolvedFetcherOptions {
  const resolved: ResolvedFetcherOptions = { ...FETCHER_DEFAULTS, cacheDir: undefined };
  const problems: string[] = [];
  for (const [key, value] of Object.entries(options) as [keyof FetcherOptions, unknown][]) {
    if (value === undefined || key === 'egress' || key === 'log' || key === 'now') continue;
    if (!(key in FETCHER_DEFAULTS) && key !== 'cacheDir') {
      problems.push(`${key}: unknown option`);
      continue;
    }
    if (key === 'cacheDir' || key === 'userAgent') {
      if (typeof value !== 'string' || value === '') problems.push(`${key}: must be a non-empty string`);
      else (resolved as Record<string, unknown>)[key] = value;
      continue;
    }
    const mayBeZero = key === 'retries' || key === 'maxRedirects' || key === 'retryBaseMs' || key === 'minBytesPerSecond' || key === 'minRateGraceMs' || key === 'documentFreshMs';
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

/** Creates a fetcher; see {@link FetcherOptions} for the defaults. */
export function createFetcher(options: FetcherOptions = {}): Fetcher {
  const opts = resolveOptions(options);
  const egress = options.egress ?? createEgressPolicy({ denyPrivate: false, log: options.log });
  const download = createDownloader(opts, egress, new HostGates(opts.perHostConcurrency), options.log);
  const pixels = new PixelBudget(opts.pixelBudget);
  const cache =
    opts.cacheDir === undefined
      ? undefined
      : new DiskCache(opts.cacheDir, {
          budget: { maxBytes: opts.cacheMaxBytes, keepMs: CACHE_KEEP_MS },
          ...(options.now && { now: options.now }),
          onError: (err) => options.log?.warn({ dir: opts.cacheDir, err: String(err) }, 'could not sweep the fetch cache'),
        });

  async function store(key: string, got: Downloaded): Promise<void> {
    if (!cache) return;
    await cache.put(key, got.body, { finalUrl: got.url, contentType: got.contentType, etag: got.etag, lastModified: got.lastModified });
  }

  async function cached(key: string): Promise<CacheEntry | undefined> {
    return cache ? cache.get(key) : undefined;
  }

  /**
   * A document from the cache while it is fresh (documentFreshMs), else from its server: asked
   * conditionally when the stored copy has validators, so an unchanged manifest costs a 304.
   */
  async function getJson(key: string, note: NoteFetched): Promise<unknown> {
    const hit = await cached(key);
    if (hit) {
      const stale = cache!.age(hit) >= opts.documentFreshMs;
      const got = stale ? await revalidated(key, hit) : undefined;
      if (got && !got.notModified) return stored(key, got, note);
      try {
        const json = parseJsonDocument(hit.body, hit.meta.finalUrl);
        if (got) await cache!.confirmed(hit);
        note(got ? 0 : hit.body.length, !got);
        return json;
      } catch {
        await cache?.delete(key);
      }
    }
    return stored(key, await download(key, JSON_WANT(opts.maxJsonBytes)), note);
  }

  /**
   * A stale document asked for again. A transient failure (the server down, timing out, a 503)
   * keeps the stored copy for now, as it would have been used before it went stale; a permanent one
   * (404, 410, 403) is the answer: the document is gone.
   */
  async function revalidated(key: string, hit: CacheEntry): Promise<Downloaded | undefined> {
    try {
      return await download(key, JSON_WANT(opts.maxJsonBytes, validators(hit)));
    } catch (err) {
      if (!(err instanceof LoupeError && err.retryable)) throw err;
      options.log?.warn({ url: key, code: err.code }, 'could not ask again for a cached document: the stored copy is used');
      return undefined;
    }
  }

  /** A downloaded document, parsed, then kept. */
  async function stored(key: string, got: Downloaded, note: NoteFetched): Promise<unknown> {
    note(got.body.length, false);
    const json = parseJsonDocument(got.body, got.url);
    await store(key, got);
    return json;
  }

  async function getImage(key: string, note: NoteFetched): Promise<FetchedImage> {
    const hit = await cached(key);
    if (hit) {
      try {
        const facts = await inspectImage(hit.body, hit.meta.finalUrl, opts.maxPixels, pixels);
        note(hit.body.length, true);
        return { data: hit.body, ...facts, url: hit.meta.finalUrl, fromCache: true };
      } catch {
        // A damaged entry (or a lower pixel limit than when it was stored): fetch afresh.
        await cache?.delete(key);
      }
    }
    const got = await download(key, IMAGE_WANT(opts.maxImageBytes));
    note(got.body.length, false);
    const facts = await inspectImage(got.body, got.url, opts.maxPixels, pixels);
    await store(key, got);
    return { data: got.body, ...facts, url: got.url, fromCache: false };
  }

  /** Keyed by the URL as parsed, so that two spellings of one URL share a cache entry. */
  async function fetchImage(url: string): Promise<FetchedImage> {
    const parsed = parseHttpUrl(url);
    return reportedFetch('image', parsed, (note) => getImage(parsed.href, note));
  }

  async function fetchJson(url: string): Promise<unknown> {
    const parsed = parseHttpUrl(url);
    return reportedFetch('document', parsed, (note) => getJson(parsed.href, note));
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
      const image = await fetchImage(plan.url);
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
      const image = await fetchImage(tile.url);
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

  return { options: opts, pixels, getJson: fetchJson, getImage: fetchImage, getPlanned };
}

