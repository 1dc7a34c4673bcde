import { randomBytes, timingSafeEqual } from 'node:crypto';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LoupeError, allows, type Access, type ApiDeclaration, type Principal } from '@loupe/contracts';
import { apiKeyVerifier, looksLikeApiKey, type KeyVerifierOptions } from './api-keys.js';
import { PRINCIPAL_HEADER } from '../handler-context.js';
import { oidcVerifier, type OidcOptions } from './oidc.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, once the auth hook ran on a route that is not public. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** What the route asks of its caller; a route mounted without one needs `admin`. */
    access?: Access;
    /** Read by IIIF viewers: answers any origin. */
    iiif?: boolean;
  }
}

/** Who may call the HTTP API; docs/security.md. Absent: nobody needs credentials. */
export interface AuthOptions {
  /** The hashed API keys `loupe keys` writes; while it holds a key, every non-public route needs credentials. */
  readonly keysFile?: string;
  /** OIDC/JWT bearer tokens from this issuer; configured means credentials are always needed. */
  readonly oidc?: OidcOptions | undefined;
  /** The IIIF-facing GET routes need no credentials (viewers such as Mirador send none). */
  readonly publicIiif?: boolean;
  /** Origins the rest of the API answers (CORS); the IIIF-facing GET routes answer any origin. */
  readonly corsOrigins?: readonly string[];
  /** Requests per minute per caller (key, token subject, else address); 0 or absent: no limit. */
  readonly rateLimitPerMinute?: number;
  /** How the keys file is re-read (tests pass a clock). */
  readonly keys?: KeyVerifierOptions;
}

// /metrics with them: a scraper must see a process that is stopping or busy, as a probe must.
export const HEALTH_URLS = new Set(['/healthz', '/readyz', '/metrics']);

const ANONYMOUS: Principal = { id: 'anonymous', roles: ['admin'], via: 'anonymous' };
const LOCAL: Principal = { id: 'local', name: 'local', roles: ['admin'], via: 'local' };
const REALM = 'Bearer realm="loupe"';

/** What a route needs once the deployment's choices are applied. */
export function accessOf(decl: Pick<ApiDeclaration, 'role' | 'iiif'>, auth: AuthOptions | undefined): Access {
  return decl.iiif && auth?.publicIiif ? 'public' : decl.role;
}

/** OpenAPI's security schemes for these options. */
export function securitySchemes(auth: AuthOptions | undefined) {
  if (!auth) return undefined;
  return {
    apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key from `loupe keys create` (also accepted as a bearer token)' } as const,
    bearer: { type: 'http', scheme: 'bearer', description: 'An API key (`loupe_...`) or, with OIDC configured, a JWT from the issuer' } as const,
    ...(auth.oidc && { oidc: { type: 'openIdConnect', openIdConnectUrl: `${auth.oidc.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration` } as const }),
  };
}

/** An operation's `security` in OpenAPI: none for public routes, any one scheme otherwise. */
export function operationSecurity(access: Access, auth: AuthOptions | undefined): Record<string, string[]>[] | undefined {
  const schemes = securitySchemes(auth);
  if (!schemes) return undefined;
  return access === 'public' ? [] : Object.keys(schemes).map((name) => ({ [name]: [] }));
}

