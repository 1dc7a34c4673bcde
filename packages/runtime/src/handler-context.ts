import type { WorkMessage } from '@loupe/bus';
import { ROLES, type HandlerContext, type Logger, type Principal } from '@loupe/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** HTTP headers a handler may see: trace context only, so handlers stay transport-agnostic. */
export const FORWARDED_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const;

function forwardedHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = raw[name];
    if (typeof value === 'string') out[name] = value;
    else if (Array.isArray(value) && value.length > 0) out[name] = value.join(',');
  }
  return out;
}

const noop = (): void => {};

/**
 * The bus header that carries the caller the gateway authenticated to a service in another
 * process. Only the gateway's remote routes set it, and HTTP headers never reach the bus except
 * FORWARDED_HEADERS, so a client cannot send one of its own.
 */
export const PRINCIPAL_HEADER = 'loupe-principal';

const VIAS: readonly unknown[] = ['key', 'oidc', 'local', 'anonymous'];

export function principalFromHeader(value: string | undefined): Principal | undefined {
  if (!value) return undefined;
  try {
    const p = JSON.parse(value) as Partial<Principal>;
    if (typeof p.id !== 'string' || !VIAS.includes(p.via) || !Array.isArray(p.roles)) return undefined;
    return {
      id: p.id,
      ...(typeof p.name === 'string' && { name: p.name }),
      roles: ROLES.filter((r) => p.roles!.includes(r)),
      via: p.via!,
    };
  } catch {
    return undefined;
  }
}

/**
 * The context of an HTTP call: its signal aborts when the client goes away before the answer is
 * sent, or when shutdown runs out of patience.
 */
export function httpContext(request: FastifyRequest, reply: FastifyReply, shutdown: AbortSignal): HandlerContext {
  const disconnected = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) disconnected.abort(new Error('the client closed the connection'));
  });
  return {
    signal: AbortSignal.any([disconnected.signal, shutdown]),
    log: request.log as Logger,
    headers: forwardedHeaders(request.headers),
    working: noop,
    attempt: 1,
    ...(request.principal && { principal: request.principal }),
  };
}

/** The context of a request/reply call on the bus. */
export function busRequestContext(headers: Record<string, string>, log: Logger, shutdown: AbortSignal): HandlerContext {
  const principal = principalFromHeader(headers[PRINCIPAL_HEADER]);
  return { signal: shutdown, log: principal ? log.child({ principal: `${principal.via}:${principal.id}` }) : log, headers, working: noop, attempt: 1, ...(principal && { principal }) };
}

/** The context of a work-queue delivery; `signal` is the pipeline's own (per-message deadline). */
export function queueContext(msg: WorkMessage, signal: AbortSignal, log: Logger, shutdown: AbortSignal): HandlerContext {
  return {
    signal: AbortSignal.any([signal, shutdown]),
    log: log.child({ msgId: msg.id, attempt: msg.deliveryCount }),
    headers: msg.headers,
    working: () => msg.working(),
    attempt: msg.deliveryCount,
  };
}
