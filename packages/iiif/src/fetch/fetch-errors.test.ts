// Issue 17, "fail early and loudly": a failure another attempt cannot change (no such host, a bad
// certificate, 401/403/404/410 and the other 4xx, not IIIF, not an image) is tried once and comes
// back non-retryable, with a code that names the cause and a message that names the URL; a
// temporary one (408/425/429/5xx, a reset, a resolver that cannot answer now) is retried. A refused
// port stays temporary and reads like a dead host (fetcher.test.ts, egress.test.ts).
// Real servers on loopback and the real resolver; attempts are counted, never timed.
import { promises as dns } from 'node:dns';
import { readFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import { LoupeError } from '@loupe/contracts';
import { type IiifImageServer, makeTestImage, startCountingServer, startIiifImageServer } from '@loupe/testing';
import t from 'tap';
import { createEgressPolicy } from './egress.js';
import { createFetcher, type FetcherOptions } from './index.js';

const quick: FetcherOptions = { retryBaseMs: 1, retries: 2 };

async function failure(promise: Promise<unknown>): Promise<LoupeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof LoupeError)) throw new Error(`expected a LoupeError, got ${String(err)}`);
  return err;
}

function recordingLog(): { warn: (obj: object, msg: string) => void; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, warn: (obj, msg) => lines.push({ ...obj, msg }) };
}

let server: IiifImageServer;
t.before(async () => {
  server = await startIiifImageServer({ images: { page: await makeTestImage({ width: 64, height: 48 }) } });
});
t.teardown(() => server.close());
t.beforeEach(() => {
  server.reset();
  server.clearFaults();
});

const requestsFor = (path: string): number => server.requests.filter((p) => p === path).length;

t.test('a permanent HTTP status is asked once and named by cause', async (t) => {
  const fetcher = createFetcher(quick);
  const cases: [number, string, RegExp][] = [
    [400, 'LOUPE_ERR_FETCH_HTTP', /HTTP 400/],
    [401, 'LOUPE_ERR_FETCH_AUTH_REQUIRED', /HTTP 401, the resource needs authentication.*IIIF Auth is not supported/],
    [403, 'LOUPE_ERR_FETCH_AUTH_REQUIRED', /HTTP 403, access is refused.*IIIF Auth is not supported/],
    [404, 'LOUPE_ERR_FETCH_NOT_FOUND', /HTTP 404, the server has no such resource/],
    [410, 'LOUPE_ERR_FETCH_NOT_FOUND', /HTTP 410, the resource is gone/],
    [451, 'LOUPE_ERR_FETCH_HTTP', /HTTP 451/],
    [501, 'LOUPE_ERR_FETCH_HTTP', /HTTP 501/],
  ];
  for (const [status, code, message] of cases) {
    const path = `/status/${status}/info.json`;
    server.fail(path, { status });
    const err = await failure(fetcher.getJson(`${server.url}${path}`));
    t.match(err, { code, retryable: false, details: { url: `${server.url}${path}`, status } }, `${status}: ${code}`);
    t.match(err.message, message);
    t.ok(err.message.startsWith(`${server.url}${path}`), `${status}: the message names the URL`);
    t.equal(requestsFor(path), 1, `${status}: asked once`);
  }
});

t.test('a temporary HTTP status is retried here and stays retryable for the work queue', async (t) => {
  const fetcher = createFetcher(quick);
  for (const [status, asked] of [[408, 3], [425, 3], [429, 3], [503, 3], [500, 1]] as const) {
    const path = `/busy/${status}/info.json`;
    server.fail(path, { status, headers: status === 429 ? { 'retry-after': '0' } : {} });
    const err = await failure(fetcher.getJson(`${server.url}${path}`));
    t.match(err, { code: 'LOUPE_ERR_FETCH_HTTP_RETRYABLE', retryable: true, details: { status } }, String(status));
    // A 500 is often a bug that answers the same at once: the queue's later delivery is its retry.
    t.equal(requestsFor(path), asked, `${status}: asked ${asked} time(s)`);
  }
});

