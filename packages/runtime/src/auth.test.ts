// Authentication, roles, CORS and rate limits at the HTTP edge, driven through app.inject against
// a real keys file in a temporary directory.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { createMemoryBus } from '@loupe/bus';
import { defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { createApiKey, revokeApiKey } from './auth/api-keys.js';
import type { AuthOptions } from './auth/http-auth.js';
import { createServiceApp, type LoupeApp } from './service-app.js';

const Who = Type.Object({ principal: Type.Optional(Type.Any()) });

/** One route per kind of access, each answering who called. */
function shop(): ServiceDefinition {
  const who = (name: string, role: 'reader' | 'curator' | 'operator' | 'public', method: 'GET' | 'POST', url: string, iiif = false) =>
    defineHandler({
      name,
      summary: name,
      subject: `loupe.shop.${name}.v1`,
      mode: 'request',
      route: { method, url },
      role,
      iiif,
      input: Type.Object({ id: Type.Optional(Type.String()) }),
      output: Who,
      errors: [],
      handler: async (_input, ctx) => ({ principal: ctx.principal }),
    });
  return {
    name: 'shop',
    version: '1.0.0',
    description: 'routes of every access',
    handlers: [
      who('list', 'reader', 'GET', '/v1/things'),
      who('edit', 'curator', 'POST', '/v1/things'),
      who('run', 'operator', 'POST', '/v1/runs'),
      who('page', 'reader', 'GET', '/v1/pages/:id', true),
      who('context', 'public', 'GET', '/ns/context.jsonld', true),
    ],
  };
}

interface Setup {
  app: LoupeApp;
  keysFile: string;
  /** Moves the keys file's re-read clock. */
  advance(ms: number): void;
  key(role: 'reader' | 'curator' | 'operator' | 'admin', name?: string): Promise<{ id: string; token: string }>;
  call(method: 'GET' | 'POST' | 'OPTIONS', url: string, headers?: Record<string, string>, payload?: object): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
}

async function setup(t: Test, auth: Partial<AuthOptions> = {}, extra: { services?: ServiceDefinition[]; logs?: string[] } = {}): Promise<Setup> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-auth-'));
  const keysFile = path.join(dir, 'keys.json');
  let time = 0;
  const bus = createMemoryBus();
  const app = await createServiceApp(extra.services ?? [shop()], {
    bus,
    logger: extra.logs ? { level: 'info', stream: { write: (line: string) => extra.logs!.push(line) } } : false,
    auth: { keysFile, keys: { now: () => time }, ...auth },
  });
  t.teardown(async () => {
    await app.close();
    await bus.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  await app.start();
  return {
    app,
    keysFile,
    advance: (ms) => void (time += ms),
    async key(role, name = `${role} key`) {
      const { key, token } = await createApiKey(keysFile, { name, role });
      time += 1000;
      return { id: key.id, token };
    },
    async call(method, url, headers = {}, payload) {
      const body = payload ?? (method === 'POST' ? {} : undefined);
      const res = await app.inject({ method, url, headers, ...(body && { payload: body }) });
      return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
    },
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test('without keys or OIDC the API is open: every caller is anonymous with every role', async (t) => {
  const { call } = await setup(t);
  const res = await call('POST', '/v1/runs');
  t.equal(res.status, 200);
  t.same(res.body.principal, { id: 'anonymous', roles: ['admin'], via: 'anonymous' }, 'the handler sees an anonymous principal');
  t.equal((await call('GET', '/v1/things', bearer('whatever a proxy in front sends'))).status, 200, "a proxy's own credentials do not get in the way");
});

t.test('with a key in the file, credentials are required, checked and held to the route role', async (t) => {
  const s = await setup(t);
  const reader = await s.key('reader', 'Ada');
  const curator = await s.key('curator');

  const anonymous = await s.call('GET', '/v1/things');
  t.equal(anonymous.status, 401);
  t.equal(anonymous.body.code, 'LOUPE_ERR_AUTH_REQUIRED');
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="loupe"', 'the 401 says how to authenticate');

  const wrong = await s.call('GET', '/v1/things', bearer(`${reader.token.slice(0, -1)}x`));
  t.equal(wrong.status, 401);
  t.equal(wrong.body.code, 'LOUPE_ERR_AUTH_INVALID', 'one character off: invalid');
  t.match(wrong.headers['www-authenticate'], /error="invalid_token"/);
  t.equal((await s.call('GET', '/v1/things', bearer('loupe_000000000000_' + 'A'.repeat(43)))).body.code, 'LOUPE_ERR_AUTH_INVALID', 'unknown id: invalid');
  t.equal((await s.call('GET', '/v1/things', bearer('eyJhbGciOiJIUzI1NiJ9.e30.x'))).body.code, 'LOUPE_ERR_AUTH_INVALID', 'a JWT without an OIDC issuer: invalid');

  const read = await s.call('GET', '/v1/things', bearer(reader.token));
  t.equal(read.status, 200);
  t.same(read.body.principal, { id: reader.id, name: 'Ada', roles: ['reader'], via: 'key' }, "the key's principal reaches the handler");
  t.equal((await s.call('GET', '/v1/things', { 'x-api-key': reader.token })).status, 200, 'X-Api-Key works too');

  const denied = await s.call('POST', '/v1/things', bearer(reader.token));
  t.equal(denied.status, 403);
  t.equal(denied.body.code, 'LOUPE_ERR_FORBIDDEN');
  t.match(denied.body.message, /curator role/);

  t.equal((await s.call('POST', '/v1/things', bearer(curator.token))).status, 200, 'a curator edits');
  t.equal((await s.call('GET', '/v1/things', bearer(curator.token))).status, 200, 'and reads');
  t.equal((await s.call('POST', '/v1/runs', bearer(curator.token))).status, 403, 'but does not run jobs: curator and operator are separate');
  const admin = await s.key('admin');
  t.equal((await s.call('POST', '/v1/runs', bearer(admin.token))).status, 200, 'admin may do anything');
  t.equal((await s.call('POST', '/v1/things', bearer(admin.token))).status, 200);

  t.equal((await s.call('GET', '/ns/context.jsonld')).status, 200, 'a public route needs nothing');
  t.equal((await s.call('GET', '/healthz')).status, 200, 'nor do the health routes');
  t.equal((await s.call('GET', '/openapi.json')).status, 200, 'nor the OpenAPI document');
  t.equal((await s.call('GET', '/v1/pages/p1')).status, 401, 'an IIIF-facing route needs reader by default');
});

t.test('the keys file keeps hashes only, mode 0600; a revoke takes effect without a restart', async (t) => {
  const s = await setup(t);
  const { id, token } = await s.key('curator');
  const text = await fs.readFile(s.keysFile, 'utf8');
  t.notOk(text.includes(token.slice(-43)), 'the secret is not in the file');
  t.equal((await fs.stat(s.keysFile)).mode & 0o777, 0o600, 'only its owner reads it');
  t.equal((await s.call('GET', '/v1/things', bearer(token))).status, 200);

  await revokeApiKey(s.keysFile, id);
  s.advance(1000);
  const refused = await s.call('GET', '/v1/things', bearer(token));
  t.equal(refused.status, 401, 'revoked: refused within a second, same process');
  t.equal(refused.body.code, 'LOUPE_ERR_AUTH_INVALID');
  t.equal((await s.call('GET', '/v1/things')).status, 401, 'revoking the last key does not reopen the API');
});

t.test('a keys file that cannot be read fails closed', async (t) => {
  const logs: string[] = [];
  const s = await setup(t, {}, { logs });
  const { token } = await s.key('admin');
  await fs.writeFile(s.keysFile, '{"version": 1, "keys": [');
  s.advance(1000);
  const res = await s.call('GET', '/v1/things', bearer(token));
  t.equal(res.status, 500, 'a key that was good is not accepted while the file is broken');
  t.equal(res.body.code, 'LOUPE_ERR_CONFIG_INVALID');
  t.notMatch(res.body.message, /keys\.json/, 'the answer does not say where the file lives');
  t.equal((await s.call('GET', '/v1/things')).status, 401, 'and the API does not open');
  t.match(logs.join(''), /every API key is refused: the API keys file .*keys\.json is not JSON/, 'the log says what is wrong');
});

t.test('the in-process caller is admin through a secret only this process knows', async (t) => {
  const s = await setup(t);
  await s.key('reader');
  const local = await s.call('POST', '/v1/runs', { authorization: s.app.localAuthorization });
  t.equal(local.status, 200);
  t.same(local.body.principal, { id: 'local', name: 'local', roles: ['admin'], via: 'local' });
  const other = await setup(t);
  await other.key('reader');
  t.equal((await other.call('POST', '/v1/runs', { authorization: s.app.localAuthorization })).status, 401, "another process's secret is nothing here");
});

t.test('a principal header sent over HTTP is never trusted', async (t) => {
  const s = await setup(t);
  const reader = await s.key('reader');
  const forged = JSON.stringify({ id: 'root', roles: ['admin'], via: 'key' });
  t.equal((await s.call('POST', '/v1/runs', { 'loupe-principal': forged })).status, 401, 'no credentials: still 401');
  const res = await s.call('GET', '/v1/things', { ...bearer(reader.token), 'loupe-principal': forged });
  t.equal(res.body.principal.id, reader.id, 'the handler sees the key, not the header');
});

t.test('over the bus, a remote service sees the principal the gateway authenticated', async (t) => {
  const bus = createMemoryBus();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-auth-'));
  const keysFile = path.join(dir, 'keys.json');
  const { token, key } = await createApiKey(keysFile, { name: 'Grace', role: 'curator' });
  const service = shop();
  const worker = await createServiceApp([service], { bus, logger: false });
  const remote = { shop: Object.fromEntries(service.handlers.map(({ handler: _h, ...decl }) => [decl.name, decl])) };
  const gateway = await createServiceApp([], { bus, logger: false, remote, auth: { keysFile } });
  t.teardown(async () => {
    await gateway.close();
    await worker.close();
    await bus.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  await worker.start();
  await gateway.start();
  const forged = '{"id":"root","roles":["admin"],"via":"key"}';
  const res = await gateway.inject({ method: 'POST', url: '/v1/things', headers: { ...bearer(token), 'loupe-principal': forged }, payload: {} });
  t.equal(res.statusCode, 200);
  t.same(res.json().principal, { id: key.id, name: 'Grace', roles: ['curator'], via: 'key' }, 'verified at the gateway, carried over the bus');
  t.equal((await gateway.inject({ method: 'POST', url: '/v1/runs', headers: bearer(token), payload: {} })).statusCode, 403, 'roles are enforced at the gateway for remote routes too');
});

t.test('start-up fails on a handler that declares no role', async (t) => {
  const service = shop();
  const { role: _role, ...roleless } = service.handlers[0]!;
  await t.rejects(createServiceApp([{ ...service, handlers: [roleless as never] }], { bus: createMemoryBus(), logger: false }), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
    message: /shop\.list declares no role/,
  });
});

t.test('a route added outside the declarations is for admins only', async (t) => {
  const bus = createMemoryBus();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-auth-'));
  const keysFile = path.join(dir, 'keys.json');
  const app = await createServiceApp([], { bus, logger: false, auth: { keysFile } });
  app.fastify.get('/v1/raw', async () => ({ ok: true }));
  t.teardown(async () => {
    await app.close();
    await bus.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  await app.start();
  const curator = await createApiKey(keysFile, { name: 'c', role: 'curator' });
  const admin = await createApiKey(keysFile, { name: 'a', role: 'admin' });
  t.equal((await app.inject({ method: 'GET', url: '/v1/raw', headers: bearer(curator.token) })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: '/v1/raw', headers: bearer(admin.token) })).statusCode, 200);
});

t.test('LOUPE_IIIF_PUBLIC: the IIIF-facing GET routes answer without credentials, nothing else does', async (t) => {
  const s = await setup(t, { publicIiif: true });
  await s.key('reader');
  t.equal((await s.call('GET', '/v1/pages/p1')).status, 200, 'a viewer reads the annotation page');
  t.equal((await s.call('GET', '/v1/things')).status, 401, 'the rest of the API still needs a key');
});

t.test('CORS: the IIIF-facing routes answer any origin, the rest only the configured ones', async (t) => {
  const s = await setup(t, { corsOrigins: ['https://curate.example.org'] });
  const reader = await s.key('reader');
  const from = (origin: string) => ({ origin, ...bearer(reader.token) });

  const page = await s.call('GET', '/v1/pages/p1', from('https://viewer.example.net'));
  t.equal(page.headers['access-control-allow-origin'], '*', 'an IIIF page: any origin');
  t.equal((await s.call('GET', '/ns/context.jsonld', { origin: 'https://any.example' })).headers['access-control-allow-origin'], '*', 'the JSON-LD context too');

  const api = await s.call('GET', '/v1/things', from('https://evil.example'));
  t.equal(api.status, 200, 'the server answers (CORS is for browsers)');
  t.notOk(api.headers['access-control-allow-origin'], 'but a browser on another origin may not read it');
  t.equal((await s.call('GET', '/v1/things', from('https://curate.example.org'))).headers['access-control-allow-origin'], 'https://curate.example.org', 'a configured origin may');

  const preflight = await s.call('OPTIONS', '/v1/pages/p1', { origin: 'https://viewer.example.net', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' });
  t.equal(preflight.status, 204, 'a preflight to an IIIF route is answered without credentials');
  t.equal(preflight.headers['access-control-allow-origin'], '*');
  t.match(preflight.headers['access-control-allow-headers'], /Authorization/);

  const apiPreflight = await s.call('OPTIONS', '/v1/things', { origin: 'https://curate.example.org', 'access-control-request-method': 'POST' });
  t.equal(apiPreflight.status, 204);
  t.equal(apiPreflight.headers['access-control-allow-origin'], 'https://curate.example.org');
  t.match(apiPreflight.headers['access-control-allow-methods'], /POST/);
  const refusedPreflight = await s.call('OPTIONS', '/v1/things', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
  t.notOk(refusedPreflight.headers['access-control-allow-origin'], 'an unknown origin gets no CORS headers');

  const unauthorised = await s.call('GET', '/v1/things', { origin: 'https://curate.example.org' });
  t.equal(unauthorised.status, 401);
  t.equal(unauthorised.headers['access-control-allow-origin'], 'https://curate.example.org', 'a 401 is readable by the allowed page, which can then ask for a key');
});

t.test('rate limits: per key, 429 with Retry-After and a LoupeError body; health routes and this process exempt', async (t) => {
  const s = await setup(t, { rateLimitPerMinute: 3 });
  const first = await s.key('reader');
  const second = await s.key('reader');
  for (let i = 0; i < 3; i++) t.equal((await s.call('GET', '/v1/things', bearer(first.token))).status, 200);
  const limited = await s.call('GET', '/v1/things', bearer(first.token));
  t.equal(limited.status, 429);
  t.equal(limited.body.code, 'LOUPE_ERR_RATE_LIMITED');
  t.equal(limited.body.retryable, true);
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60, `Retry-After: ${limited.headers['retry-after']}`);
  t.equal((await s.call('GET', '/v1/things', bearer(second.token))).status, 200, 'another key has its own budget');
  for (let i = 0; i < 5; i++) t.equal((await s.call('GET', '/healthz')).status, 200, 'health checks are never limited');
  for (let i = 0; i < 5; i++) t.equal((await s.call('GET', '/v1/things', { authorization: s.app.localAuthorization })).status, 200, 'nor is the in-process CLI');
});

t.test('the rate limit counts public routes per address', async (t) => {
  const s = await setup(t, { rateLimitPerMinute: 2 });
  await s.key('reader');
  t.equal((await s.call('GET', '/ns/context.jsonld')).status, 200);
  t.equal((await s.call('GET', '/ns/context.jsonld')).status, 200);
  t.equal((await s.call('GET', '/ns/context.jsonld')).status, 429);
});

t.test('OpenAPI declares the security schemes and what each operation needs', async (t) => {
  const s = await setup(t);
  const doc = (await s.call('GET', '/openapi.json')).body;
  t.match(doc.components.securitySchemes, { apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' }, bearer: { type: 'http', scheme: 'bearer' } });
  t.notOk(doc.components.securitySchemes.oidc, 'no OIDC scheme without an issuer');
  t.same(doc.paths['/v1/things'].post.security, [{ apiKey: [] }, { bearer: [] }]);
  t.match(doc.paths['/v1/things'].post.description, /Needs the `curator` role/);
  t.same(doc.paths['/ns/context.jsonld'].get.security, [], 'a public operation needs nothing');

  const withOidc = await setup(t, { oidc: { issuer: 'https://id.example.org/realms/loupe', rolesClaim: 'roles' } });
  const oidcDoc = (await withOidc.call('GET', '/openapi.json')).body;
  t.same(oidcDoc.components.securitySchemes.oidc, { type: 'openIdConnect', openIdConnectUrl: 'https://id.example.org/realms/loupe/.well-known/openid-configuration' });
  t.same(oidcDoc.paths['/v1/runs'].post.security, [{ apiKey: [] }, { bearer: [] }, { oidc: [] }]);
});

t.test('logs name the principal of each request and never hold a key', async (t) => {
  const logs: string[] = [];
  const s = await setup(t, {}, { logs });
  const { id, token } = await s.key('reader');
  await s.call('GET', '/v1/things', { ...bearer(token), 'x-api-key': token });
  s.app.log.info({ headers: { authorization: `Bearer ${token}`, 'x-api-key': token } }, 'a careless log call');
  const text = logs.join('');
  t.match(text, new RegExp(`"principal":"key:${id}"[^\\n]*"request completed"|"request completed"[^\\n]*"principal":"key:${id}"`), 'the completed request names its principal');
  t.notOk(text.includes(token.slice(-43)), 'no line holds the secret');
  t.match(text, /\[Redacted\]/, 'headers handed to the logger are redacted');
});
