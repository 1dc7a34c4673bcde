// Issue 14, SSRF: every outbound request passes one egress policy. A denied address is never
// connected to, however the URL spells it, whatever a name resolves to, on every redirect hop.
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { LoupeError } from '@loupe/contracts';
import { type CountingServer, startCountingServer } from '@loupe/testing';
import t, { type Test } from 'tap';
import { createEgressPolicy, deniedRange, type Resolver } from './egress.js';
import { createFetcher } from './fetcher.js';

/** A counting server on loopback, closed when the test ends. */
async function listen(t: Test, server: Server): Promise<CountingServer> {
  const started = await startCountingServer(server);
  t.teardown(() => started.close());
  return started;
}

const json: RequestListener = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');

/** A resolver from a table, counting its lookups; names not in it do not exist. */
function fakeDns(table: Record<string, string | string[] | (() => string)>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const entry = table[hostname];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const addresses = typeof entry === 'function' ? [entry()] : Array.isArray(entry) ? entry : [entry];
    return addresses.map((address) => ({ address, family: (address.includes(':') ? 6 : 4) as 4 | 6 }));
  };
  return Object.assign(resolve, { calls });
}

function recordingLog(): { warn: (obj: object | string, msg?: string) => void; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, warn: (obj, msg) => lines.push({ ...(typeof obj === 'object' ? obj : {}), msg }) };
}

async function refusal(t: Test, promise: Promise<unknown>, url: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, LoupeError, `${url}: refused with a LoupeError`);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_FETCH_EGRESS_REFUSED', `${url}: the egress code`);
  t.equal((err as LoupeError).message, `${url}: refused by egress policy`, `${url}: the URL and nothing about the address or its range`);
  t.same((err as LoupeError).details, { url }, `${url}: no details beyond the URL`);
}

t.test('deny ranges: every non-public IPv4 and IPv6 range, and IPv6 forms that embed one', async (t) => {
  const denied: Record<string, RegExp> = {
    '127.0.0.1': /loopback/,
    '127.255.255.254': /loopback/,
    '::1': /loopback/,
    '::ffff:127.0.0.1': /IPv4-mapped 127\.0\.0\.1 \(loopback\)/,
    '::ffff:7f00:1': /IPv4-mapped 127\.0\.0\.1/,
    '::7f00:1': /IPv4-compatible 127\.0\.0\.1/,
    '::ffff:0:7f00:1': /IPv4-translated 127\.0\.0\.1/,
    '64:ff9b::7f00:1': /NAT64 127\.0\.0\.1/,
    '64:ff9b::a9fe:a9fe': /NAT64 169\.254\.169\.254 \(link-local/,
    '64:ff9b:1::1': /NAT64 local-use/,
    '2002:7f00:1::1': /6to4 127\.0\.0\.1/,
    '2002:c0a8:101::': /6to4 192\.168\.1\.1 \(private\)/,
    '10.1.2.3': /private/,
    '172.16.0.1': /private/,
    '172.31.255.255': /private/,
    '192.168.1.1': /private/,
    'fc00::1': /unique local/,
    'fd00:ec2::254': /unique local/,
    '169.254.169.254': /link-local \(cloud metadata\)/,
    'fe80::1': /link-local/,
    'fe80::1%eth0': /link-local/,
    '100.64.0.1': /carrier-grade NAT/,
    '100.127.255.255': /carrier-grade NAT/,
    '224.0.0.1': /multicast/,
    '239.255.255.250': /multicast/,
    'ff02::1': /multicast/,
    '0.0.0.0': /this network/,
    '0.1.2.3': /this network/,
    '::': /unspecified/,
    '255.255.255.255': /broadcast/,
    '240.0.0.1': /reserved/,
    '198.18.0.1': /benchmarking/,
    '198.19.255.255': /benchmarking/,
    '192.0.0.170': /IETF/,
    '192.0.2.1': /documentation/,
    '198.51.100.7': /documentation/,
    '203.0.113.9': /documentation/,
    '2001:db8::1': /documentation/,
    '2001:0:4136:e378:8000:63bf:3fff:fdd2': /Teredo/,
    '100::1': /discard/,
  };
  for (const [address, why] of Object.entries(denied)) t.match(deniedRange(address), why, `${address} is denied`);
  const allowed = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '100.128.0.1', '100.63.255.255', '172.32.0.1', '11.0.0.1', '198.20.0.1', '192.0.3.1', '223.255.255.255'];
  const allowedV6 = ['2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'];
  for (const address of [...allowed, ...allowedV6]) t.equal(deniedRange(address), undefined, `${address} is public`);
});

