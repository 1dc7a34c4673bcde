import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { LoupeError } from '@loupe/contracts';
import { type IiifImageServer, makeTestImage, startIiifImageServer } from '@loupe/testing';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { createEgressPolicy } from './egress.js';
import { createFetcher, type FetcherOptions } from './index.js';

// Small waits keep retry tests quick; the behaviour under test is the same as with the defaults.
const quick: FetcherOptions = { retryBaseMs: 5, timeoutMs: 2000, bodyTimeoutMs: 2000 };

async function rejectsWith(t: Test, promise: Promise<unknown>, code: string, urlPart?: string): Promise<LoupeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, LoupeError, `rejects with a LoupeError (${code})`);
  const loupe = err as LoupeError;
  t.equal(loupe.code, code, loupe.message);
  if (urlPart) t.match(loupe.message, urlPart, 'the message names the URL');
  return loupe;
}

/** A bare server for what the IIIF server cannot do: chunked bodies that stall or never end. */
async function startRawServer(t: Test, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let server: IiifImageServer;
let jpeg: Buffer;

t.before(async () => {
  jpeg = await makeTestImage({ width: 400, height: 300 });
  server = await startIiifImageServer({ images: { page: jpeg } });
});
t.teardown(() => server.close());
t.beforeEach(() => {
  server.reset();
  server.clearFaults();
});

t.test('getJson reads info.json, ld+json and sloppy content types alike', async (t) => {
  const fetcher = createFetcher(quick);
  const info = (await fetcher.getJson(`${server.serviceId('page')}/info.json`)) as { id: string; width: number };
  t.equal(info.id, server.serviceId('page'));
  t.equal(info.width, 400);
  for (const type of ['application/ld+json', 'text/plain; charset=utf-8', 'application/json; charset=utf-8']) {
    const url = server.addDocument(`/doc-${type.split(/[;/]/)[1]}`, Buffer.from('{"ok":true}'), type);
    t.same(await fetcher.getJson(url), { ok: true }, type);
  }
  const untyped = await startRawServer(t, (_req, res) => res.end('{"untyped":1}'));
  t.same(await fetcher.getJson(untyped), { untyped: 1 }, 'no content type at all');
});

t.test('getJson refuses HTML and reports unparsable bodies through parseJsonDocument', async (t) => {
  const fetcher = createFetcher(quick);
  const html = server.addDocument('/soft-404', '<html><body>Not here</body></html>', 'text/html; charset=utf-8');
  const err = await rejectsWith(t, fetcher.getJson(html), 'LOUPE_ERR_FETCH_CONTENT_TYPE', html);
  t.match(err.message, 'text/html');
  t.equal(err.details?.url, html);
  const broken = server.addDocument('/broken.json', '{"items": [', 'application/json');
  await rejectsWith(t, fetcher.getJson(broken), 'LOUPE_ERR_IIIF_NOT_JSON', broken);
  const latin1 = server.addDocument('/latin1.json', Buffer.from('{"label":"caf\xe9"}', 'latin1'), 'application/json');
  await rejectsWith(t, fetcher.getJson(latin1), 'LOUPE_ERR_IIIF_NOT_UTF8', latin1);
});

t.test('getImage returns the encoded bytes with their size and format', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('page')}/full/200,/0/default.jpg`;
  const image = await fetcher.getImage(url);
  t.match(image, { width: 200, height: 150, format: 'jpeg', url, fromCache: false });
  t.equal((await sharp(image.data).metadata()).width, 200, 'data is the image as served');
});

t.test('a 404 fails at once with the status', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('missing')}/full/max/0/default.jpg`;
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_FETCH_NOT_FOUND', url);
  t.same(err.details, { url, status: 404 });
  t.equal(server.requests.length, 1, 'a 4xx is not retried');
});

t.test('429 with Retry-After is waited out, then succeeds', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('page')}/info.json`;
  server.fail(url, { status: 429, headers: { 'retry-after': '0' }, times: 1 });
  t.match(await fetcher.getJson(url), { width: 400 });
  t.equal(server.requests.length, 2);
});

t.test('503 twice then success', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('page')}/full/100,/0/default.jpg`;
  server.fail(url, { status: 503, times: 2 });
  const image = await fetcher.getImage(url);
  t.equal(image.width, 100);
  t.equal(server.requests.length, 3);
});

