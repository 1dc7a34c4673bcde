import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { ERRORS, LoupeError, type ApiDeclaration, type ServiceDefinition, type StaticPage } from '@loupe/contracts';
import { HEALTH_URLS, accessOf, operationSecurity, registerHttpAuth, securitySchemes, type AuthOptions } from './auth/http-auth.js';
import { ERROR_BODY_SCHEMA, toHttpError } from './http-errors.js';
import type { InFlight } from './in-flight.js';
import { PROCESS_TAG, pageRouteSchema, withDefaultsOptional } from './openapi-document.js';
import { routeInputSchemas } from './route-schema.js';
import { asBuffer, isBinaryMediaType, successResponse } from './binary-response.js';
import { registerHttpTracing } from './telemetry/http-tracing.js';
import type { ServiceAppOptions } from './service-app.js';
import { compileValidator, type InputPart } from './validation.js';

/** Keys and tokens never reach a log line, whatever a log call is handed. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]'];

/**
 * The HTTP side of a process: Fastify with the services' schemas as validators, OpenAPI, the
 * authentication hooks, and the one error handler. Routes are mounted afterwards (`mountOperation`).
 */
export async function createHttpSurface(
  services: readonly ServiceDefinition[],
  opts: ServiceAppOptions,
  isClosing: () => boolean,
): Promise<{ fastify: FastifyInstance; localAuthorization: string; routes: readonly MountedRoute[] }> {
  const fastify = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: withRedaction(opts.logger ?? true) }),
    return503OnClosing: false,
    // Search takes an uploaded image in the body (base64): room for a 9 MB file.
    bodyLimit: 12 * 1024 * 1024,
  }) as unknown as FastifyInstance;
  fastify.setValidatorCompiler(({ schema, httpPart }) => compileValidator(schema, (httpPart ?? 'body') as InputPart));
  const routes: MountedRoute[] = [];
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  // Registered before any route, as @fastify/swagger below: both wrap the routes added after them.
  await registerHttpTracing(fastify);
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Loupe', version: opts.version ?? services[0]?.version ?? '0.0.0' },
      servers: opts.publicUrl ? [{ url: opts.publicUrl }] : [],
      tags: [...services.map((s) => ({ name: s.name, description: s.description })), PROCESS_TAG],
      ...(opts.auth && { components: { securitySchemes: securitySchemes(opts.auth)! } }),
    },
    transformObject: (document) => withDefaultsOptional(('openapiObject' in document ? document.openapiObject : document.swaggerObject) as Record<string, unknown>),
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
    if (isClosing() && !HEALTH_URLS.has(request.routeOptions.url ?? '')) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN');
  });
  return { fastify, localAuthorization, routes };
}

/** A route as Fastify holds it (HEAD and OPTIONS included), for checks that every route is documented. */
export interface MountedRoute {
  readonly method: string;
  readonly url: string;
}

/** What serves an operation: its handler here, or a request over the bus to the process that runs it. */
export type Invoke = (input: unknown, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/** One route per declaration, validated by its schema and documented in OpenAPI with its role and errors. */
export function mountOperation(fastify: FastifyInstance, auth: AuthOptions | undefined, inFlight: InFlight, serviceName: string, decl: ApiDeclaration, invoke: Invoke): void {
  const route = decl.route;
  if (!route) return;
  const { params, rest } = routeInputSchemas(serviceName, decl);
  const inQuery = route.method === 'GET' || route.method === 'DELETE';
  const access = accessOf(decl, auth);
  const security = operationSecurity(access, auth);
  const schema: FastifySchema & Record<string, unknown> = {
    tags: [serviceName],
    summary: decl.summary,
    description: errorsDescription(decl, access),
    ...(security && { security }),
    operationId: `${serviceName}.${decl.name}`,
    ...(params ? { params } : {}),
    ...(rest ? (inQuery ? { querystring: rest } : { body: rest }) : {}),
    // A document format or bytes are documented under their own media type; errors stay JSON whatever the route.
    response: { 200: successResponse(decl), '4xx': { $ref: 'LoupeError#' }, '5xx': { $ref: 'LoupeError#' } },
  };
  // Fastify sends a string as it is once the type is neither unset nor JSON: set before the send.
  // Bytes have no charset; a binary route's JSON alternative (an object) goes out as JSON.
  const binary = isBinaryMediaType(decl.mediaType);
  const contentType = decl.mediaType && !binary ? `${decl.mediaType}; charset=utf-8` : undefined;
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
        const output = await invoke(input, request, reply);
        if (contentType) reply.type(contentType);
        const bytes = binary ? asBuffer(output) : undefined;
        if (bytes) return reply.type(decl.mediaType!).send(bytes);
        return output;
      } finally {
        inFlight.leave();
      }
    },
  });
}

/** Static pages answer before the services are ready: a page shows the API's 503 itself. */
export function mountPages(fastify: FastifyInstance, services: readonly ServiceDefinition[], routeOptions: object, auth: AuthOptions | undefined): void {
  for (const service of services) {
    for (const page of service.pages ?? []) {
      const headers = pageHeaders(page);
      fastify.get(page.url, { ...routeOptions, schema: pageRouteSchema(service.name, page, operationSecurity('public', auth)) }, async (request, reply) => {
        reply.headers(headers);
        const known = request.headers['if-none-match']?.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
        if (known?.includes(headers.etag!) || known?.includes('*')) return reply.code(304).send();
        return reply.send(page.body);
      });
    }
  }
}

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

/** Fastify's logger option with the credential headers redacted. */
function withRedaction(logger: Exclude<ServiceAppOptions['logger'], undefined>): Exclude<ServiceAppOptions['logger'], undefined> {
  if (logger === false) return false;
  return { ...(logger === true ? {} : logger), redact: REDACTED_PATHS };
}
