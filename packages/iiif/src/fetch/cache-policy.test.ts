// The fetch cache and the derived images on disk: kept under a byte budget, least recently used
// first, and documents (manifests, info.json) asked for again once stale, so that a library's
// edit to its manifest is seen. Real files, a real HTTP server, an injected clock.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { openDerivedImages } from '../derived-images.js';
import { DiskBudget, folderBudget } from './disk-budget.js';
import { CACHE_KEEP_MS, createFetcher } from './index.js';

const HOUR = 3600_000;
const quick = { retryBaseMs: 5, timeoutMs: 2000, bodyTimeoutMs: 2000 };

/** A clock the test moves. */
function clock(start = Date.now()): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const facts = await stat(join(dir, String(name)));
    if (facts.isFile()) total += facts.size;
  }
  return total;
}

/** An entry of `size` bytes (body and sidecar) last used `ago` ms before `now`. */
async function entry(dir: string, stem: string, size: number, now: number, ago: number): Promise<string[]> {
  const sub = join(dir, stem.slice(0, 2));
  await mkdir(sub, { recursive: true });
  const files = [join(sub, `${stem}.body`), join(sub, `${stem}.json`)];
  await writeFile(files[0]!, Buffer.alloc(size - 10));
  await writeFile(files[1]!, '{"url":"x"}'.slice(0, 10));
  const at = new Date(now - ago);
  for (const f of files) await utimes(f, at, at);
  return files;
}

const stem = (i: number): string => i.toString(16).padStart(2, '0').repeat(32);

