import { createHash } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { decode, encode, jsonReply, replyError, type Bus, type Subscription } from '@loupe/bus';
import { ERRORS, LoupeError, ROLES, toLoupeError, type ApiDeclaration, type HandlerDeclaration, type Logger, type ServiceDefinition, type StaticPage } from '@loupe/contracts';
import { HEALTH_URLS, accessOf, operationSecurity, registerHttpAuth, securitySchemes, type AuthOptions } from './auth/http-auth.js';
import { FORWARDED_HEADERS, PRINCIPAL_HEADER, busRequestContext, httpContext, queueContext } from './handler-context.js';
import { ERROR_BODY_SCHEMA, toHttpError } from './http-errors.js';
import { inputDecoder } from './input-decoder.js';
import { bindQueueHandler, type QueueBindingOptions } from './pipeline.js';
import { routeInputSchemas } from './route-schema.js';
import { compileValidator, type InputPart } from './validation.js';

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

/** Keys and tokens never reach a log line, whatever a log call is handed. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]'];

/**
 * Pages run only their own same-origin script and style; images may come from any IIIF server,
 * which is why img-src is open while everything else is 'self' or nothing.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: http: data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function pageHeaders(page: StaticPage): Record<string, string> {
  return {
    'content-type': page.contentType,
    // Revalidated on every load (the ETag makes that cheap): a new release shows at once.
    'cache-control': 'no-cache',
    etag: `"${createHash('sha256').update(page.body).digest('base64url').slice(0, 27)}"`,
    'content-security-policy': PAGE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
}

const ACCESS: readonly unknown[] = [...ROLES, 'public'];

/** Start-up fails on ambiguous declarations, listing every problem at once. */
function checkDeclarations(services: readonly ServiceDefinition[], remote: ServiceAppOptions['remote']): void {
  const problems: string[] = [];
  const serviceNames = new Set<string>();
  const subjects = new Map<string, string>();
  const routes = new Map<string, string>();
  for (const service of services) {
    if (serviceNames.has(service.name)) problems.push(`service ${service.name} is declared twice`);
    serviceNames.add(service.name);
    const handlerNames = new Set<string>();
    for (const decl of service.handlers) {
      const id = `${service.name}.${decl.name}`;
      if (handlerNames.has(decl.name)) problems.push(`handler ${id} is declared twice`);
      handlerNames.add(decl.name);
      const subjectOwner = subjects.get(decl.subject);
      if (subjectOwner) problems.push(`${id} and ${subjectOwner} both handle ${decl.subject}`);
      subjects.set(decl.subject, id);
      if (decl.route) {
        const key = `${decl.route.method} ${decl.route.url}`;
        const routeOwner = routes.get(key);
        if (routeOwner) problems.push(`${id} and ${routeOwner} both answer ${key}`);
        routes.set(key, id);
      }
      for (const code of decl.errors) if (!Object.hasOwn(ERRORS, code)) problems.push(`${id} declares unknown error ${code}`);
      if (!ACCESS.includes(decl.role)) problems.push(`${id} declares no role (one of ${ACCESS.join(', ')})`);
    }
    for (const page of service.pages ?? []) {
      if (!page.url.startsWith('/')) problems.push(`page ${page.url} of ${service.name} is not an absolute path`);
      const key = `GET ${page.url}`;
      const routeOwner = routes.get(key);
      if (routeOwner) problems.push(`page ${page.url} of ${service.name} and ${routeOwner} both answer ${key}`);
      routes.set(key, `${service.name} page ${page.url}`);
    }
  }
  for (const [name, decls] of Object.entries(remote ?? {})) {
    for (const decl of Object.values(decls)) if (!ACCESS.includes(decl.role)) problems.push(`remote ${name}.${decl.name} declares no role`);
  }
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `invalid service declarations:\n- ${problems.join('\n- ')}`, { details: { problems } });
  }
}

function errorsDescription(decl: ApiDeclaration, access: string): string {
  const lines = decl.errors.map((code) => `- \`${code}\` (${ERRORS[code].status}): ${ERRORS[code].title}`);
  return [
    decl.summary,
    '',
    access === 'public' ? 'Public: no credentials needed.' : `Needs the \`${access}\` role (when authentication is configured).`,
    '',
    'Errors this operation reports:',
    ...(lines.length > 0 ? lines : ['- none of its own']),
    '',
    'Any operation may also answer `LOUPE_ERR_VALIDATION` (400), `LOUPE_ERR_RATE_LIMITED` (429), `LOUPE_ERR_NOT_READY` or `LOUPE_ERR_SHUTTING_DOWN` (503) and `LOUPE_ERR_INTERNAL` (500);',
    'one that needs a role, `LOUPE_ERR_AUTH_REQUIRED` or `LOUPE_ERR_AUTH_INVALID` (401) and `LOUPE_ERR_FORBIDDEN` (403).',
  ].join('\n');
}

