/**
 * Every error Loupe reports, in one table. Each code is stable: clients and
 * operators match on it. docs/errors.md documents every code; a test keeps the
 * two in sync. `retryable` tells a work queue whether another delivery can help
 * (a timeout may pass; a document that is not IIIF never will).
 */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly title: string;
}

export const ERRORS = {
  LOUPE_ERR_VALIDATION: { status: 400, retryable: false, title: 'The request does not match its schema' },
  LOUPE_ERR_NOT_FOUND: { status: 404, retryable: false, title: 'No such resource' },
  LOUPE_ERR_JOB_NOT_FOUND: { status: 404, retryable: false, title: 'No job with this id' },
  LOUPE_ERR_CONFIG_INVALID: { status: 500, retryable: false, title: 'The configuration is invalid' },
  LOUPE_ERR_SOURCE_UNSUPPORTED: { status: 400, retryable: false, title: 'Only http(s) URLs are accepted as a source here' },
  LOUPE_ERR_XML_UNSAFE: { status: 400, retryable: false, title: 'The XML has a DOCTYPE or entity declarations, which are refused' },

  LOUPE_ERR_AUTH_REQUIRED: { status: 401, retryable: false, title: 'Authentication is required (an API key or a bearer token)' },
  LOUPE_ERR_AUTH_INVALID: { status: 401, retryable: false, title: 'The API key or bearer token is not valid' },
  LOUPE_ERR_FORBIDDEN: { status: 403, retryable: false, title: "The caller's role does not allow this operation" },
  LOUPE_ERR_RATE_LIMITED: { status: 429, retryable: true, title: 'Too many requests from this caller; retry after the Retry-After delay' },

  LOUPE_ERR_IIIF_NOT_JSON: { status: 422, retryable: false, title: 'The document is not JSON' },
  LOUPE_ERR_IIIF_NOT_UTF8: { status: 422, retryable: false, title: 'The document is not UTF-8' },
  LOUPE_ERR_IIIF_NOT_IIIF: { status: 422, retryable: false, title: 'The document is not a IIIF manifest or collection' },
  LOUPE_ERR_IIIF_INFO_INVALID: { status: 422, retryable: false, title: 'The info.json is not a valid Image API description' },
  LOUPE_ERR_IIIF_LIMIT: { status: 422, retryable: false, title: 'A collection or job exceeds the harvest limits (depth, manifests or canvases)' },
  LOUPE_ERR_IIIF_MALFORMED: { status: 422, retryable: false, title: 'A part of the IIIF document cannot be read (the rest of it is used)' },
  LOUPE_ERR_IIIF_NO_PLAN: { status: 422, retryable: false, title: 'No valid Image API request reaches the target' },

  LOUPE_ERR_FETCH_TIMEOUT: { status: 504, retryable: true, title: 'The remote server did not answer in time' },
  LOUPE_ERR_FETCH_NETWORK: { status: 502, retryable: true, title: 'The remote server could not be reached' },
  LOUPE_ERR_FETCH_DNS: { status: 502, retryable: false, title: 'The host name does not exist (DNS answered: no such host)' },
  LOUPE_ERR_FETCH_TLS: { status: 502, retryable: false, title: "The server's TLS certificate is not valid (expired, self-signed, or for another host)" },
  LOUPE_ERR_FETCH_NOT_FOUND: { status: 502, retryable: false, title: 'The remote server has no such resource (404 or 410)' },
  LOUPE_ERR_FETCH_AUTH_REQUIRED: { status: 502, retryable: false, title: 'The remote resource needs authentication (401 or 403); Loupe does not support IIIF Auth' },
  LOUPE_ERR_FETCH_HTTP: { status: 502, retryable: false, title: 'The remote server answered with an error status' },
  LOUPE_ERR_FETCH_HTTP_RETRYABLE: { status: 502, retryable: true, title: 'The remote server is overloaded or failing (408, 425, 429 or 5xx)' },
  LOUPE_ERR_FETCH_REDIRECTS: { status: 502, retryable: false, title: 'Too many redirects' },
  LOUPE_ERR_FETCH_TOO_LARGE: { status: 422, retryable: false, title: 'The response exceeds the byte limit' },
  LOUPE_ERR_FETCH_EGRESS_REFUSED: { status: 403, retryable: false, title: 'Refused by egress policy: the address is not one Loupe may fetch' },
  LOUPE_ERR_FETCH_CONTENT_TYPE: { status: 422, retryable: false, title: 'The response has the wrong content type' },

  LOUPE_ERR_IMAGE_DECODE: { status: 422, retryable: false, title: 'The image cannot be decoded (corrupt or truncated)' },
  LOUPE_ERR_IMAGE_TOO_MANY_PIXELS: { status: 422, retryable: false, title: 'The image exceeds the decoded pixel limit' },
  LOUPE_ERR_IMAGE_UNSUPPORTED: { status: 422, retryable: false, title: 'The resource is not an image Loupe can process' },

  LOUPE_ERR_MODEL_NOT_INSTALLED: { status: 503, retryable: false, title: 'The requested model is not installed' },
  LOUPE_ERR_MODEL_LOAD: { status: 500, retryable: false, title: 'The model could not be loaded' },
  LOUPE_ERR_MODEL_CHECKSUM: { status: 500, retryable: false, title: 'A model file does not have the bytes its card pins (sha256 or size)' },
  LOUPE_ERR_MODEL_CARD_INVALID: { status: 422, retryable: false, title: 'The model card does not match the card schema' },
  LOUPE_ERR_INFERENCE: { status: 500, retryable: true, title: 'Inference failed' },
  LOUPE_ERR_CONVERT_UNSUPPORTED_OP: { status: 422, retryable: false, title: 'The model uses an operation the converter does not support' },

  LOUPE_ERR_BUS_TIMEOUT: { status: 504, retryable: true, title: 'No reply on the bus in time' },
  LOUPE_ERR_BUS_NO_RESPONDER: { status: 503, retryable: true, title: 'No service is listening on this subject' },
  LOUPE_ERR_BUS_CLOSED: { status: 503, retryable: true, title: 'The bus is closed' },
  LOUPE_ERR_OVERLOADED: { status: 503, retryable: true, title: 'The service is at capacity' },
  LOUPE_ERR_SHUTTING_DOWN: { status: 503, retryable: true, title: 'The service is shutting down' },
  LOUPE_ERR_NOT_READY: { status: 503, retryable: true, title: 'The service is not ready yet' },

  LOUPE_ERR_STORE: { status: 500, retryable: true, title: 'The store failed' },
  LOUPE_ERR_JOB_INTERRUPTED: { status: 500, retryable: false, title: 'The job was interrupted by a restart and not resumed' },
  LOUPE_ERR_INTERNAL: { status: 500, retryable: false, title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

export interface LoupeErrorJSON {
  code: ErrorCode;
  message: string;
  status: number;
  retryable: boolean;
  details?: Record<string, unknown>;
}

/** The one error type. `details` names what was wrong (the document, the URL, the field). */
export class LoupeError extends Error {
  override readonly name = 'LoupeError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    const spec = ERRORS[code];
    super(message ?? spec.title, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = spec.status;
    this.retryable = spec.retryable;
    this.details = options?.details;
    // A cause can be large (a response body, a driver error): keep it out of enumeration so logs stay small.
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { enumerable: false, value: options.cause });
  }

  toJSON(): LoupeErrorJSON {
    const out: LoupeErrorJSON = { code: this.code, message: this.message, status: this.status, retryable: this.retryable };
    if (this.details) out.details = this.details;
    return out;
  }

  static fromJSON(json: { code?: unknown; message?: unknown; details?: unknown }): LoupeError {
    const code = isErrorCode(json.code) ? json.code : 'LOUPE_ERR_INTERNAL';
    const details = json.details && typeof json.details === 'object' ? (json.details as Record<string, unknown>) : undefined;
    return new LoupeError(code, typeof json.message === 'string' ? json.message : undefined, details ? { details } : undefined);
  }
}

/** Turns anything thrown into a LoupeError; an unknown error becomes an opaque internal one. */
export function toLoupeError(err: unknown): LoupeError {
  if (err instanceof LoupeError) return err;
  if (err && typeof err === 'object' && 'code' in err && isErrorCode((err as { code: unknown }).code)) {
    return LoupeError.fromJSON(err as { code: unknown; message?: unknown });
  }
  return new LoupeError('LOUPE_ERR_INTERNAL', undefined, { cause: err });
}
