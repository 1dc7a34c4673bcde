import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError } from '@loupe/contracts';
import type { EgressPolicy } from './egress.js';
import type { ResolvedFetcherOptions } from './fetcher-options.js';
import type { HostGates } from './host-gate.js';
import { connectionError, lowLevelCode, statusError } from './fetch-errors.js';
import { parseRetryAfter, RETRY_STATUSES, retryDelay } from './retry-policy.js';
import { TransferWatch } from './transfer-watch.js';

export interface Want {
  readonly accept: string;
  readonly maxBytes: number;
  /** Throws when the (successful) response's content type is not acceptable. */
  readonly checkType: (contentType: string | null, url: string) => void;
  /** The validators of a copy already held: the request is conditional, and a 304 answers it. */
  readonly held?: { readonly etag: string | null; readonly lastModified: string | null };
}

export interface Downloaded {
  /** The URL that answered. */
  readonly url: string;
  readonly body: Buffer;
  readonly contentType: string | null;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** The server answered 304 to a conditional request: the copy held is current, and `body` is empty. */
  readonly notModified?: true;
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

export const JSON_WANT = (maxBytes: number, held?: Want['held']): Want => ({
  accept: 'application/ld+json, application/json;q=0.9, */*;q=0.1',
  maxBytes,
  ...(held && { held }),
  checkType(contentType, url) {
    const media = mediaTypeOf(contentType);
    if (!isJsonishType(media)) {
      throw new LoupeError('LOUPE_ERR_FETCH_CONTENT_TYPE', `${url}: expected a JSON document, got content type ${media}`, {
        details: { url, contentType },
      });
    }
  },
});

export const IMAGE_WANT = (maxBytes: number): Want => ({
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

export function parseHttpUrl(url: string, from?: string): URL {
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

/**
 * Downloads one URL over http(s), hop by hop: each hop is checked by the egress policy before it
 * is connected to, waits for a slot on its host, runs under the transfer's time and rate limits,
 * and is retried on 408/425/429/502/503/504 and network errors; redirects are followed up to the
 * limit. Permanent failures (no such host, a bad certificate, 401/403/404/410) are not retried.
 */
export function createDownloader(
  opts: ResolvedFetcherOptions,
  egress: EgressPolicy,
  gates: HostGates,
  log: { warn(obj: object, msg: string): void } | undefined,
): (url: string, want: Want) => Promise<Downloaded> {
  /** A failed connection, named by cause where the cause is permanent (see connectionError); the errno goes to the log. */
  function couldNotFetch(url: URL, err: unknown): LoupeError {
    const reason = lowLevelCode(err) ?? (err as { cause?: Error }).cause?.message ?? (err as Error).message ?? String(err);
    log?.warn({ url: url.href, cause: reason }, 'fetch failed');
    return connectionError(url.href, url.hostname, err);
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
          headers: { accept: want.accept, 'user-agent': opts.userAgent, ...conditionalHeaders(want.held) },
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

  /** One hop with its retries: the RETRY_STATUSES and transient network errors wait and try again. */
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
      throw statusError(url.href, status, attempt + 1, retryAfterMs);
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
      if (answer.status === 304 && want.held) {
        const { etag, lastModified } = want.held;
        return { url: current.href, body: Buffer.alloc(0), contentType: null, etag: answer.headers.get('etag') ?? etag, lastModified: answer.headers.get('last-modified') ?? lastModified, notModified: true };
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

  return download;
}

/** If-None-Match and If-Modified-Since from a held copy's validators (RFC 9110, 13.1). */
function conditionalHeaders(held: Want['held']): Record<string, string> {
  return {
    ...(held?.etag && { 'if-none-match': held.etag }),
    ...(held?.lastModified && { 'if-modified-since': held.lastModified }),
  };
}

function tooLarge(url: string, maxBytes: number, why: string): LoupeError {
  return new LoupeError('LOUPE_ERR_FETCH_TOO_LARGE', `${url}: larger than the limit of ${maxBytes} bytes (${why})`, {
    details: { url, maxBytes },
  });
}
