import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import { createClient, type Bus, type Subscription } from '@loupe/bus';
import { LoupeError, toLoupeError, type ApiDeclaration, type HandlerDeclaration, type Logger, type ServiceDefinition } from '@loupe/contracts';
import { fromBusValue } from './binary-response.js';
import { bindServiceBus } from './bus-bindings.js';
import { FORWARDED_HEADERS, PRINCIPAL_HEADER, httpContext } from './handler-context.js';
import { operationSecurity, type AuthOptions } from './auth/http-auth.js';
import { createHttpSurface, mountOperation, mountPages, type MountedRoute } from './http-surface.js';
import { inFlightCounter } from './in-flight.js';
import { createAppMetrics } from './metrics/app-metrics.js';
import { processRouteSchemas } from './openapi-document.js';
import type { QueueBindingOptions } from './pipeline.js';
import { checkDeclarations } from './service-app.checks.js';

export { REDACTED_PATHS } from './http-surface.js';

export interface ServiceAppOptions {
  readonly bus: Bus;
  /** Fastify's logger option: `false` for silence, `true` for pino defaults, or pino options. Default true. */
  readonly logger?: boolean | Exclude<FastifyServerOptions['logger'], undefined>;
  /** A pino logger the process already made (the services share it); takes precedence over `logger`. */
  readonly loggerInstance?: FastifyServerOptions['loggerInstance'];
  /** Public base URL, listed as the OpenAPI server. */
  readonly publicUrl?: string;
  /** Version in the OpenAPI document; default the first service's version. */
  readonly version?: string;
  /**
   * Which `mode: 'queue'` handlers this process consumes (default all). A process may mount a
   * service's routes yet leave its queue to dedicated workers.
   */
  readonly queueBindings?: boolean | ((service: ServiceDefinition, decl: HandlerDeclaration) => boolean);
  /** Request/reply APIs of services that run in other processes, by service: mounted as routes that forward over the bus. */
  readonly remote?: Readonly<Record<string, Readonly<Record<string, ApiDeclaration>>>>;
  /** Process-wide details for /readyz, beside the services' own (e.g. the inference engine's provider and models). */
  readonly readiness?: () => Record<string, unknown>;
  /** Concurrency, maximum deliveries and retry backoff of the work-queue bindings. */
  readonly queue?: QueueBindingOptions;
  /** How long close() lets in-flight work run before aborting the handlers' signals. Default 10 s. */
  readonly graceMs?: number;
  /** API keys, OIDC, CORS and rate limits (docs/security.md). Absent: an open API, as on a person's own machine. */
  readonly auth?: AuthOptions;
}

export type ServiceState = 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';

export interface ServiceReadiness {
  readonly state: ServiceState;
  readonly version: string;
  /** Why start() failed (an unknown error stays opaque here; the log has it). */
  readonly error?: { readonly code: string; readonly message: string };
  /** The service's own readiness() details. */
  readonly details?: Record<string, unknown>;
}

export interface Readiness {
  readonly status: 'starting' | 'ready' | 'failed' | 'stopping';
  readonly services: Record<string, ServiceReadiness>;
  /** What the process shares between its services (the inference engine: execution provider, models). */
  readonly process?: Record<string, unknown>;
}

export interface LoupeApp {
  /** The Fastify instance, for `inject()` in tests and for extra routes before start(). */
  readonly fastify: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly inject: FastifyInstance['inject'];
  /**
   * The Authorization header value that makes an `inject()` call this process's own (the `local`
   * principal, admin): a random secret held in memory only, for the CLI's in-process calls.
   */
  readonly localAuthorization: string;
  /** Every route mounted, as Fastify holds them (HEAD and OPTIONS included): what a check of the documentation walks. */
  readonly routes: readonly MountedRoute[];
  /**
   * Listens (when a port is given), then starts every service in parallel and binds its bus
   * handlers once its start() resolved. Resolves when every start() has settled; a service whose
   * start() failed answers 503 and shows in /readyz, without stopping the others.
   */
  start(opts?: { port?: number; host?: string }): Promise<{ url: string | undefined }>;
  /** Graceful shutdown: refuse new calls, finish in-flight HTTP and bus work, then stop services. The bus stays open. */
  close(): Promise<void>;
  readiness(): Readiness;
}

