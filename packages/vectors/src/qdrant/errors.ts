import { QdrantClientResourceExhaustedError, QdrantClientTimeoutError, QdrantClientUnexpectedResponseError } from '@qdrant/js-client-rest';
import { LoupeError, type ErrorCode } from '@loupe/contracts';

/**
 * Whatever the Qdrant client throws, as a LoupeError that names the server, the operation and
 * the collection, with the code a work queue can act on: the server unreachable, slow, overloaded
 * or failing (5xx) is LOUPE_ERR_STORE (retryable: another delivery may find it back); a request
 * Qdrant refuses as malformed (4xx) is LOUPE_ERR_VALIDATION (retrying sends the same request).
 */

export interface QdrantCallContext {
  /** The server, as safeUrl writes it. */
  readonly url: string;
  readonly operation: string;
  readonly collection?: string;
  readonly timeoutMs?: number;
}

/** The server URL for messages: no user name or password, no query. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** The code for an HTTP status Qdrant answered with. */
export function codeForStatus(status: number): ErrorCode {
  // A wrong or missing API key: no retry helps, the deployment must be fixed.
  if (status === 401 || status === 403) return 'LOUPE_ERR_CONFIG_INVALID';
  // A collection that vanished under a handle (deleted outside Loupe).
  if (status === 404) return 'LOUPE_ERR_NOT_FOUND';
  // Timed out, conflicting with a concurrent change, rate-limited: another attempt may pass.
  if (status === 408 || status === 409 || status === 429) return 'LOUPE_ERR_STORE';
  if (status >= 400 && status < 500) return 'LOUPE_ERR_VALIDATION';
  return 'LOUPE_ERR_STORE';
}

/** The HTTP status of a failed call, when the server answered at all. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof QdrantClientResourceExhaustedError) return 429;
  if (err && typeof err === 'object' && 'status' in err) {
    const status = (err as { status: unknown }).status;
    if (typeof status === 'number' && status >= 100 && status < 600) return status;
  }
  if (err instanceof QdrantClientUnexpectedResponseError) {
    const match = /Unexpected Response: (\d{3})/.exec(err.message);
    if (match) return Number(match[1]);
  }
  return undefined;
}

/** Qdrant's own words for a refusal (`{"status":{"error":"..."}}`), else the error's message. */
function reasonOf(err: unknown): string {
  const data = err && typeof err === 'object' && 'data' in err ? (err as { data: unknown }).data : undefined;
  if (data && typeof data === 'object' && 'status' in data) {
    const status = (data as { status: unknown }).status;
    if (status && typeof status === 'object' && 'error' in status && typeof status.error === 'string') return status.error;
  }
  if (typeof data === 'string' && data.length > 0) return data.slice(0, 500);
  return err instanceof Error ? err.message : String(err);
}

/** The system error code (ECONNREFUSED, ENOTFOUND...) under a failed fetch, if any. */
function networkCodeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

export function qdrantError(err: unknown, ctx: QdrantCallContext): LoupeError {
  if (err instanceof LoupeError) return err;
  const on = ctx.collection ? ` on collection ${ctx.collection}` : '';
  const details: Record<string, unknown> = { url: ctx.url, operation: ctx.operation, ...(ctx.collection && { collection: ctx.collection }) };
  if (err instanceof QdrantClientTimeoutError) {
    const after = ctx.timeoutMs === undefined ? '' : ` within ${ctx.timeoutMs} ms`;
    return new LoupeError('LOUPE_ERR_STORE', `Qdrant at ${ctx.url} did not answer ${ctx.operation}${on}${after}`, { cause: err, details });
  }
  const status = httpStatusOf(err);
  if (status !== undefined) {
    return new LoupeError(codeForStatus(status), `Qdrant at ${ctx.url} refused ${ctx.operation}${on}: HTTP ${status}: ${reasonOf(err)}`, {
      cause: err,
      details: { ...details, status },
    });
  }
  const network = networkCodeOf(err);
  if (network !== undefined || (err instanceof TypeError && err.message === 'fetch failed')) {
    return new LoupeError('LOUPE_ERR_STORE', `Qdrant at ${ctx.url} cannot be reached (${network ?? 'network error'}) for ${ctx.operation}${on}`, {
      cause: err,
      details: { ...details, ...(network && { network }) },
    });
  }
  return new LoupeError('LOUPE_ERR_STORE', `Qdrant at ${ctx.url}: ${ctx.operation}${on} failed: ${reasonOf(err)}`, { cause: err, details });
}
