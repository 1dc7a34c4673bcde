import type { FastifyInstance } from 'fastify';
import { tracingEnabled } from './tracing-setup.js';

// Probes and scrapes come every few seconds from the cluster itself: spans of them are noise.
const UNTRACED = ['/healthz', '/readyz', '/metrics'];

/**
 * A server span per HTTP request (@fastify/otel), named `METHOD /route` as the HTTP conventions
 * ask, continuing the caller's trace when it sends a traceparent; the handler runs inside it, so
 * what it puts on the bus carries the trace on. Registered before any route, and only when this
 * process traces: off, requests pay nothing.
 */
export async function registerHttpTracing(fastify: FastifyInstance): Promise<void> {
  if (!tracingEnabled()) return;
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');
  const instrumentation = new FastifyOtelInstrumentation({
    // The request's span is the handler's: a span per hook or handler would say nothing more.
    instrumentHooks: false,
    instrumentHandler: false,
    ignorePaths: ({ url }) => UNTRACED.some((path) => url === path || url.startsWith(`${path}?`)),
    requestHook: (span, request) => span.updateName(`${request.method} ${request.routeOptions.url ?? ''}`.trimEnd()),
  });
  await fastify.register(instrumentation.plugin());
}
