import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';

/**
 * Loupe's one tracer. Until a process registers the SDK (OTEL_* variables, runtime's
 * startTracing) the API hands out no-op spans: tracing off costs a few function calls per span.
 */
export const tracer = trace.getTracer('loupe', '0.1.0');

export { SpanKind, type Attributes, type Span };

export interface SpanOptions {
  readonly kind?: SpanKind;
  /** The parent: the active context when absent. */
  readonly parent?: Context;
  readonly links?: Link[];
}

/** Runs `fn` inside a span that ends with it, recording a throw as the span's error. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, opts: SpanOptions = {}): Promise<T> {
  const parent = opts.parent ?? context.active();
  return tracer.startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes, ...(opts.links && { links: opts.links }) }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed, the error's code (a LoupeError's) kept as error.type. */
export function failSpan(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setAttribute('error.type', (e as { code?: unknown }).code === undefined ? e.name : String((e as { code?: unknown }).code));
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/**
 * The headers of a message sent now: the caller's, with the active span's trace context
 * (traceparent, tracestate, baggage) written over what they carried, so that a stage forwarding
 * the headers it received makes its own span the next one's parent. With tracing off, the
 * caller's headers pass unchanged.
 */
export function withTraceContext(headers: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!trace.getSpan(context.active())) return headers && { ...headers };
  const out: Record<string, string> = { ...headers };
  propagation.inject(context.active(), out);
  return out;
}

/** The trace context a message or request arrived with (none: a new trace starts). */
export function traceContextOf(headers: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** The active span's ids, for log lines; undefined outside a recorded span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const ctx = trace.getSpan(context.active())?.spanContext();
  return ctx && trace.isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : undefined;
}

interface ConsumedMessage {
  readonly id: string;
  readonly deliveryCount: number;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Processes a work-queue message in a consumer span whose parent is the span that sent it (from
 * the message's headers), described as the OTel messaging conventions say, plus `attributes`.
 */
export function inConsumerSpan<T>(
  name: string,
  where: { readonly busKind: 'nats' | 'memory'; readonly subject: string },
  msg: ConsumedMessage,
  fn: (span: Span) => Promise<T>,
  attributes: Attributes = {},
): Promise<T> {
  const described = {
    'messaging.system': where.busKind === 'nats' ? 'nats' : 'loupe-memory',
    'messaging.operation.type': 'process',
    'messaging.destination.name': where.subject,
    'messaging.message.id': msg.id,
    'loupe.attempt': msg.deliveryCount,
    ...attributes,
  };
  return inSpan(name, described, fn, { kind: SpanKind.CONSUMER, parent: traceContextOf(msg.headers) });
}
