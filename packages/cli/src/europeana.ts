import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError, exponentialBackoff } from '@loupe/contracts';
import { parseRetryAfter } from '@loupe/iiif';

/**
 * A client for the Europeana Search API (record/v2/search.json), enough to harvest the items a
 * SKOS concept is attached to: cursor paging, the reusability filter, a request-rate limit, and
 * retries on 429/5xx. The API key never appears in an error message or a logged URL.
 */

export const EUROPEANA_SEARCH_URL = 'https://api.europeana.eu/record/v2/search.json';
export const EUROPEANA_KEY_PAGE = 'https://pro.europeana.eu/page/get-api';
export const REUSABILITY_VALUES = ['open', 'restricted', 'permission'] as const;
export type Reusability = (typeof REUSABILITY_VALUES)[number];
/** The Search API answers at most this many items per page. */
export const MAX_ROWS = 100;

/** One search result (the fields this harvest reads; the `standard` profile gives more). */
export interface EuropeanaItem {
  /** The record id, e.g. `/2064105/Museu_ProvidedCHO_Livrustkammaren_57155`. */
  readonly id: string;
  readonly guid?: string;
  readonly link?: string;
  readonly type?: string;
  readonly title?: readonly string[];
  readonly rights?: readonly string[];
  readonly dataProvider?: readonly string[];
  /** The full media file(s) (edm:isShownBy). */
  readonly edmIsShownBy?: readonly string[];
  readonly edmPreview?: readonly string[];
}

export interface SearchPage {
  readonly items: readonly EuropeanaItem[];
  readonly totalResults: number;
  /** Absent on the last page. */
  readonly nextCursor?: string;
}

export interface EuropeanaSettings {
  readonly apiKey: string;
  readonly endpoint: string;
  /**
   * How the key travels. The API documentation prefers the `X-Api-Key` header (a key in a URL
   * leaks through logs and shared links) and plans to retire the `wskey` parameter, which was
   * the only way until 2023; 'query' remains for mirrors and proxies that only know wskey.
   */
  readonly keyIn: 'header' | 'query';
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the Europeana settings: EUROPEANA_API_KEY (or LOUPE_EUROPEANA_API_KEY),
 * LOUPE_EUROPEANA_API_URL, LOUPE_EUROPEANA_KEY_IN. Every problem is listed in one error.
 */
export function europeanaSettingsFromEnv(env: Env): EuropeanaSettings {
  const problems: string[] = [];
  const apiKey = (env.EUROPEANA_API_KEY || env.LOUPE_EUROPEANA_API_KEY || '').trim();
  if (!apiKey) {
    problems.push(`EUROPEANA_API_KEY (or LOUPE_EUROPEANA_API_KEY): required to query the Europeana Search API; get a key at ${EUROPEANA_KEY_PAGE}`);
  }
  let endpoint = EUROPEANA_SEARCH_URL;
  const rawUrl = env.LOUPE_EUROPEANA_API_URL;
  if (rawUrl) {
    try {
      const u = new URL(rawUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      endpoint = rawUrl;
    } catch {
      problems.push(`LOUPE_EUROPEANA_API_URL=${JSON.stringify(rawUrl)}: expected the http(s) URL of search.json`);
    }
  }
  const keyIn = env.LOUPE_EUROPEANA_KEY_IN || 'header';
  if (keyIn !== 'header' && keyIn !== 'query') problems.push(`LOUPE_EUROPEANA_KEY_IN=${JSON.stringify(keyIn)}: expected header (X-Api-Key, default) or query (wskey)`);
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `Europeana settings: ${problems.join('; ')}`, { details: { problems } });
  }
  return { apiKey, endpoint, keyIn: keyIn as 'header' | 'query' };
}