t.test('not IIIF, not JSON, not an image: one request, not retryable', async (t) => {
  const fetcher = createFetcher(quick);
  const html = server.addDocument('/login/info.json', '<html><form>Sign in</form></html>', 'text/html');
  const notJson = server.addDocument('/broken/info.json', '{"id": ', 'application/json');
  const garbage = server.addFile('/broken/page.jpg', Buffer.from('this is no jpeg at all'), 'image/jpeg');
  const truncated = server.addFile('/cut/page.jpg', (await makeTestImage({ width: 64, height: 48 })).subarray(0, 400), 'image/jpeg');
  const cases: [Promise<unknown>, string, string][] = [
    [fetcher.getJson(html), html, 'LOUPE_ERR_FETCH_CONTENT_TYPE'],
    [fetcher.getJson(notJson), notJson, 'LOUPE_ERR_IIIF_NOT_JSON'],
    [fetcher.getImage(garbage), garbage, 'LOUPE_ERR_IMAGE_UNSUPPORTED'],
    [fetcher.getImage(truncated), truncated, 'LOUPE_ERR_IMAGE_DECODE'],
  ];
  for (const [promise, url, code] of cases) {
    const err = await failure(promise);
    t.match(err, { code, retryable: false }, code);
    t.match(err.message, url, 'the message names the URL');
    t.equal(requestsFor(new URL(url).pathname), 1, `${code}: asked once`);
  }
});

t.test('a host name that does not exist is looked up once and fails as LOUPE_ERR_FETCH_DNS', async (t) => {
  // RFC 6761: no name under .invalid ever resolves. A machine with no resolver at all answers
  // EAI_AGAIN for every name, which is (rightly) temporary: nothing to check there.
  const answer = await dns.lookup('nonexistent.invalid').then(
    () => 'resolved',
    (err: NodeJS.ErrnoException) => err.code,
  );
  if (answer !== 'ENOTFOUND') return t.skip(`this machine's resolver answers ${answer} for nonexistent.invalid`);
  const log = recordingLog();
  const fetcher = createFetcher({ ...quick, log, egress: createEgressPolicy({ denyPrivate: true, log }) });
  const url = 'https://images.nonexistent.invalid/iiif/page/info.json';
  const err = await failure(fetcher.getJson(url));
  t.match(err, { code: 'LOUPE_ERR_FETCH_DNS', retryable: false, details: { url, host: 'images.nonexistent.invalid' } });
  t.equal(err.message, `could not fetch ${url}: the host images.nonexistent.invalid does not exist (DNS: no such host); check the URL`);
  t.match(log.lines, [{ msg: 'lookup failed', cause: 'ENOTFOUND' }]);
  t.equal(log.lines.length, 1, 'one lookup: not retried');
});

t.test('a resolver that cannot answer now (EAI_AGAIN) is retried and stays retryable', async (t) => {
  let lookups = 0;
  const lookup = async (hostname: string): Promise<never> => {
    lookups++;
    throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
  };
  const fetcher = createFetcher({ ...quick, egress: createEgressPolicy({ denyPrivate: false, lookup }) });
  const url = 'http://iiif.example/page/info.json';
  const err = await failure(fetcher.getJson(url));
  t.match(err, { code: 'LOUPE_ERR_FETCH_NETWORK', retryable: true, message: `could not fetch ${url}` });
  t.equal(lookups, 3, 'one attempt and two retries');
});

t.test('a certificate that does not verify is tried once and fails as LOUPE_ERR_FETCH_TLS', async (t) => {
  const cert = readFileSync(new URL('./testdata/iiif-test.cert.pem', import.meta.url));
  const key = readFileSync(new URL('./testdata/iiif-test.key.pem', import.meta.url));
  const tls = await startCountingServer(createTlsServer({ cert, key }, (_req, res) => res.end('{}')));
  t.teardown(() => tls.close());
  // The certificate is for iiif.test, signed by no authority this fetcher trusts.
  const url = `https://127.0.0.1:${tls.port}/info.json`;
  const err = await failure(createFetcher(quick).getJson(url));
  t.match(err, { code: 'LOUPE_ERR_FETCH_TLS', retryable: false, details: { url, host: '127.0.0.1' } });
  t.match(err.message, /^could not fetch .*: the TLS certificate of 127\.0\.0\.1 is not valid \([A-Z_]+\); .*NODE_EXTRA_CA_CERTS/);
  t.equal(tls.connections(), 1, 'one connection: not retried');
});

t.test('a connection reset is retried and stays a retryable network error', async (t) => {
  const reset = await startCountingServer((req) => req.socket.destroy());
  t.teardown(() => reset.close());
  const url = `${reset.base}/info.json`;
  const err = await failure(createFetcher(quick).getJson(url));
  t.match(err, { code: 'LOUPE_ERR_FETCH_NETWORK', retryable: true, message: `could not fetch ${url}` });
  t.equal(reset.connections(), 3, 'one attempt and two retries');
});