t.test('loopback in every spelling the URL parser knows is refused, and never connected to', async (t) => {
  const server = await listen(t, createServer(json));
  const log = recordingLog();
  const fetcher = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: true, log }) });
  const spellings = ['127.0.0.1', 'localhost', '[::1]', '[::ffff:127.0.0.1]', '2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001', 'LOCALHOST.'];
  for (const spelling of spellings) {
    const url = new URL(`http://${spelling}:${server.port}/manifest.json`).href;
    await refusal(t, fetcher.getJson(url), url);
  }
  t.equal(server.connections(), 0, 'the server never saw a connection');
  t.equal(log.lines.length, spellings.length, 'each refusal is logged');
  t.match(log.lines[0], { msg: 'egress refused', address: '127.0.0.1', range: 'loopback' }, 'the log says which address and range');
  t.match(log.lines[3], { address: '::ffff:7f00:1', range: /IPv4-mapped 127\.0\.0\.1/ });
});

t.test('a public-looking name that resolves to a denied address is refused before any connection', async (t) => {
  const server = await listen(t, createServer(json));
  const lookup = fakeDns({ 'evil.example': '127.0.0.1', 'mixed.example': ['93.184.216.34', '127.0.0.1'], 'metadata.example': '169.254.169.254' });
  const fetcher = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: true, lookup }) });
  for (const host of ['evil.example', 'mixed.example', 'metadata.example']) {
    const url = `http://${host}:${server.port}/info.json`;
    await refusal(t, fetcher.getJson(url), url);
  }
  t.equal(server.connections(), 0, 'no connection was made');
});

t.test('a redirect from an allowed host to a denied one is refused at that hop', async (t) => {
  const inside = await listen(t, createServer(json));
  const outside = await listen(
    t,
    createServer((req, res) => {
      const to = req.url === '/by-name' ? `http://internal.example:${inside.port}/secret` : `http://127.0.0.1:${inside.port}/secret`;
      res.writeHead(302, { location: to }).end();
    }),
  );
  const lookup = fakeDns({ 'iiif.example': '127.0.0.1', 'internal.example': '127.0.0.1' });
  // The test's "public" server is allowed by its name; the same address by any other name is not.
  const egress = createEgressPolicy({ denyPrivate: true, allow: ['iiif.example'], lookup });
  const fetcher = createFetcher({ retries: 0, egress });
  await refusal(t, fetcher.getJson(`http://iiif.example:${outside.port}/by-address`), `http://127.0.0.1:${inside.port}/secret`);
  await refusal(t, fetcher.getJson(`http://iiif.example:${outside.port}/by-name`), `http://internal.example:${inside.port}/secret`);
  t.equal(outside.connections() > 0, true, 'the allowed server was reached');
  t.equal(inside.connections(), 0, 'the redirect target never was');

  // fetch() following redirects on its own (the Europeana client, model pulls) is held to the same check.
  await refusal(t, egress.fetch(`http://iiif.example:${outside.port}/by-name`), `http://iiif.example:${outside.port}/by-name`);
  await refusal(t, egress.fetch(`http://iiif.example:${outside.port}/by-address`), `http://iiif.example:${outside.port}/by-address`);
  t.equal(inside.connections(), 0, 'still never reached');
  await egress.close();
});

t.test('DNS rebinding: the connection goes to the address that was checked, resolved once', async (t) => {
  const checked = await listen(t, createServer(json));
  let answers = 0;
  // First answer allowed, every later one loopback outside the allowed block.
  const lookup = fakeDns({ 'rebind.example': () => (answers++ === 0 ? '127.0.0.1' : '127.0.0.2') });
  const fetcher = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: true, allow: ['127.0.0.1/32'], lookup }) });
  const url = `http://rebind.example:${checked.port}/doc.json`;
  t.same(await fetcher.getJson(url), { ok: true }, 'the first request reaches the checked address');
  t.same(lookup.calls, ['rebind.example'], 'one lookup: the connection did not resolve the name again');
  t.equal(checked.connections(), 1);
  await refusal(t, fetcher.getJson(url), url);
  t.same(lookup.calls.length, 2, 'the next request resolves afresh, and the new answer is checked too');
  t.equal(checked.connections(), 1, 'a refused request makes no connection');
});

