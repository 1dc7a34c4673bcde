import { LoupeError } from '@loupe/contracts';
import { isRetryableStatus } from './retry-policy.js';

/** OpenSSL's and Node's names for a certificate that does not verify: another attempt meets the same certificate. */
const CERTIFICATE_PROBLEM = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY_LEAF|DECRYPT_CERT)|HOSTNAME_MISMATCH|INVALID_CA/;

/** The errno-like code of a failed lookup or connection, looking through fetch()'s TypeError wrapper. */
export function lowLevelCode(err: unknown): string | undefined {
  for (let at: unknown = err, depth = 0; at && typeof at === 'object' && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('LOUPE_ERR_')) return code;
  }
  return undefined;
}

/**
 * The LoupeError for a lookup or connection that failed before any HTTP answer, named by cause
 * where the cause is permanent: a host name that does not exist (ENOTFOUND; EAI_AGAIN is a
 * resolver that could not answer now) and a certificate that does not verify fail the canvas at
 * once instead of being retried for a minute. Everything else (refused, reset, unreachable,
 * a resolver timeout) stays "could not fetch", retryable, and reads alike on purpose: a refused
 * port must not read differently from a dead host, or a job's errors would scan ports. Whether a
 * name resolves is no such secret: anyone can ask DNS, and the egress policy's refusal already
 * tells a name that resolves from one that does not.
 */
export function connectionError(url: string, host: string, err: unknown): LoupeError {
  if (err instanceof LoupeError) return err;
  // The egress connector's own refusal or lookup failure, wrapped by fetch() in a TypeError.
  const wrapped = (err as { cause?: unknown }).cause;
  if (wrapped instanceof LoupeError) return wrapped;
  const code = lowLevelCode(err);
  if (code === 'ENOTFOUND') {
    return new LoupeError('LOUPE_ERR_FETCH_DNS', `could not fetch ${url}: the host ${host} does not exist (DNS: no such host); check the URL`, {
      cause: err,
      details: { url, host },
    });
  }
  if (code !== undefined && CERTIFICATE_PROBLEM.test(code)) {
    return new LoupeError(
      'LOUPE_ERR_FETCH_TLS',
      `could not fetch ${url}: the TLS certificate of ${host} is not valid (${code}); a private certificate authority can be trusted with NODE_EXTRA_CA_CERTS`,
      { cause: err, details: { url, host, reason: code } },
    );
  }
  return new LoupeError('LOUPE_ERR_FETCH_NETWORK', `could not fetch ${url}`, { cause: err, details: { url } });
}

/**
 * The LoupeError for an HTTP error status, by what another attempt could change: 401/403 and
 * 404/410 have codes of their own, so that a run's failures group by what the user must do
 * (fix the URL; find an open copy), and 408, 425, 429 and most 5xx stay retryable.
 */
export function statusError(url: string, status: number, attempts: number, retryAfterMs: number | undefined): LoupeError {
  if (status === 404 || status === 410) {
    const what = status === 404 ? 'the server has no such resource' : 'the resource is gone for good';
    return new LoupeError('LOUPE_ERR_FETCH_NOT_FOUND', `${url}: HTTP ${status}, ${what}; check the URL`, { details: { url, status } });
  }
  if (status === 401 || status === 403) {
    const what = status === 401 ? 'the resource needs authentication' : 'access is refused: the resource needs authentication or is not open to this client';
    return new LoupeError('LOUPE_ERR_FETCH_AUTH_REQUIRED', `${url}: HTTP ${status}, ${what}, and Loupe does not authenticate (IIIF Auth is not supported); use an openly published copy`, {
      details: { url, status },
    });
  }
  if (isRetryableStatus(status)) {
    return new LoupeError('LOUPE_ERR_FETCH_HTTP_RETRYABLE', `${url}: HTTP ${status} after ${attempts} attempt${attempts === 1 ? '' : 's'}`, {
      details: { url, status, attempts, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    });
  }
  return new LoupeError('LOUPE_ERR_FETCH_HTTP', `${url}: HTTP ${status}`, { details: { url, status } });
}
