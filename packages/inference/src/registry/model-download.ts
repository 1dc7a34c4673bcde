import { open, rename, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError, exponentialBackoff } from '@loupe/contracts';
import { checksumError, sha256File, type ExpectedBytes } from './model-files.js';

export interface DownloadProgress {
  /** Bytes of the file on disk so far, counting a part kept from an earlier attempt. */
  readonly received: number;
  /** The whole file's size when the card or the server says it. */
  readonly total: number | undefined;
}

export interface DownloadOptions {
  readonly url: string;
  readonly target: string;
  readonly expected: ExpectedBytes;
  /** Names the file in messages. */
  readonly label: string;
  readonly signal?: AbortSignal | undefined;
  /** Further attempts after a cut connection, a timeout or a 5xx/429 answer. */
  readonly retries?: number | undefined;
  /** No byte for this long aborts the attempt (a stalled connection), which is then retried. */
  readonly idleTimeoutMs?: number | undefined;
  readonly retryDelayMs?: number | undefined;
  readonly onProgress?: ((p: DownloadProgress) => void) | undefined;
  /** How the request goes out: the process's egress policy's `fetch` (default the global fetch, unchecked). */
  readonly fetch?: DownloadFetch | undefined;
}

/** The part of fetch() a download uses; an EgressPolicy's `fetch` is one (it checks every redirect hop). */
export type DownloadFetch = (
  url: string,
  init: { headers: Record<string, string>; signal: AbortSignal; redirect: 'follow' },
) => Promise<{
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
}>;

export interface DownloadResult {
  readonly bytes: number;
  /** Whether any attempt continued a part kept from before (an earlier run or a cut attempt). */
  readonly resumed: boolean;
  readonly attempts: number;
}

class RetryableError extends Error {}

/**
 * Downloads `url` to `target` through `target.part`: a part left by a cut transfer (this run or an
 * earlier one) is continued with an HTTP Range request, the finished file is checked against the
 * expected sha256 (and size), and only then moved into place. A file with the wrong bytes is
 * deleted and refused with both hashes, so the next pull starts clean.
 */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const part = `${opts.target}.part`;
  const retries = opts.retries ?? 5;
  const total = opts.expected.size;
  let resumed = false;
  let attempt = 0;
  for (;;) {
    attempt++;
    let have = await sizeOf(part);
    if (total !== undefined && have > total) {
      await rm(part, { force: true });
      have = 0;
    }
    let complete = total !== undefined && have === total;
    if (!complete) {
      if (have > 0) resumed = true;
      try {
        const fetched = await fetchInto(opts, part, have);
        complete = total === undefined ? fetched.ended : fetched.bytes === total;
        if (!complete && total !== undefined && fetched.bytes > total) {
          await rm(part, { force: true });
          throw new LoupeError('LOUPE_ERR_FETCH_TOO_LARGE', `${opts.label} from ${opts.url} is larger than its card says (${total} bytes)`, {
            details: { url: opts.url, expectedSize: total },
          });
        }
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (!(err instanceof RetryableError)) throw err;
        if (attempt > retries) {
          throw new LoupeError('LOUPE_ERR_FETCH_NETWORK', `Downloading ${opts.label} from ${opts.url} failed after ${attempt} attempts: ${err.message}`, {
            cause: err,
            details: { url: opts.url, attempts: attempt, part },
          });
        }
        await sleep(exponentialBackoff(attempt, opts.retryDelayMs ?? 250, 5000), undefined, opts.signal ? { signal: opts.signal } : {});
        continue;
      }
    }
    if (!complete) {
      if (attempt > retries) {
        throw new LoupeError('LOUPE_ERR_FETCH_NETWORK', `Downloading ${opts.label} from ${opts.url} ended early ${attempt} times`, {
          details: { url: opts.url, attempts: attempt, part },
        });
      }
      continue;
    }
    const st = await stat(part);
    const actual = await sha256File(part);
    if (actual !== opts.expected.sha256 || (total !== undefined && st.size !== total)) {
      await rm(part, { force: true });
      throw checksumError(opts.label, opts.target, opts.expected, actual, st.size, ` (downloaded from ${opts.url}; the download was deleted)`);
    }
    await rename(part, opts.target);
    return { bytes: st.size, resumed, attempts: attempt };
  }
}

/**
 * One HTTP attempt appending to `part` from byte `have`. Returns the bytes on disk afterwards and
 * whether the server finished the body. Cut connections, stalls, 429 and 5xx throw RetryableError.
 */
async function fetchInto(opts: DownloadOptions, part: string, have: number): Promise<{ bytes: number; ended: boolean }> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const idleMs = opts.idleTimeoutMs ?? 60_000;
  let stalled = false;
  let timer = setTimeout(stall, idleMs);
  function stall() {
    stalled = true;
    controller.abort(new Error(`no data for ${idleMs} ms`));
  }
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(stall, idleMs);
  };
  let bytes = have;
  try {
    let res: Awaited<ReturnType<DownloadFetch>>;
    try {
      res = await (opts.fetch ?? fetch)(opts.url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal: controller.signal, redirect: 'follow' });
    } catch (err) {
      // A refusal by the egress policy will be the same next time: not worth a retry.
      if (err instanceof LoupeError) throw err;
      throw new RetryableError(stalled ? `no answer for ${idleMs} ms` : describe(err));
    }
    if (res.status === 416 && have > 0) {
      // The server cannot continue this part (the file changed, or the part is already whole and
      // the card gives no size): start again from nothing.
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new RetryableError('the server refused to continue the partial download (416)');
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel();
      throw new RetryableError(`HTTP ${res.status}`);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `Downloading ${opts.label} from ${opts.url} failed: HTTP ${res.status}`, {
        details: { url: opts.url, status: res.status },
      });
    }
    if (res.status === 206 && rangeStart(res.headers.get('content-range')) !== have) {
      await res.body?.cancel();
      await rm(part, { force: true });
      throw new RetryableError(`the server answered a different range (${res.headers.get('content-range')})`);
    }
    if (res.status === 200) bytes = 0; // the server ignored the Range header: the body is the whole file
    const length = Number(res.headers.get('content-length'));
    const total = opts.expected.size ?? (Number.isFinite(length) && length > 0 ? bytes + length : undefined);
    const out = await open(part, res.status === 200 ? 'w' : 'a');
    try {
      if (!res.body) return { bytes, ended: true };
      for await (const chunk of res.body) {
        touch();
        await out.write(chunk);
        bytes += chunk.byteLength;
        opts.onProgress?.({ received: bytes, total });
      }
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new RetryableError(stalled ? `no data for ${idleMs} ms` : `the connection was cut after ${bytes} bytes (${describe(err)})`);
    } finally {
      await out.close();
    }
    return { bytes, ended: true };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function rangeStart(header: string | null): number | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim()) : null;
  return m ? Number(m[1]) : undefined;
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
