import { LoupeError, toLoupeError, type LoupeErrorJSON } from '@loupe/contracts';
import { decode, encode, type Headers, type Reply } from './bus.js';

/**
 * The error convention of request/reply, shared by every adapter: an error reply carries the
 * code in this header and a LoupeErrorJSON body (as NATS services use `Nats-Service-Error-Code`).
 * A reply without the header is a success whose body is the handler's output.
 */
export const ERROR_HEADER = 'Loupe-Error-Code';

/** A successful reply whose body is `value` as JSON. */
export function jsonReply(value: unknown, headers: Headers = {}): Reply {
  return { data: encode(value), headers };
}

/** The reply that tells the requester `err` happened; anything not a LoupeError becomes an opaque internal error. */
export function replyError(err: unknown): Reply {
  const loupeError = toLoupeError(err);
  return { data: encode(loupeError.toJSON()), headers: { [ERROR_HEADER]: loupeError.code } };
}

function errorCodeOf(headers: Headers): string | undefined {
  const direct = headers[ERROR_HEADER];
  if (direct !== undefined) return direct;
  // Transports may change the case of header names.
  const wanted = ERROR_HEADER.toLowerCase();
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === wanted) return value;
  return undefined;
}

/** Throws the LoupeError an error reply carries; returns a success reply unchanged. */
export function throwIfError(reply: Reply): Reply {
  const code = errorCodeOf(reply.headers);
  if (code === undefined) return reply;
  let body: Partial<LoupeErrorJSON> = {};
  try {
    body = decode<Partial<LoupeErrorJSON>>(reply.data);
  } catch {
    // A malformed body still carries its code in the header.
  }
  throw LoupeError.fromJSON({ ...body, code: body.code ?? code });
}