interface ServiceEntry {
  readonly service: ServiceDefinition;
  state: ServiceState;
  error: { code: string; message: string } | undefined;
  subscriptions: Subscription[];
}

/**
 * One Fastify app for any number of services (embedded mode mounts them all; a single-service
 * process passes one), with every handler bound to HTTP (when it has a route) and to the bus.
 */
export async function createServiceApp(services: readonly ServiceDefinition[], opts: ServiceAppOptions): Promise<LoupeApp> {
  checkDeclarations(services, opts.remote);
  const { bus } = opts;
  const shutdown = new AbortController();
  const inFlight = inFlightCounter();
  const entries = new Map<string, ServiceEntry>(
    services.map((service) => [service.name, { service, state: 'starting', error: undefined, subscriptions: [] }]),
  );
  let closing = false;
  let starting: Promise<{ url: string | undefined }> | undefined;
  let closed: Promise<void> | undefined;

  const { fastify, localAuthorization, routes } = await createHttpSurface(services, opts, () => closing);
  const log = fastify.log;
  const readiness = (): Readiness => readinessOf(entries, closing, opts.readiness);
  const quiet = { logLevel: 'warn' as const, config: { access: 'public' as const } };
  const documented = processRouteSchemas(operationSecurity('public', opts.auth));
  fastify.get('/healthz', { ...quiet, schema: documented.health }, async () => ({ status: 'ok' }));
  fastify.get('/readyz', { ...quiet, schema: documented.readiness }, async (_request, reply) => {
    const state = readiness();
    return reply.code(state.status === 'ready' ? 200 : 503).send(state);
  });
  const metrics = createAppMetrics({ bus, ...(opts.readiness && { processDetails: opts.readiness }) });
  fastify.get('/metrics', { ...quiet, schema: documented.metrics }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  fastify.get('/openapi.json', { ...quiet, schema: documented.openapi }, async () => fastify.swagger());
  mountPages(fastify, services, quiet, opts.auth);

  for (const entry of entries.values()) {
    for (const decl of entry.service.handlers) {
      mountOperation(fastify, opts.auth, inFlight, entry.service.name, decl, (input, request, reply) => {
        assertReady(entry);
        return decl.handler(input, httpContext(request, reply, shutdown.signal));
      });
    }
  }
  // Routes of services other processes run: the public API is the same in one process and in many.
  const client = createClient(bus);
  for (const [serviceName, decls] of Object.entries(opts.remote ?? {})) {
    if (entries.has(serviceName)) continue;
    for (const decl of Object.values(decls)) {
      if (decl.mode !== 'request') continue;
      mountOperation(fastify, opts.auth, inFlight, serviceName, decl, async (input, request) => {
        if (closing) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
        const headers = Object.fromEntries(FORWARDED_HEADERS.flatMap((h) => (typeof request.headers[h] === 'string' ? [[h, request.headers[h] as string]] : [])));
        // Set here only, from what the auth hook verified; the bus is the services' trusted network.
        if (request.principal) headers[PRINCIPAL_HEADER] = JSON.stringify(request.principal);
        return fromBusValue(decl, await client.request(decl, input as never, { headers }));
      });
    }
  }

  const bindings = { log: log as unknown as Logger, inFlight, shutdown: shutdown.signal, queueBindings: opts.queueBindings, queue: opts.queue, metrics };
  async function startService(entry: ServiceEntry): Promise<void> {
    const name = entry.service.name;
    try {
      await entry.service.start?.();
      if (closing) {
        // close() began while this service was starting: it will not serve, so release what start() took.
        await entry.service.stop?.();
        entry.state = 'stopped';
        return;
      }
      entry.subscriptions = await bindServiceBus(bus, entry.service, bindings);
      entry.state = 'ready';
      log.info({ service: name }, `service ${name} ready`);
    } catch (err) {
      const loupeError = toLoupeError(err);
      entry.state = 'failed';
      entry.error = { code: loupeError.code, message: loupeError.message };
      log.error({ err, service: name }, `SERVICE ${name} FAILED TO START: it answers 503 until the process is restarted`);
    }
  }

  async function stopService(entry: ServiceEntry): Promise<void> {
    if (entry.state === 'starting' || entry.state === 'stopped') return;
    try {
      await entry.service.stop?.();
    } catch (err) {
      log.error({ err, service: entry.service.name }, `service ${entry.service.name} failed to stop cleanly`);
    }
    entry.state = 'stopped';
  }

  const shutdownAborted = new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));

  return {
    fastify,
    log,
    inject: fastify.inject.bind(fastify) as FastifyInstance['inject'],
    localAuthorization,
    routes,
    readiness,

    start(listen = {}) {
      if (closing) return Promise.reject(new LoupeError('LOUPE_ERR_SHUTTING_DOWN'));
      // Listening comes first so that /healthz and /readyz answer while models load.
      starting ??= (async () => {
        await fastify.ready();
        const url = listen.port === undefined ? undefined : await fastify.listen({ port: listen.port, ...(listen.host ? { host: listen.host } : {}) });
        await Promise.all([...entries.values()].map(startService));
        return { url };
      })();
      return starting;
    },

    close() {
      closed ??= (async () => {
        closing = true;
        for (const entry of entries.values()) if (entry.state === 'ready') entry.state = 'stopping';
        const grace = setTimeout(() => shutdown.abort(new LoupeError('LOUPE_ERR_SHUTTING_DOWN')), opts.graceMs ?? 10_000);
        grace.unref();
        try {
          await inFlight.idle();
          await fastify.close();
          if (starting) await Promise.race([starting.catch(() => undefined), shutdownAborted]);
          await Promise.allSettled([...entries.values()].flatMap((e) => e.subscriptions.map((s) => s.drain())));
          await inFlight.idle();
          await Promise.all([...entries.values()].map(stopService));
        } finally {
          clearTimeout(grace);
          metrics.close();
          if (!shutdown.signal.aborted) shutdown.abort(new LoupeError('LOUPE_ERR_SHUTTING_DOWN'));
        }
      })();
      return closed;
    },
  };
}

function assertReady(entry: ServiceEntry): void {
  if (entry.state === 'ready') return;
  if (entry.state === 'stopping' || entry.state === 'stopped') throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
  throw new LoupeError('LOUPE_ERR_NOT_READY', `service ${entry.service.name} is ${entry.state}`, { details: { service: entry.service.name, state: entry.state } });
}

function readinessOf(entries: ReadonlyMap<string, ServiceEntry>, closing: boolean, processDetails: ServiceAppOptions['readiness']): Readiness {
  const out: Record<string, ServiceReadiness> = {};
  for (const [name, entry] of entries) {
    let details: Record<string, unknown> | undefined;
    try {
      details = entry.service.readiness?.();
    } catch (err) {
      details = { error: toLoupeError(err).message };
    }
    out[name] = {
      state: entry.state,
      version: entry.service.version,
      ...(entry.error ? { error: entry.error } : {}),
      ...(details ? { details } : {}),
    };
  }
  const states = [...entries.values()].map((e) => e.state);
  const status = closing ? 'stopping' : states.includes('failed') ? 'failed' : states.every((s) => s === 'ready') ? 'ready' : 'starting';
  return { status, services: out, ...(processDetails ? { process: processDetails() } : {}) };
}