t.test('allow list: a host entry matches the URL host exactly, a CIDR matches the resolved address', async (t) => {
  const server = await listen(t, createServer(json));
  const lookup = fakeDns({ localhost: '127.0.0.1', 'iiif.internal': '10.0.0.1', 'other.internal': '127.0.0.1' });
  const byName = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: true, allow: ['LocalHost'], lookup }) });
  t.same(await byName.getJson(`http://localhost:${server.port}/`), { ok: true }, 'the named host is allowed');
  await refusal(t, byName.getJson(`http://127.0.0.1:${server.port}/`), `http://127.0.0.1:${server.port}/`);
  await refusal(t, byName.getJson(`http://other.internal:${server.port}/`), `http://other.internal:${server.port}/`);

  const byBlock = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: true, allow: ['127.0.0.0/8', '[fd00::]/8'], lookup }) });
  for (const host of ['127.0.0.1', 'localhost', '0x7f.1', 'other.internal']) {
    t.same(await byBlock.getJson(`http://${host}:${server.port}/`), { ok: true }, `${host} lies in 127.0.0.0/8`);
  }
  await refusal(t, byBlock.getJson(`http://iiif.internal:${server.port}/`), `http://iiif.internal:${server.port}/`);

  const open = createFetcher({ retries: 0, egress: createEgressPolicy({ denyPrivate: false, lookup }) });
  t.same(await open.getJson(`http://127.1:${server.port}/`), { ok: true }, 'denyPrivate: false allows everything');
  t.same(await createFetcher({ retries: 0 }).getJson(`http://127.0.0.1:${server.port}/`), { ok: true }, 'no policy at all: nothing is refused');

  t.throws(() => createEgressPolicy({ denyPrivate: true, allow: ['10.0.0.0/33', 'a/b', '::1/129'] }), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
    message: /10\.0\.0\.0\/33.*a\/b.*::1\/129/,
  });
});

t.test('a closed port reads like a dead host: "could not fetch"; a name that does not exist says so', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const log = recordingLog();
  const lookup = fakeDns({ 'closed.example': '127.0.0.1' });
  const fetcher = createFetcher({ retries: 0, log, egress: createEgressPolicy({ denyPrivate: false, lookup, log }) });
  const closed = `http://closed.example:${closedPort}/m.json`;
  const refused = (await fetcher.getJson(closed).catch((e: unknown) => e)) as LoupeError;
  t.same([refused.code, refused.message, refused.details], ['LOUPE_ERR_FETCH_NETWORK', `could not fetch ${closed}`, { url: closed }], 'no low-level reason in the message or the details');
  t.notMatch(JSON.stringify(refused), /ECONNREFUSED/, 'what reaches a caller names no errno: a job cannot scan ports');
  // Whether a name exists is no secret (anyone can ask DNS), and a user must know to fix the URL.
  const nowhere = 'http://nowhere.example/m.json';
  const missing = (await fetcher.getJson(nowhere).catch((e: unknown) => e)) as LoupeError;
  t.match(missing, { code: 'LOUPE_ERR_FETCH_DNS', retryable: false, message: /nowhere\.example does not exist/, details: { url: nowhere, host: 'nowhere.example' } });
  t.notMatch(JSON.stringify(missing), /ENOTFOUND|getaddrinfo/);
  t.match(log.lines, [{ msg: 'fetch failed', cause: /ECONNREFUSED/ }, { msg: 'lookup failed', cause: /ENOTFOUND/ }], 'the causes are in the log');
});

t.test('TLS verifies the certificate against the URL host name while connecting to the checked address', async (t) => {
  const cert = readFileSync(new URL('./testdata/iiif-test.cert.pem', import.meta.url));
  const key = readFileSync(new URL('./testdata/iiif-test.key.pem', import.meta.url));
  const servernames: (string | false | null)[] = [];
  const server = createTlsServer({ cert, key }, json);
  server.on('secureConnection', (socket) => servernames.push(socket.servername));
  const { port } = await listen(t, server);
  const lookup = fakeDns({ 'iiif.test': '127.0.0.1', 'impostor.test': '127.0.0.1' });
  const egress = createEgressPolicy({ denyPrivate: true, allow: ['127.0.0.1'], lookup, ca: cert });
  const log = recordingLog();
  const fetcher = createFetcher({ retries: 0, egress, log });
  t.same(await fetcher.getJson(`https://iiif.test:${port}/info.json`), { ok: true }, 'the certificate for iiif.test is accepted');
  t.same(servernames, ['iiif.test'], 'SNI names the host, not the address');
  const err = (await fetcher.getJson(`https://impostor.test:${port}/info.json`).catch((e: unknown) => e)) as LoupeError;
  t.match(err, { code: 'LOUPE_ERR_FETCH_TLS', retryable: false }, 'a certificate for another name is refused, for good');
  t.match(log.lines, [{ cause: 'ERR_TLS_CERT_ALTNAME_INVALID' }], 'because its names do not match');
});
