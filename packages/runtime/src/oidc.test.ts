// OIDC bearer tokens against a real issuer on loopback: a node:http server serving discovery and
// its JWKS, tokens signed with jose as an identity provider would sign them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { Type } from '@sinclair/typebox';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { createMemoryBus } from '@loupe/bus';
import { defineHandler, type ServiceDefinition } from '@loupe/contracts';
import type { OidcOptions } from './auth/oidc.js';
import { createServiceApp, type LoupeApp } from './service-app.js';

interface Issuer {
  url: string;
  /** Requests the issuer answered, by path. */
  hits: Record<string, number>;
  sign(claims: Record<string, unknown>, opts?: { kid?: string; key?: CryptoKey; alg?: string; expires?: string | number; issuer?: string; audience?: string }): Promise<string>;
  close(): Promise<void>;
}

async function startIssuer(): Promise<Issuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const hits: Record<string, number> = {};
  let url = '';
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    hits[path] = (hits[path] ?? 0) + 1;
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/realms/loupe/.well-known/openid-configuration') return json({ issuer: `${url}/realms/loupe`, jwks_uri: `${url}/realms/loupe/certs` });
    if (path === '/realms/loupe/certs') return json({ keys: [jwk] });
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${url}/realms/loupe`,
    hits,
    async sign(claims, opts = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'k1' })
        .setIssuer(opts.issuer ?? `${url}/realms/loupe`)
        .setAudience(opts.audience ?? 'loupe')
        .setSubject('u-123')
        .setIssuedAt()
        .setExpirationTime(opts.expires ?? '5m')
        .sign(opts.key ?? privateKey);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function service(): ServiceDefinition {
  const who = (name: string, role: 'reader' | 'curator', method: 'GET' | 'POST') =>
    defineHandler({
      name,
      summary: name,
      subject: `loupe.oidc.${name}.v1`,
      mode: 'request',
      route: { method, url: '/v1/things' },
      role,
      input: Type.Object({}),
      output: Type.Object({ principal: Type.Optional(Type.Any()) }),
      errors: [],
      handler: async (_input, ctx) => ({ principal: ctx.principal }),
    });
  return { name: 'oidc', version: '1.0.0', description: 'reads and edits', handlers: [who('read', 'reader', 'GET'), who('edit', 'curator', 'POST')] };
}

async function setup(t: Test, oidc: (issuer: Issuer) => Partial<OidcOptions> = () => ({})): Promise<{ issuer: Issuer; app: LoupeApp; call: (method: 'GET' | 'POST', token?: string) => Promise<{ status: number; body: any }> }> {
  const issuer = await startIssuer();
  const bus = createMemoryBus();
  const app = await createServiceApp([service()], { bus, logger: false, auth: { oidc: { issuer: issuer.url, audience: 'loupe', rolesClaim: 'roles', ...oidc(issuer) } } });
  t.teardown(async () => {
    await app.close();
    await bus.close();
    await issuer.close();
  });
  await app.start();
  const call = async (method: 'GET' | 'POST', token?: string) => {
    const res = await app.inject({ method, url: '/v1/things', ...(token && { headers: { authorization: `Bearer ${token}` } }), ...(method === 'POST' && { payload: {} }) });
    return { status: res.statusCode, body: res.json() };
  };
  return { issuer, app, call };
}

t.test('a good token: its subject, name and roles become the principal', async (t) => {
  const { issuer, call } = await setup(t);
  const res = await call('POST', await issuer.sign({ roles: ['curator'], preferred_username: 'ada' }));
  t.equal(res.status, 200);
  t.same(res.body.principal, { id: 'u-123', name: 'ada', roles: ['curator'], via: 'oidc' });
  t.equal(issuer.hits['/realms/loupe/.well-known/openid-configuration'], 1, 'the JWKS was found by discovery');
  await call('GET', await issuer.sign({ roles: 'reader' }));
  t.equal(issuer.hits['/realms/loupe/certs'], 1, 'and fetched once for many tokens');
  t.equal((await call('GET')).status, 401, 'OIDC configured: no credentials, no entry');
});

t.test('roles as a string, or at a dotted path of the token', async (t) => {
  const { issuer, call } = await setup(t, () => ({ rolesClaim: 'realm_access.roles' }));
  const res = await call('POST', await issuer.sign({ realm_access: { roles: ['offline_access', 'curator'] }, name: 'Ada Lovelace' }));
  t.equal(res.status, 200);
  t.same(res.body.principal, { id: 'u-123', name: 'Ada Lovelace', roles: ['curator'], via: 'oidc' }, 'roles Loupe does not know are dropped');
});

t.test('a token Loupe must refuse answers 401 LOUPE_ERR_AUTH_INVALID', async (t) => {
  const { issuer, call } = await setup(t);
  const other = await generateKeyPair('RS256');
  const cases: [string, Promise<string>][] = [
    ['wrong issuer', issuer.sign({ roles: ['reader'] }, { issuer: 'https://evil.example/realms/loupe' })],
    ['wrong audience', issuer.sign({ roles: ['reader'] }, { audience: 'another-app' })],
    ['expired beyond the clock tolerance', issuer.sign({ roles: ['reader'] }, { expires: Math.floor(Date.now() / 1000) - 120 })],
    ['signed by another key under the same kid', issuer.sign({ roles: ['reader'] }, { key: other.privateKey })],
    ['an unknown kid', issuer.sign({ roles: ['reader'] }, { kid: 'k2', key: other.privateKey })],
    ['HS256 (a shared secret, never from a JWKS)', issuer.sign({ roles: ['reader'] }, { alg: 'HS256', key: new TextEncoder().encode('x'.repeat(32)) as never })],
    ['not a JWT at all', Promise.resolve('not-a-token')],
  ];
  for (const [what, token] of cases) {
    const res = await call('GET', await token);
    t.equal(res.status, 401, what);
    t.equal(res.body.code, 'LOUPE_ERR_AUTH_INVALID', what);
  }
  const alg = await call('GET', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', roles: ['admin'], iss: issuer.url, aud: 'loupe' })).toString('base64url')}.`);
  t.equal(alg.status, 401, 'alg none: refused');
  const late = await call('GET', await issuer.sign({ roles: ['reader'] }, { expires: Math.floor(Date.now() / 1000) - 10 }));
  t.equal(late.status, 200, 'expired by less than the 30 s tolerance: a small clock skew is forgiven');
});

t.test('a valid token without the role answers 403', async (t) => {
  const { issuer, call } = await setup(t);
  const noRoles = await call('GET', await issuer.sign({}));
  t.equal(noRoles.status, 403);
  t.equal(noRoles.body.code, 'LOUPE_ERR_FORBIDDEN');
  const reader = await call('POST', await issuer.sign({ roles: ['reader'] }));
  t.equal(reader.status, 403, 'a reader may not edit');
});

t.test('an explicit JWKS URL skips discovery; an issuer that cannot be reached answers 503, not 401', async (t) => {
  const { issuer, call } = await setup(t, (i) => ({ jwksUrl: `${i.url}/certs` }));
  t.equal((await call('GET', await issuer.sign({ roles: ['reader'] }))).status, 200);
  t.notOk(issuer.hits['/realms/loupe/.well-known/openid-configuration'], 'no discovery');

  const down = await setup(t);
  const token = await down.issuer.sign({ roles: ['reader'] });
  await down.issuer.close();
  const res = await down.call('GET', token);
  t.equal(res.status, 503);
  t.equal(res.body.code, 'LOUPE_ERR_NOT_READY');
  t.equal(res.body.retryable, true, 'the client may try again: its token was not judged');
});