t.test('retries exhausted: LOUPE_ERR_FETCH_HTTP_RETRYABLE with the status', async (t) => {
  const fetcher = createFetcher({ ...quick, retries: 2 });
  const url = `${server.serviceId('page')}/full/120,/0/default.jpg`;
  server.fail(url, { status: 502 });
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_FETCH_HTTP_RETRYABLE', url);
  t.match(err.details, { url, status: 502, attempts: 3 });
  t.equal(err.retryable, true, 'a work queue may try again later');
  t.equal(server.requests.length, 3, 'one attempt and two retries');
});

t.test('a refused connection is retried, then reported as a network error', async (t) => {
  const closed = await startIiifImageServer();
  const url = `${closed.url}/gone.json`;
  await closed.close();
  const fetcher = createFetcher({ ...quick, retries: 1 });
  const err = await rejectsWith(t, fetcher.getJson(url), 'LOUPE_ERR_FETCH_NETWORK', url);
  t.equal(err.message, `could not fetch ${url}`, 'no ECONNREFUSED: a refused port must not read differently from a dead host');
  t.same(err.details, { url });
});

t.test('a server that never answers times out quickly with a small timeout', async (t) => {
  const fetcher = createFetcher({ ...quick, timeoutMs: 200 });
  const url = `${server.serviceId('page')}/info.json`;
  server.fail(url, { never: true });
  const err = await rejectsWith(t, fetcher.getJson(url), 'LOUPE_ERR_FETCH_TIMEOUT', url);
  t.match(err.message, '200 ms');
  t.equal(server.requests.length, 1, 'a timeout is left to the work queue, not retried here');
});

t.test('a body that stalls mid-way times out', async (t) => {
  const url = await startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"items": [');
  });
  const fetcher = createFetcher({ ...quick, bodyTimeoutMs: 200 });
  const err = await rejectsWith(t, fetcher.getJson(url), 'LOUPE_ERR_FETCH_TIMEOUT', url);
  t.match(err.message, 'stalled');
});

/** A server that sends the headers at once, then one byte every `everyMs`, for as long as the client listens. */
async function startTrickle(t: Test, everyMs: number): Promise<string> {
  return startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(' ');
    const timer = setInterval(() => res.write(' '), everyMs);
    res.on('close', () => clearInterval(timer));
  });
}

t.test('a trickling server cannot hold a fetch past its deadline', async (t) => {
  // Every byte arrives well inside the gap limit, and the rate check is off: only the deadline ends it.
  const url = await startTrickle(t, 20);
  const fetcher = createFetcher({ ...quick, deadlineMs: 300, minBytesPerSecond: 0 });
  const err = await rejectsWith(t, fetcher.getJson(url), 'LOUPE_ERR_FETCH_TIMEOUT', url);
  t.match(err.message, 'not complete within 300 ms');
  t.equal(err.retryable, true);
});

t.test('a body slower than the minimum rate fails once the grace period is over', async (t) => {
  // About 50 bytes per second against a minimum of 1000, after 100 ms of grace.
  const url = await startTrickle(t, 20);
  const fetcher = createFetcher({ ...quick, minBytesPerSecond: 1000, minRateGraceMs: 100 });
  const err = await rejectsWith(t, fetcher.getJson(url), 'LOUPE_ERR_FETCH_TIMEOUT', url);
  t.match(err.message, 'slower than 1000 bytes per second');
  // A quick body under the same limits is not affected.
  t.match(await fetcher.getJson(`${server.serviceId('page')}/info.json`), { width: 400 });
});

t.test('the per-host limit counts one server once, however its URL spells it', async (t) => {
  let inFlight = 0;
  let maxInFlight = 0;
  const base = await startRawServer(t, (_req, res) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }, 30);
  });
  const port = new URL(base).port;
  const lookup = async (host: string) => (host === 'localhost' ? [{ address: '127.0.0.1', family: 4 as const }] : []);
  const fetcher = createFetcher({ ...quick, perHostConcurrency: 1, egress: createEgressPolicy({ denyPrivate: false, lookup }) });
  const spellings = ['127.0.0.1', 'localhost', '0x7f.1', '2130706433', '127.1', '0177.0.0.1'];
  await Promise.all(spellings.map((host, i) => fetcher.getJson(`http://${host}:${port}/doc-${i}.json`)));
  t.equal(maxInFlight, 1, 'six spellings of one server, one request at a time');
});