/** `/v1/jobs/:id/manifest` -> a pattern for the path of a preflight request to it. */
const pathPattern = (url: string): RegExp => new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`);

function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const bearer = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  if (bearer) return bearer;
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? key.trim() : undefined;
}

export interface HttpAuth {
  /** The Authorization header this process's own in-process calls carry (the CLI's apiCaller). */
  readonly localAuthorization: string;
}

/**
 * Authentication, roles, CORS and rate limits on one Fastify instance: one onRequest hook decides
 * who calls and whether they may; it must be registered before any route.
 *
 * No keys in the file and no OIDC issuer: the API is open (every caller is `anonymous` with every
 * role); `loupe serve` allows that on loopback only. Once the file has held a key, the API stays
 * closed even if the file is emptied: revoking the last key never reopens it.
 */
export async function registerHttpAuth(fastify: FastifyInstance, auth: AuthOptions | undefined): Promise<HttpAuth> {
  const keys = auth?.keysFile ? apiKeyVerifier(auth.keysFile, { warn: (m) => fastify.log.warn(m), ...auth.keys }) : undefined;
  const oidc = auth?.oidc ? oidcVerifier(auth.oidc) : undefined;
  // Lives only in this process's memory: the in-process CLI's credential cannot be replayed from outside.
  const localSecret = Buffer.from(`local.${randomBytes(32).toString('base64url')}`);
  let closed = oidc !== undefined;
  const enforcing = async (): Promise<boolean> => (closed ||= (await keys?.hasKeys()) ?? false);

  const iiifPaths: RegExp[] = [];
  fastify.decorateRequest('principal', undefined);
  fastify.addHook('onRoute', (route) => {
    const config = route.config ?? {};
    if (config.iiif) iiifPaths.push(pathPattern(route.url));
    // Closed unless said otherwise: a route added without a role is the admins' alone.
    const open = route.url.startsWith('/docs') || route.method === 'OPTIONS';
    if (config.access === undefined) route.config = { ...config, access: open ? 'public' : 'admin' };
  });

  const isLocal = (token: string): boolean => {
    const given = Buffer.from(token);
    return given.length === localSecret.length && timingSafeEqual(given, localSecret);
  };
  async function principalOf(token: string): Promise<Principal> {
    if (isLocal(token)) return LOCAL;
    if (!(await enforcing())) return ANONYMOUS;
    if (looksLikeApiKey(token)) {
      if (keys) return keys.verify(token);
    } else if (oidc) {
      return oidc(token);
    }
    throw new LoupeError('LOUPE_ERR_AUTH_INVALID', oidc ? 'the API key is not valid' : 'the token is not an API key, and this Loupe accepts no other bearer tokens');
  }

  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // Only the gateway speaks for a caller on the bus: a client's own claim is dropped at the door.
    delete request.headers[PRINCIPAL_HEADER];
    const access = request.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const token = credentialOf(request);
    let principal: Principal;
    if (token !== undefined) {
      try {
        principal = await principalOf(token);
      } catch (err) {
        if (err instanceof LoupeError && err.code === 'LOUPE_ERR_AUTH_INVALID') reply.header('www-authenticate', `${REALM}, error="invalid_token"`);
        throw err;
      }
    } else if (await enforcing()) {
      reply.header('www-authenticate', REALM);
      throw new LoupeError('LOUPE_ERR_AUTH_REQUIRED', 'this operation needs an API key (X-Api-Key or Authorization: Bearer) or a bearer token');
    } else {
      principal = ANONYMOUS;
    }
    request.principal = principal;
    request.log = reply.log = request.log.child({ principal: `${principal.via}:${principal.id}` });
    if (!allows(principal.roles, access)) {
      reply.header('www-authenticate', `${REALM}, error="insufficient_scope"`);
      throw new LoupeError('LOUPE_ERR_FORBIDDEN', `this operation needs the ${access} role`, { details: { needs: access, has: principal.roles } });
    }
  }

  const headers = ['Authorization', 'X-Api-Key', 'Content-Type', 'Accept'];
  const exposed = ['Retry-After', 'WWW-Authenticate'];
  const anyOrigin: FastifyCorsOptions = { origin: '*', methods: ['GET', 'HEAD'], allowedHeaders: headers, exposedHeaders: exposed, maxAge: 600 };
  const origins = auth?.corsOrigins ?? [];
  const apiOrigins: FastifyCorsOptions = {
    origin: origins.length > 0 ? [...origins] : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: headers,
    exposedHeaders: exposed,
    maxAge: 600,
  };
  const isIiif = (request: FastifyRequest): boolean =>
    request.method === 'OPTIONS' ? iiifPaths.some((p) => p.test(request.url.split('?')[0]!)) : request.routeOptions.config?.iiif === true;
  // Registered before the auth hook: a 401 carries CORS headers (a browser can read why), and a
  // preflight is answered before credentials are asked for (browsers send none with it).
  await fastify.register(cors, { hook: 'onRequest', delegator: async (request: FastifyRequest) => (isIiif(request) ? anyOrigin : apiOrigins) });
  fastify.addHook('onRequest', authenticate);

  const perMinute = auth?.rateLimitPerMinute ?? 0;
  if (perMinute > 0) {
    // Its hook is added to each route, so it runs after the auth hook and counts per principal;
    // public routes count per address. An open API is not limited: it is either on loopback (a
    // person's own machine) or behind an authenticating proxy, where every request has the
    // proxy's address and per-address limits would throttle the whole institution as one caller.
    await fastify.register(rateLimit, {
      global: true,
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => (request.principal ? `${request.principal.via}:${request.principal.id}` : `ip:${request.ip}`),
      allowList: async (request) => HEALTH_URLS.has(request.routeOptions.url ?? '') || request.principal?.via === 'local' || !(await enforcing()),
      errorResponseBuilder: (_request, context) =>
        new LoupeError('LOUPE_ERR_RATE_LIMITED', `more than ${context.max} requests a minute; retry in ${context.after}`, {
          details: { limitPerMinute: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        }),
    });
  }

  return { localAuthorization: `Bearer ${localSecret.toString()}` };
}