/** Splits `open,permission` into checked values; duplicates collapse. */
export function parseReusability(values?: readonly string[] | string): Reusability[] {
  const raw = (typeof values === 'string' ? [values] : (values ?? ['open'])).flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase()).filter(Boolean);
  const bad = raw.filter((v) => !(REUSABILITY_VALUES as readonly string[]).includes(v));
  if (bad.length > 0 || raw.length === 0) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--reusability ${JSON.stringify(raw.join(','))}: expected one or more of ${REUSABILITY_VALUES.join(', ')} (comma-separated)`);
  }
  return [...new Set(raw as Reusability[])];
}

export interface EuropeanaClientOptions extends EuropeanaSettings {
  /** Requests started per second at most (default 2). */
  readonly ratePerSecond?: number;
  /** Retries of a request answered 429 or 5xx, or not answered at all (default 3). */
  readonly maxRetries?: number;
  /** First retry delay without Retry-After; doubles each time (default 1000 ms). */
  readonly retryBaseMs?: number;
  /** A Retry-After longer than this fails at once instead of waiting (default 120 s): a quota, not a hiccup. */
  readonly maxRetryWaitMs?: number;
  /** Per request (default 30 s). */
  readonly timeoutMs?: number;
  /** How requests go out: the process's egress policy's `fetch` (default the global fetch, unchecked). */
  readonly fetch?: SearchFetch;
}

/** The part of fetch() the client uses; an EgressPolicy's `fetch` is one. */
export type SearchFetch = (
  url: URL,
  init: { headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ readonly status: number; readonly ok: boolean; readonly headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface ConceptQuery {
  readonly concept: string;
  readonly reusability: readonly Reusability[];
  /** Page size, 1 to 100 (default 100). */
  readonly rows?: number;
}


export class EuropeanaClient {
  readonly #opts: Required<Omit<EuropeanaClientOptions, 'fetch'>>;
  readonly #fetch: SearchFetch;
  readonly #intervalMs: number;
  #nextSlot = 0;
  /** Requests sent, retries included. */
  requests = 0;
  /** When each request was allowed to start (ms since the epoch): the pacing, as scheduled. */
  readonly slots: number[] = [];

  constructor(opts: EuropeanaClientOptions) {
    const ratePerSecond = opts.ratePerSecond ?? 2;
    if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `--rate ${String(opts.ratePerSecond)}: expected requests per second above 0`);
    }
    this.#opts = {
      ...opts,
      ratePerSecond,
      maxRetries: opts.maxRetries ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 1000,
      maxRetryWaitMs: opts.maxRetryWaitMs ?? 120_000,
      timeoutMs: opts.timeoutMs ?? 30_000,
    };
    this.#intervalMs = 1000 / ratePerSecond;
    this.#fetch = opts.fetch ?? fetch;
  }

  /** `text` with the API key (raw or URL-encoded) replaced, for anything that leaves this module. */
  redact(text: string): string {
    const key = this.#opts.apiKey;
    let out = text.replace(/([?&]wskey=)[^&#\s]*/gi, '$1***');
    for (const form of new Set([key, encodeURIComponent(key)])) if (form) out = out.split(form).join('***');
    return out;
  }

  /** The request URL of one page; the key is added only when it travels as wskey (and is redacted in `redact`). */
  searchUrl(query: ConceptQuery, cursor: string): URL {
    const url = new URL(this.#opts.endpoint);
    const rows = query.rows ?? MAX_ROWS;
    if (!Number.isInteger(rows) || rows < 1 || rows > MAX_ROWS) throw new LoupeError('LOUPE_ERR_VALIDATION', `rows ${rows}: expected an integer from 1 to ${MAX_ROWS}`);
    url.searchParams.set('query', `skos_concept:"${query.concept.replace(/(["\\])/g, '\\$1')}"`);
    url.searchParams.append('qf', 'TYPE:IMAGE');
    // Repeated rather than comma-joined: each value is one filter the API ORs.
    for (const r of query.reusability) url.searchParams.append('reusability', r);
    url.searchParams.set('media', 'true');
    // The API's default profile, named so a changed default cannot drop edmIsShownBy (the pilot read it from this one).
    url.searchParams.set('profile', 'standard');
    url.searchParams.set('rows', String(rows));
    url.searchParams.set('cursor', cursor);
    if (this.#opts.keyIn === 'query') url.searchParams.set('wskey', this.#opts.apiKey);
    return url;
  }

  /** Pages of the concept's items, following nextCursor while `more(page)` says so and the results go on. */
  async *conceptPages(query: ConceptQuery, more: (page: SearchPage) => boolean): AsyncGenerator<SearchPage> {
    let cursor = '*';
    for (;;) {
      const page = await this.search(query, cursor);
      yield page;
      if (!more(page) || !page.nextCursor || page.nextCursor === cursor || page.items.length === 0) return;
      cursor = page.nextCursor;
    }
  }

  /** One page; 429, 5xx and unanswered requests are retried, honouring Retry-After. */
  async search(query: ConceptQuery, cursor: string): Promise<SearchPage> {
    const url = this.searchUrl(query, cursor);
    const shown = this.redact(url.toString());
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#opts.keyIn === 'header') headers['x-api-key'] = this.#opts.apiKey;
    for (let attempt = 0; ; attempt += 1) {
      await this.#slot();
      this.requests += 1;
      let res: Awaited<ReturnType<SearchFetch>>;
      try {
        res = await this.#fetch(url, { headers, signal: AbortSignal.timeout(this.#opts.timeoutMs) });
      } catch (err) {
        // The egress policy's refusal is final, and its message carries no key: pass it on.
        if (err instanceof LoupeError) throw new LoupeError(err.code, this.redact(err.message), { details: { url: shown } });
        const timedOut = (err as Error).name === 'TimeoutError';
        if (attempt < this.#opts.maxRetries) {
          await sleep(this.#backoff(attempt));
          continue;
        }
        throw new LoupeError(
          timedOut ? 'LOUPE_ERR_FETCH_TIMEOUT' : 'LOUPE_ERR_FETCH_NETWORK',
          `Europeana Search API ${shown}: ${timedOut ? `no answer in ${this.#opts.timeoutMs} ms` : this.redact(describe(err))} (after ${attempt + 1} attempts)`,
          { details: { url: shown, attempts: attempt + 1 } },
        );
      }
      const text = await res.text();
      const body = parseBody(text);
      const apiError = typeof body?.error === 'string' ? this.redact(body.error) : undefined;
      if (res.status === 429 || res.status >= 500) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (attempt < this.#opts.maxRetries && (retryAfter ?? 0) <= this.#opts.maxRetryWaitMs) {
          await sleep(Math.max(retryAfter ?? 0, this.#backoff(attempt)));
          continue;
        }
        const waited = retryAfter !== undefined && retryAfter > this.#opts.maxRetryWaitMs ? `; it asks to wait ${Math.round(retryAfter / 1000)} s (Retry-After), more than this harvest waits` : '';
        throw new LoupeError('LOUPE_ERR_FETCH_HTTP_RETRYABLE', `Europeana Search API ${shown}: HTTP ${res.status}${apiError ? ` (${apiError})` : ''} after ${attempt + 1} attempts${waited}`, {
          details: { url: shown, status: res.status, attempts: attempt + 1 },
        });
      }
      if (!res.ok || body?.success === false) {
        const hint = res.status === 401 || res.status === 403 ? `; check EUROPEANA_API_KEY (get a key at ${EUROPEANA_KEY_PAGE})` : '';
        throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `Europeana Search API ${shown}: HTTP ${res.status}${apiError ? `: ${apiError}` : body ? '' : ': the answer is not JSON'}${hint}`, {
          details: { url: shown, status: res.status, ...(apiError && { error: apiError }) },
        });
      }
      if (!body || !Array.isArray(body.items)) {
        throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `Europeana Search API ${shown}: HTTP ${res.status} but the answer is not a search result (no items array)`, {
          details: { url: shown, status: res.status },
        });
      }
      const items = (body.items as unknown[]).filter((i): i is EuropeanaItem => typeof (i as EuropeanaItem | null)?.id === 'string');
      return {
        items,
        totalResults: typeof body.totalResults === 'number' ? body.totalResults : items.length,
        ...(typeof body.nextCursor === 'string' && body.nextCursor && { nextCursor: body.nextCursor }),
      };
    }
  }

  /** Waits for the next request slot: starts are at least 1/rate apart, including retries. */
  async #slot(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.#nextSlot);
    this.#nextSlot = at + this.#intervalMs;
    this.slots.push(at);
    if (at > now) await sleep(at - now);
  }

  #backoff(attempt: number): number {
    return exponentialBackoff(attempt + 1, this.#opts.retryBaseMs, Infinity);
  }
}

/** The first usable media URL of an item (edm:isShownBy), or undefined. */
export function mediaUrl(item: EuropeanaItem): string | undefined {
  const url = item.edmIsShownBy?.find((u) => typeof u === 'string' && /^https?:\/\//i.test(u.trim()));
  return url?.trim();
}

/** The item's URI in Europeana's linked data (`http://data.europeana.eu/item` + id). */
export const itemUri = (id: string): string => `http://data.europeana.eu/item${id.startsWith('/') ? id : `/${id}`}`;

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