t.test('concurrent decodes never hold more than the pixel budget', async (t) => {
  // Each image is 1.2 Mpx; a budget of 3 Mpx lets two decode at once, never three.
  const big = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#808080' } }).png().toBuffer();
  const urls = Array.from({ length: 8 }, (_, i) => server.addFile(`/big-${i}.png`, big, 'image/png'));
  const fetcher = createFetcher({ ...quick, pixelBudget: 3_000_000 });
  const images = await Promise.all(urls.map((url) => fetcher.getImage(url)));
  t.equal(images.length, 8);
  t.ok(fetcher.pixels.peak <= 3_000_000, `the most held at once (${fetcher.pixels.peak}) is within the budget`);
  t.ok(fetcher.pixels.peak >= 1_200_000, 'decodes did hold the budget');
  t.equal(fetcher.pixels.inUse, 0, 'everything was given back');

  // An image larger than the whole budget still decodes, alone.
  const small = createFetcher({ ...quick, pixelBudget: 500_000 });
  const [one, two] = await Promise.all([small.getImage(urls[0]!), small.getImage(urls[1]!)]);
  t.equal(one.width, 1200);
  t.equal(two.width, 1200);
  t.equal(small.pixels.peak, 500_000, 'each ran alone, charged the whole budget');
});

t.test('redirects are followed up to the limit, and no further', async (t) => {
  const fetcher = createFetcher({ ...quick, maxRedirects: 3 });
  const target = server.addDocument('/final.json', { arrived: true });
  for (let i = 0; i < 5; i++) {
    server.fail(`/hop/${i}`, { status: i % 2 === 0 ? 302 : 301, headers: { location: i === 4 ? '/final.json' : `/hop/${i + 1}` } });
  }
  t.same(await fetcher.getJson(`${server.url}/hop/2`), { arrived: true }, 'three hops are within the limit');
  const start = `${server.url}/hop/0`;
  const err = await rejectsWith(t, fetcher.getJson(start), 'LOUPE_ERR_FETCH_REDIRECTS', start);
  t.match(err.message, 'more than 3 redirects');
  t.ok(target);

  const image = await fetcher.getImage(`${server.url}/hop/to-image`).catch((e: unknown) => e);
  t.match(image, { code: 'LOUPE_ERR_FETCH_NOT_FOUND' }, 'a path with no fault and nothing served is a plain 404');

  server.fail('/elsewhere', { status: 307, headers: { location: 'ftp://example.org/x' } });
  await rejectsWith(t, fetcher.getJson(`${server.url}/elsewhere`), 'LOUPE_ERR_FETCH_REDIRECTS', 'ftp://example.org/x');
});

t.test('the final URL after a redirect is reported', async (t) => {
  const fetcher = createFetcher(quick);
  const real = `${server.serviceId('page')}/full/80,/0/default.jpg`;
  server.fail('/short/img', { status: 303, headers: { location: real } });
  const image = await fetcher.getImage(`${server.url}/short/img`);
  t.equal(image.url, real);
  t.equal(image.width, 80);
});