t.test('a sweep removes the least recently used entries until the folder holds 90 % of its budget, never a young one', async (t) => {
  const dir = t.testdir();
  const { now } = clock();
  // Ten entries of 1,000 bytes, used 10 h, 9 h, ... 1 h ago; one used a minute ago.
  for (let i = 0; i < 10; i++) await entry(dir, stem(i), 1000, now(), (10 - i) * HOUR);
  await entry(dir, stem(10), 1000, now(), 60_000);
  // A crash's leftover temporary file, old: removed whatever the total.
  await writeFile(join(dir, '00', `${stem(0)}.body.123.abcdef.tmp`), Buffer.alloc(500));
  await utimes(join(dir, '00', `${stem(0)}.body.123.abcdef.tmp`), new Date(now() - 2 * HOUR), new Date(now() - 2 * HOUR));

  const budget = new DiskBudget(dir, { maxBytes: 6000, keepMs: CACHE_KEEP_MS, now });
  const report = await budget.sweep();
  // 11,500 bytes for a target of 5,400: six entries leave 5,500, so seven go, and the leftover.
  t.same({ ...report }, { entries: 12, bytes: 11_500, removed: 8, freed: 7500 }, 'the seven oldest and the leftover');
  t.equal(await folderBytes(dir), 4000);
  const left = (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.body')).map((f) => f.slice(3, 5));
  t.same(left.sort(), ['07', '08', '09', '0a'], 'the newest three and the one used a minute ago');

  const tight = new DiskBudget(dir, { maxBytes: 1000, keepMs: 2.5 * HOUR, now });
  t.match(await tight.sweep(), { removed: 1 }, 'entries used within keepMs stay, however far over the budget');
  t.equal(await folderBytes(dir), 3000);
});

t.test('reading an entry marks it used: it outlives older ones that nobody read', async (t) => {
  const dir = t.testdir();
  const { now } = clock();
  const oldest = await entry(dir, stem(1), 1000, now(), 5 * HOUR);
  for (let i = 2; i <= 4; i++) await entry(dir, stem(i), 1000, now(), (6 - i) * HOUR);
  // 4,000 bytes for a target of 3,060: one entry goes.
  const budget = new DiskBudget(dir, { maxBytes: 3400, keepMs: CACHE_KEEP_MS, now });
  await budget.touch(oldest);
  await budget.sweep();
  const left = (await readdir(dir, { recursive: true })).map(String).filter((f) => f.endsWith('.body')).map((f) => f.slice(0, 2));
  t.same(left.sort(), ['01', '03', '04'], 'the read one stays; the oldest unread one went');
});

t.test('writes sweep in the background: the first of a process, then each tenth of the budget, one sweep at a time', async (t) => {
  const dir = t.testdir();
  const budget = new DiskBudget(dir, { maxBytes: 10_000, keepMs: CACHE_KEEP_MS });
  t.equal(budget.sweeping, undefined);
  budget.wrote(10);
  const first = budget.sweeping;
  t.ok(first, 'the first write sweeps: an earlier process may have filled the folder');
  budget.wrote(5000);
  t.equal(budget.sweeping, first, 'no second sweep while one runs');
  await first;
  t.equal(budget.sweeping, undefined);
  budget.wrote(1);
  const second = budget.sweeping;
  t.ok(second, 'what was written during the sweep counts towards the next: another');
  await second;
  budget.wrote(999);
  t.equal(budget.sweeping, undefined, 'under a tenth of the budget since the last sweep: none');
  budget.wrote(1);
  t.ok(budget.sweeping, 'a tenth written: another');
  await budget.sweeping;
});

t.test('one budget per folder in a process: a second opener of the same folder starts no second sweep', async (t) => {
  const dir = t.testdir();
  const first = folderBudget(dir, { maxBytes: 10_000, keepMs: CACHE_KEEP_MS });
  t.equal(folderBudget(join(dir, '.'), { maxBytes: 1, keepMs: 0 }), first, 'the same budget, with the first options');
  first.wrote(10);
  const sweeping = first.sweeping;
  folderBudget(dir, { maxBytes: 10_000, keepMs: 0 }).wrote(10);
  t.equal(first.sweeping, sweeping, 'the second opener counted into the sweep under way');
  await sweeping;
});

t.test('the fetch cache keeps under cacheMaxBytes: the images read last stay, the first ones are fetched again', async (t) => {
  const images = new Map<string, Buffer>();
  for (let i = 0; i < 12; i++) images.set(`/img/${i}.png`, await sharp({ create: { width: 64, height: 64, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer());
  const requests: string[] = [];
  const base = await serve(t, (url) => {
    requests.push(url);
    const body = images.get(url);
    return body ? { status: 200, headers: { 'content-type': 'image/png' }, body } : { status: 404 };
  });
  const cacheDir = t.testdir();
  const time = clock();
  const size = images.get('/img/0.png')!.length;
  const fetcher = createFetcher({ ...quick, cacheDir, cacheMaxBytes: size * 6, now: time.now });
  for (let i = 0; i < 12; i++) {
    await fetcher.getImage(`${base}/img/${i}.png`);
    time.advance(CACHE_KEEP_MS + 1000);
  }
  // The cache's own budget (one per folder in a process), swept once more after the last write.
  await folderBudget(cacheDir, { maxBytes: 0, keepMs: 0 }).sweepNow();
  const held = await folderBytes(cacheDir);
  t.ok(held <= size * 6 * 0.9, `the cache holds ${held} bytes for a budget of ${size * 6} (bodies of ${size} and their sidecars)`);
  requests.length = 0;
  t.equal((await fetcher.getImage(`${base}/img/11.png`)).fromCache, true, 'the newest image is still cached');
  t.same(requests, [], 'and asked for nothing');
  t.equal((await fetcher.getImage(`${base}/img/0.png`)).fromCache, false, 'the oldest went, and is fetched again');
  t.same(requests, ['/img/0.png']);
});

t.test('a cached manifest is used while fresh, then asked for again: a 304 keeps it, an edit replaces it', async (t) => {
  let doc = { label: 'first' };
  let etag = '"v1"';
  const seen: IncomingHttpHeaders[] = [];
  const base = await serve(t, (_url, headers) => {
    seen.push(headers);
    if (headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
    return { status: 200, headers: { 'content-type': 'application/json', etag }, body: Buffer.from(JSON.stringify(doc)) };
  });
  const time = clock();
  const fetcher = createFetcher({ ...quick, cacheDir: t.testdir(), documentFreshMs: 300_000, now: time.now });
  const url = `${base}/manifest.json`;
  t.same(await fetcher.getJson(url), { label: 'first' });
  time.advance(60_000);
  t.same(await fetcher.getJson(url), { label: 'first' });
  t.equal(seen.length, 1, 'fresh: the cache answers, no request');

  time.advance(300_000);
  t.same(await fetcher.getJson(url), { label: 'first' });
  t.equal(seen.length, 2, 'stale: asked again');
  t.equal(seen[1]!['if-none-match'], '"v1"', 'conditionally, with the ETag it gave');
  time.advance(60_000);
  await fetcher.getJson(url);
  t.equal(seen.length, 2, 'the 304 made the copy fresh again');

  doc = { label: 'second, edited by the library' };
  etag = '"v2"';
  time.advance(300_000);
  t.same(await fetcher.getJson(url), { label: 'second, edited by the library' }, 'the edit is seen');
  time.advance(60_000);
  t.same(await fetcher.getJson(url), { label: 'second, edited by the library' }, 'and kept');
  t.equal(seen.length, 3);
});

t.test('a document without validators is fetched whole once stale; documentFreshMs 0 asks every time', async (t) => {
  let label = 'first';
  let requests = 0;
  const base = await serve(t, () => {
    requests += 1;
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ label })) };
  });
  const time = clock();
  const fetcher = createFetcher({ ...quick, cacheDir: t.testdir(), now: time.now });
  t.same(await fetcher.getJson(`${base}/info.json`), { label: 'first' });
  label = 'second';
  t.same(await fetcher.getJson(`${base}/info.json`), { label: 'first' }, 'within the default five minutes');
  time.advance(300_000);
  t.same(await fetcher.getJson(`${base}/info.json`), { label: 'second' });
  t.equal(requests, 2);

  const always = createFetcher({ ...quick, cacheDir: t.testdir(), documentFreshMs: 0, now: time.now });
  await always.getJson(`${base}/info.json`);
  await always.getJson(`${base}/info.json`);
  t.equal(requests, 4, 'two calls, two requests');
});

t.test('a stale document whose server is down is used as stored; one its server says is gone is not', async (t) => {
  let status = 200;
  const base = await serve(t, () => (status === 200 ? { status, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"label":"kept"}') } : { status }));
  const time = clock();
  const warned: object[] = [];
  const fetcher = createFetcher({ ...quick, retries: 0, cacheDir: t.testdir(), now: time.now, log: { warn: (obj) => void warned.push(obj) } });
  await fetcher.getJson(`${base}/manifest.json`);
  status = 503;
  time.advance(600_000);
  t.same(await fetcher.getJson(`${base}/manifest.json`), { label: 'kept' }, 'a 503: the stored copy');
  t.match(warned, [{ url: `${base}/manifest.json`, code: 'LOUPE_ERR_FETCH_HTTP' }], 'and a warning says so');
  status = 404;
  await t.rejects(fetcher.getJson(`${base}/manifest.json`), { code: 'LOUPE_ERR_FETCH_NOT_FOUND' }, 'a 404: gone');
});

t.test('derived images keep under their budget, least recently read first; a swept one is not found', async (t) => {
  const dir = t.testdir();
  const time = clock();
  const derived = openDerivedImages(dir, { maxBytes: 40_000, keepMs: HOUR, now: time.now });
  const made = { format: 'image/png' as const, width: 64, height: 64, source: 'https://iiif.example.org/i/full/64,/0/default.jpg', created: '2026-12-07T00:00:00.000Z', steps: [] };
  const ids: string[] = [];
  // Six images of about 12 kB made in one job: all used within keepMs, so none goes yet.
  for (let i = 0; i < 6; i++) {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png().toBuffer();
    ids.push((await derived.put(png, made as never)).id);
  }
  const budget = folderBudget(dir, { maxBytes: 0, keepMs: 0 }); // the store's own: these options are not used
  t.match(await budget.sweepNow(), { entries: 6, removed: 0 }, 'over the budget, but all in use');
  time.advance(2 * HOUR);
  await derived.get(ids[0]!); // a viewer shows the first again
  const report = await budget.sweepNow();
  t.match(report, { entries: 6, removed: 4 }, 'two hours on: down to 90 % of the budget');
  t.ok((await folderBytes(dir)) <= 36_000);
  t.ok(await derived.get(ids[0]!), 'the one read last is kept');
  const gone = [];
  for (const id of ids.slice(1)) gone.push(await derived.get(id).then(() => undefined, (err: { code: string }) => err.code));
  t.same(gone.filter(Boolean), ['LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_NOT_FOUND'], 'four of the five unread ones went: not found');
});

type Reply = { status: number; headers?: Record<string, string>; body?: Buffer };

async function serve(t: Test, answer: (url: string, headers: IncomingHttpHeaders) => Reply): Promise<string> {
  const server = createServer((req, res) => {
    const reply = answer(req.url ?? '/', req.headers);
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