/** Counts handlers running, so shutdown can wait for them whatever the transport (inject included). */
function inFlightCounter(): { enter(): void; leave(): void; idle(): Promise<void> } {
  let running = 0;
  let waiters: (() => void)[] = [];
  return {
    enter() {
      running++;
    },
    leave() {
      running--;
      if (running === 0) {
        for (const resolve of waiters) resolve();
        waiters = [];
      }
    },
    idle() {
      return running === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/**
 * One Fastify app for any number of services (embedded mode mounts them all; a single-service
 * process passes one), with every handler bound to HTTP (when it has a route) and to the bus.
 */
export async function createServiceApp(services: readonly ServiceDefinition[], opts: ServiceAppOptions): Promise<LoupeApp> {
  checkDeclarations(services, opts.remote);
  const { bus } = opts;
  const graceMs = opts.graceMs ?? 10_000;
  const fastify = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: withRedaction(opts.logger ?? true) }),
    return503OnClosing: false,
    // Search takes an uploaded image in the body (base64): room for a 9 MB file.
    bodyLimit: 12 * 1024 * 1024,
  }) as unknown as FastifyInstance;
  const log = fastify.log;
  const shutdown = new AbortController();
  const inFlight = inFlightCounter();
  const entries = new Map<string, ServiceEntry>(
    services.map((service) => [service.name, { service, state: 'starting', error: undefined, subscriptions: [] }]),
  );
  let closing = false;
  let starting: Promise<{ url: string | undefined }> | undefined;
  let closed: Promise<void> | undefined;

  fastify.setValidatorCompiler(({ schema, httpPart }) => compileValidator(schema, (httpPart ?? 'body') as InputPart));

  // Registered before any route: @fastify/swagger documents the routes added after it.
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Loupe', version: opts.version ?? services[0]?.version ?? '0.0.0' },
      servers: opts.publicUrl ? [{ url: opts.publicUrl }] : [],
      tags: services.map((s) => ({ name: s.name, description: s.description })),
      ...(opts.auth && { components: { securitySchemes: securitySchemes(opts.auth)! } }),
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  fastify.addSchema(ERROR_BODY_SCHEMA);
  const { localAuthorization } = await registerHttpAuth(fastify, opts.auth);
  await fastify.register(swaggerUi, { routePrefix: '/docs' });

  // The one place where an error becomes an HTTP answer.
  fastify.setErrorHandler((error, request, reply) => {
    const loupeError = toHttpError(error);
    if (loupeError.status >= 500) {
      const opaque = loupeError.code === 'LOUPE_ERR_INTERNAL' && !(error instanceof LoupeError);
      request.log.error({ err: opaque ? error : loupeError }, opaque ? 'unhandled error' : loupeError.message);
    }
    return reply.code(loupeError.status).send(loupeError.toJSON());
  });
  fastify.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new LoupeError('LOUPE_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`).toJSON()),
  );
  fastify.addHook('onRequest', async (request) => {
    if (closing && !HEALTH_URLS.has(request.routeOptions.url ?? '')) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
  });

  function readiness(): Readiness {
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
    return { status, services: out, ...(opts.readiness ? { process: opts.readiness() } : {}) };
  }

  const quiet = { schema: { hide: true }, logLevel: 'warn' as const, config: { access: 'public' as const } };
  fastify.get('/healthz', quiet, async () => ({ status: 'ok' }));
  fastify.get('/readyz', quiet, async (_request, reply) => {
    const state = readiness();
    return reply.code(state.status === 'ready' ? 200 : 503).send(state);
  });
  fastify.get('/openapi.json', quiet, async () => fastify.swagger());

  // Static pages answer before the services are ready: a page shows the API's 503 itself.
  for (const service of services) {
    for (const page of service.pages ?? []) {
      const headers = pageHeaders(page);
      fastify.get(page.url, quiet, async (request, reply) => {
        reply.headers(headers);
        const known = request.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
        if (known?.includes(headers.etag!) || known?.includes('*')) return reply.code(304).send();
        return reply.send(page.body);
      });
    }
  }

  function assertReady(entry: ServiceEntry): void {
    if (entry.state === 'ready') return;
    if (entry.state === 'stopping' || entry.state === 'stopped') throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
    throw new LoupeError('LOUPE_ERR_NOT_READY', `service ${entry.service.name} is ${entry.state}`, { details: { service: entry.service.name, state: entry.state } });
  }

  /** One route per declaration; `invoke` runs the handler here or, for a remote service, over the bus. */
  function mountRoute(serviceName: string, decl: ApiDeclaration, invoke: (input: unknown, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void {
    const route = decl.route;
    if (!route) return;
    const { params, rest } = routeInputSchemas(serviceName, decl);
    const inQuery = route.method === 'GET' || route.method === 'DELETE';
    const access = accessOf(decl, opts.auth);
    const security = operationSecurity(access, opts.auth);
    const schema: FastifySchema & Record<string, unknown> = {
      tags: [serviceName],
      summary: decl.summary,
      description: errorsDescription(decl, access),
      ...(security && { security }),
      operationId: `${serviceName}.${decl.name}`,
      ...(params ? { params } : {}),
      ...(rest ? (inQuery ? { querystring: rest } : { body: rest }) : {}),
      response: { 200: decl.output, '4xx': { $ref: 'LoupeError#' }, '5xx': { $ref: 'LoupeError#' } },
    };
    fastify.route({
      method: route.method,
      url: route.url,
      schema,
      config: { access, iiif: decl.iiif === true },
      handler: async (request, reply) => {
        inFlight.enter();
        try {
          const carried = (inQuery ? request.query : request.body) ?? {};
          const input = params ? { ...(carried as object), ...(request.params as object) } : carried;
          return await invoke(input, request, reply);
        } finally {
          inFlight.leave();
        }
      },
    });
  }

  for (const entry of entries.values()) {
    for (const decl of entry.service.handlers) {
      mountRoute(entry.service.name, decl, (input, request, reply) => {
        assertReady(entry);
        return decl.handler(input, httpContext(request, reply, shutdown.signal));
      });
    }
  }
  // Routes of services other processes run: the public API is the same in one process and in many.
  for (const [serviceName, decls] of Object.entries(opts.remote ?? {})) {
    if (entries.has(serviceName)) continue;
    for (const decl of Object.values(decls)) {
      if (decl.mode !== 'request') continue;
      mountRoute(serviceName, decl, async (input, request) => {
        if (closing) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
        const headers = Object.fromEntries(FORWARDED_HEADERS.flatMap((h) => (typeof request.headers[h] === 'string' ? [[h, request.headers[h] as string]] : [])));
        // Set here only, from what the auth hook verified; the bus is the services' trusted network.
        if (request.principal) headers[PRINCIPAL_HEADER] = JSON.stringify(request.principal);
        return decode((await bus.request(decl.subject, encode(input), { headers })).data);
      });
    }
  }

  async function serveRequestHandler(service: ServiceDefinition, decl: HandlerDeclaration): Promise<Subscription> {
    const decodeInput = inputDecoder(decl);
    const handlerLog = log.child({ service: service.name, handler: decl.name, subject: decl.subject }) as Logger;
    return bus.serve(decl.subject, async (data, headers) => {
      inFlight.enter();
      try {
        const output = await decl.handler(decodeInput(data), busRequestContext(headers, handlerLog, shutdown.signal));
        return jsonReply(output);
      } catch (err) {
        const loupeError = toLoupeError(err);
        if (loupeError.status >= 500) handlerLog.error({ err }, 'request handler failed');
        return replyError(loupeError);
      } finally {
        inFlight.leave();
      }
    });
  }

  const bindsQueue = (service: ServiceDefinition, decl: HandlerDeclaration): boolean =>
    typeof opts.queueBindings === 'function' ? opts.queueBindings(service, decl) : opts.queueBindings !== false;

  async function bindBus(service: ServiceDefinition): Promise<Subscription[]> {
    const subscriptions: Subscription[] = [];
    try {
      for (const decl of service.handlers) {
        if (decl.mode === 'request') {
          subscriptions.push(await serveRequestHandler(service, decl));
        } else if (bindsQueue(service, decl)) {
          const queueLog = log.child({ service: service.name, handler: decl.name, subject: decl.subject }) as Logger;
          subscriptions.push(await bindQueueHandler(bus, service, decl, (msg, signal) => queueContext(msg, signal, queueLog, shutdown.signal), opts.queue));
        }
      }
      return subscriptions;
    } catch (err) {
      await Promise.allSettled(subscriptions.map((s) => s.drain()));
      throw err;
    }
  }

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
      entry.subscriptions = await bindBus(entry.service);
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
        const grace = setTimeout(() => shutdown.abort(new LoupeError('LOUPE_ERR_SHUTTING_DOWN')), graceMs);
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
          if (!shutdown.signal.aborted) shutdown.abort(new LoupeError('LOUPE_ERR_SHUTTING_DOWN'));
        }
      })();
      return closed;
    },
  };
}

/** Fastify's logger option with the credential headers redacted. */
function withRedaction(logger: Exclude<ServiceAppOptions['logger'], undefined>): Exclude<ServiceAppOptions['logger'], undefined> {
  if (logger === false) return false;
  return { ...(logger === true ? {} : logger), redact: REDACTED_PATHS };
}
