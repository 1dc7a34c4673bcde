import { LoupeError } from '@loupe/contracts';
import { headers as natsHeaders, type MsgHdrs } from 'nats';
import type { Headers } from '../bus.js';

/**
 * Names, headers and error mapping of the JetStream adapter: everything that turns Loupe's
 * vocabulary into NATS's and back, kept apart from the queue logic.
 */

/** The publisher's msgId of a message republished from the dead letters (its Nats-Msg-Id is new). */
export const ORIGINAL_ID_HEADER = 'Loupe-Msg-Id';

/** Dead-letter metadata, carried as headers beside the original headers and data. */
export const DLQ = {
  subject: 'Loupe-Dlq-Subject',
  stage: 'Loupe-Dlq-Stage',
  msgId: 'Loupe-Dlq-Msg-Id',
  deliveries: 'Loupe-Dlq-Deliveries',
  error: 'Loupe-Dlq-Error',
  at: 'Loupe-Dlq-At',
} as const;

const INTERNAL_HEADER = /^(nats-|loupe-dlq-|loupe-msg-id$)/i;

/** JetStream API error codes (nats-server errors.json) the adapter reacts to. */
export const API = {
  consumerNameInUse: 10013,
  consumerNotFound: 10014,
  noMessageFound: 10037,
  sequenceNotFound: 10043,
  streamNameInUse: 10058,
  streamNotFound: 10059,
  subjectsOverlap: 10065,
  workQueueUnfilteredNotUnique: 10099,
  workQueueFilteredNotUnique: 10100,
  consumerAlreadyExists: 10148,
} as const;

const NAME = /^[A-Za-z0-9_-]+$/;
const TOKEN = /^[^\s.*>]+$/;

export function checkName(value: string, what: string): string {
  if (!NAME.test(value)) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${what} must match ${NAME.source}, got ${JSON.stringify(value)}`, { details: { [what]: value } });
  }
  return value;
}

/** A work subject is exact: JetStream cannot store a message on a wildcard subject. */
export function checkWorkSubject(subject: string): string {
  if (!subject.split('.').every((token) => TOKEN.test(token))) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `work subject ${JSON.stringify(subject)} must be dot-separated tokens without wildcards or spaces`, {
      details: { subject },
    });
  }
  return subject;
}

/** Stream names allow [A-Za-z0-9_-]: `loupe.detect.text.v1` -> `LOUPE_loupe_detect_text_v1`. */
export function streamNameOf(prefix: string, subject: string): string {
  return `${prefix}_${subject.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function toNatsHeaders(record: Headers | undefined): MsgHdrs | undefined {
  if (!record) return undefined;
  const entries = Object.entries(record);
  if (entries.length === 0) return undefined;
  const h = natsHeaders();
  try {
    for (const [name, value] of entries) h.set(name, value);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `invalid header: ${(err as Error).message}`, { cause: err });
  }
  return h;
}

/** The caller's headers, without those NATS and the adapter add. */
export function userHeaders(h: MsgHdrs | undefined): Headers {
  const out: Record<string, string> = {};
  if (h) for (const name of h.keys()) if (!INTERNAL_HEADER.test(name)) out[name] = h.get(name);
  return Object.freeze(out);
}

interface NatsErrorLike {
  code?: unknown;
  api_error?: { code?: number; err_code?: number; description?: string };
}

export const natsCode = (err: unknown): string | undefined => {
  const code = (err as NatsErrorLike | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export const apiCode = (err: unknown): number | undefined => (err as NatsErrorLike | null)?.api_error?.err_code;

const apiStatus = (err: unknown): number | undefined => (err as NatsErrorLike | null)?.api_error?.code;

const CLOSED_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DRAINING']);
const UNREACHABLE_CODES = new Set(['TIMEOUT', 'DISCONNECT', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT']);

/** Whether trying again later can help: the server is restarting, unreachable, or JetStream is not ready yet. */
export function isTransient(err: unknown): boolean {
  const code = natsCode(err);
  if (code !== undefined && (UNREACHABLE_CODES.has(code) || code === '503')) return true;
  return apiStatus(err) === 503;
}

/** A driver error as the LoupeError the port promises; driver types never leave the adapter. */
export function wrapNatsError(err: unknown, what: string, details?: Record<string, unknown>): LoupeError {
  if (err instanceof LoupeError) return err;
  const code = natsCode(err);
  const options = { cause: err, details };
  const reason = err instanceof Error ? err.message : String(err);
  if (code !== undefined && CLOSED_CODES.has(code)) return new LoupeError('LOUPE_ERR_BUS_CLOSED', `${what}: the NATS connection is closed`, options);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return new LoupeError('LOUPE_ERR_BUS_TIMEOUT', `${what}: NATS did not answer in time`, options);
  if (code === '503' || apiStatus(err) === 503) return new LoupeError('LOUPE_ERR_BUS_NO_RESPONDER', `${what}: JetStream is not available`, options);
  if (code === 'BAD_HEADER' || code === 'BAD_SUBJECT' || code === 'BAD_PAYLOAD' || code === 'MAX_PAYLOAD_EXCEEDED') {
    return new LoupeError('LOUPE_ERR_VALIDATION', `${what}: ${reason}`, options);
  }
  const api = apiCode(err);
  if (api === API.streamNotFound || api === API.consumerNotFound || api === API.noMessageFound || api === API.sequenceNotFound) {
    return new LoupeError('LOUPE_ERR_NOT_FOUND', `${what}: ${reason}`, options);
  }
  if (apiStatus(err) === 400) return new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${what}: ${reason}`, options);
  return new LoupeError('LOUPE_ERR_INTERNAL', undefined, options);
}