t.test('an HTML page answered for an image is refused', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('page')}/full/max/0/default.jpg`;
  server.fail(url, { body: '<!doctype html><title>Login</title>' });
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_FETCH_CONTENT_TYPE', url);
  t.match(err.message, 'text/html');
});

t.test('the byte limit: from Content-Length, and while streaming a body without one', async (t) => {
  const fetcher = createFetcher({ ...quick, maxImageBytes: 1000, maxJsonBytes: 1000 });
  const url = `${server.serviceId('page')}/full/max/0/default.jpg`;
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_FETCH_TOO_LARGE', url);
  t.match(err.message, 'Content-Length');

  let written = 0;
  let closed!: () => void;
  const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
  const endless = await startRawServer(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.on('close', () => closed());
    const chunk = Buffer.alloc(256, 0x20);
    const pump = (): void => {
      // Keeps writing until the client goes away: only an abort on the client side ends this.
      while (!res.destroyed && res.write(chunk)) written += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  const streamed = await rejectsWith(t, fetcher.getJson(endless), 'LOUPE_ERR_FETCH_TOO_LARGE', endless);
  t.match(streamed.message, 'while streaming');
  await serverSawClose;
  t.pass('the client dropped the connection rather than draining it');
  t.ok(written < 10_000_000, 'the server stopped well before sending megabytes');
});

t.test('the pixel limit is checked from the header, before decoding', async (t) => {
  // 25 megapixels of one colour compress to a few kB: the shape of a decompression bomb.
  const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const url = server.addFile('/bomb.png', bomb, 'image/png');
  const fetcher = createFetcher({ ...quick, maxPixels: 1_000_000 });
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS', url);
  t.match(err.details, { url, width: 5000, height: 5000 });
});

t.test('a JPEG cut in half is a decode error, not a grey-bottomed image', async (t) => {
  const fetcher = createFetcher(quick);
  const url = `${server.serviceId('page')}/full/max/0/default.jpg`;
  server.fail(url, { truncate: true });
  const err = await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_IMAGE_DECODE', url);
  t.equal(err.retryable, false);

  const png = await makeTestImage({ width: 300, height: 200, format: 'png' });
  const cut = server.addFile('/cut.png', png.subarray(0, png.length >> 1), 'image/png');
  await rejectsWith(t, fetcher.getImage(cut), 'LOUPE_ERR_IMAGE_DECODE', cut);

  const text = server.addFile('/not-an-image.jpg', Buffer.from('hello, world'), 'image/jpeg');
  await rejectsWith(t, fetcher.getImage(text), 'LOUPE_ERR_IMAGE_UNSUPPORTED', text);
});

t.test('the cache answers a second time without a request', async (t) => {
  const cacheDir = t.testdir();
  const url = `${server.serviceId('page')}/full/64,/0/default.jpg`;
  const info = `${server.serviceId('page')}/info.json`;
  const first = createFetcher({ ...quick, cacheDir });
  const fresh = await first.getImage(url);
  await first.getJson(info);
  t.equal(fresh.fromCache, false);
  t.equal(server.requests.length, 2);

  // A new fetcher on the same directory: the cache lives on disk, not in the instance.
  const second = createFetcher({ ...quick, cacheDir });
  const again = await second.getImage(url);
  t.match(again, { fromCache: true, width: 64, url });
  t.ok(again.data.equals(fresh.data), 'the same bytes');
  t.same(await second.getJson(info), await first.getJson(info));
  t.equal(server.requests.length, 2, 'no request reached the server');

  const files = (await readdir(cacheDir, { recursive: true })).map(String);
  t.equal(files.filter((f) => f.endsWith('.body')).length, 2);
  t.equal(files.filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary files left behind');
});

t.test('failed responses are not cached', async (t) => {
  const cacheDir = t.testdir();
  const fetcher = createFetcher({ ...quick, cacheDir });
  const url = `${server.serviceId('page')}/full/90,/0/default.jpg`;
  server.fail(url, { truncate: true, times: 1 });
  await rejectsWith(t, fetcher.getImage(url), 'LOUPE_ERR_IMAGE_DECODE');
  const image = await fetcher.getImage(url);
  t.equal(image.fromCache, false);
  t.equal(image.width, 90);
});

t.test('no more than perHostConcurrency requests reach one host at once', async (t) => {
  const fetcher = createFetcher({ ...quick, perHostConcurrency: 2 });
  server.fail(/\/full\/\d+,\//, { delayMs: 100 });
  const widths = [20, 21, 22, 23, 24, 25, 26, 27];
  const images = await Promise.all(widths.map((w) => fetcher.getImage(`${server.serviceId('page')}/full/${w},/0/default.jpg`)));
  t.same(
    images.map((i) => i.width),
    widths,
  );
  t.equal(server.requests.length, widths.length);
  t.equal(server.maxInFlight, 2, 'two at a time, never more');
});

t.test('invalid options are all reported at once', async (t) => {
  const err = (() => {
    try {
      createFetcher({ timeoutMs: -1, perHostConcurrency: 1.5, retries: 0 });
    } catch (e) {
      return e as LoupeError;
    }
    return undefined;
  })();
  t.equal(err?.code, 'LOUPE_ERR_CONFIG_INVALID');
  t.match(err?.message, /timeoutMs.*perHostConcurrency/);
  t.notMatch(err?.message, 'retries', 'zero retries is valid');
});

t.test('only http(s) URLs are fetched', async (t) => {
  const fetcher = createFetcher(quick);
  await rejectsWith(t, fetcher.getJson('file:///etc/passwd'), 'LOUPE_ERR_VALIDATION', 'file:///etc/passwd');
  await rejectsWith(t, fetcher.getImage('not a url'), 'LOUPE_ERR_VALIDATION', 'not a url');
});
