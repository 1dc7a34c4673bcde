import { jsonReply, replyError, type Bus, type Headers, type Reply, type Subscription, type WorkMessage } from '@loupe/bus';
import { failSpan, inSpan, SpanKind, toLoupeError, traceContextOf, type Span, type HandlerDeclaration, type Logger, type ServiceDefinition } from '@loupe/contracts';
import { busRequestContext, queueContext } from './handler-context.js';
import type { InFlight } from './in-flight.js';
import type { AppMetrics } from './metrics/app-metrics.js';
import { inputDecoder } from './input-decoder.js';
import { toBusValue } from './binary-response.js';
import { bindQueueHandler, type QueueBindingOptions } from './pipeline.js';

export interface BusBindingOptions {
  readonly log: Logger;
  readonly inFlight: InFlight;
  /** Aborted when the process gives up waiting for in-flight work at shutdown. */
  readonly shutdown: AbortSignal;
  readonly queueBindings: boolean | ((service: ServiceDefinition, decl: HandlerDeclaration) => boolean) | undefined;
  readonly queue: QueueBindingOptions | undefined;
  readonly metrics: AppMetrics;
}

/**
 * Puts a started service on the bus: each request/reply handler answers its subject, each queue
 * handler the process consumes takes its work queue. On a failure, what was bound is drained again.
 */
export async function bindServiceBus(bus: Bus, service: ServiceDefinition, opts: BusBindingOptions): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  const bindsQueue = (decl: HandlerDeclaration): boolean =>
    typeof opts.queueBindings === 'function' ? opts.queueBindings(service, decl) : opts.queueBindings !== false;
  try {
    for (const decl of service.handlers) {
      const log = opts.log.child({ service: service.name, handler: decl.name, subject: decl.subject });
      if (decl.mode === 'request') {
        subscriptions.push(await serveRequests(bus, decl, log, opts));
      } else if (bindsQueue(decl)) {
        const context = (msg: WorkMessage, signal: AbortSignal) => queueContext(msg, signal, log, opts.shutdown);
        subscriptions.push(await bindQueueHandler(bus, service, decl, context, opts.queue, opts.metrics.stages));
        opts.metrics.watchQueue(decl.subject);
      }
    }
    return subscriptions;
  } catch (err) {
    await Promise.allSettled(subscriptions.map((s) => s.drain()));
    throw err;
  }
}

async function serveRequests(bus: Bus, decl: HandlerDeclaration, log: Logger, opts: BusBindingOptions): Promise<Subscription> {
  const decodeInput = inputDecoder(decl);
  const answer = async (data: Uint8Array, headers: Headers, span: Span): Promise<Reply> => {
    try {
      return jsonReply(toBusValue(await decl.handler(decodeInput(data), busRequestContext(headers, log, opts.shutdown))));
    } catch (err) {
      const loupeError = toLoupeError(err);
      failSpan(span, loupeError);
      if (loupeError.status >= 500) log.error({ err }, 'request handler failed');
      return replyError(loupeError);
    }
  };
  // A server span, the caller's (the gateway's job start, a remote route) its parent.
  const attributes = { 'rpc.system.name': 'loupe-bus', 'rpc.method': decl.name, 'messaging.destination.name': decl.subject };
  return bus.serve(decl.subject, async (data, headers) => {
    opts.inFlight.enter();
    try {
      return await inSpan(decl.name, attributes, (span) => answer(data, headers, span), { kind: SpanKind.SERVER, parent: traceContextOf(headers) });
    } finally {
      opts.inFlight.leave();
    }
  });
}
