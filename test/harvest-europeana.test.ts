// `loupe harvest europeana` against a local server that answers as the Europeana Search API
// documents it (record/v2/search.json): the same parameters checked, the same response fields,
// cursor paging, 401 for a bad key, 400 for bad parameters, 429 with Retry-After.
import fs from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LoupeError } from '@loupe/contracts';
import { csvRecords, fromEuropeanaCsv } from '@loupe/datasets';
import { harvestEuropeana, type HarvestEuropeanaOptions } from '../packages/cli/src/commands/harvest.js';
import { EuropeanaClient, europeanaSettingsFromEnv, parseReusability } from '../packages/cli/src/europeana.js';
import { runLoupe } from './support/loupe-process.js';

const KEY = 'test-key-7f3a9c';

interface Item {
  id: string;
  reusability: 'open' | 'restricted' | 'permission';
  media: boolean;
}

interface Seen {
  url: URL;
  headers: IncomingHttpHeaders;
  at: number;
}

interface Fault {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  times: number;
}

/** The generated catalogue: items per concept URI, in result order. An item may sit under several concepts. */
function catalogue(base: string) {
  const item = (id: string, reusability: Item['reusability'] = 'open', media = true): Item => ({ id: `/${base}/${id}`, reusability, media });
  const b = Array.from({ length: 10 }, (_, i) => item(`building_${i}`, 'open', i !== 2 && i !== 5));
  return {
    building: 'http://data.europeana.eu/concept/base/29',
    drawing: 'http://data.europeana.eu/concept/base/35',
    map: 'http://data.europeana.eu/concept/base/43',
    items: {
      'http://data.europeana.eu/concept/base/29': b,
      // Three items also filed under building: they become multi-label rows.
      'http://data.europeana.eu/concept/base/35': [item('drawing_0'), b[0]!, item('drawing_1'), b[1]!, b[3]!],
      'http://data.europeana.eu/concept/base/43': [item('map_0'), item('map_1', 'restricted'), item('map_2', 'permission')],
    } as Record<string, Item[]>,
  };
}

async function startSearchApi(items: Record<string, Item[]>) {
  const requests: Seen[] = [];
  const faults: Fault[] = [];
  let requestNumber = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ url, headers: req.headers, at: Date.now() });
    requestNumber += 1;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const key = (req.headers['x-api-key'] as string | undefined) ?? url.searchParams.get('wskey');
    if (url.pathname !== '/record/v2/search.json') return send(404, { success: false, error: 'Not found' });
    if (!key) return send(401, { apikey: null, success: false, error: 'No API key provided' });
    // The real API echoes the key it got: a client must not pass that on unredacted.
    if (key !== KEY) return send(401, { apikey: key, success: false, error: `Invalid API key ${key}` });
    const fault = faults[0];
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) faults.shift();
      return send(fault.status, fault.body, fault.headers);
    }
    const p = url.searchParams;
    const concept = /^skos_concept:"(.+)"$/.exec(p.get('query') ?? '')?.[1];
    const reusability = p.getAll('reusability');
    const rows = Number(p.get('rows') ?? 12);
    const cursor = p.get('cursor');
    const problems = [
      !concept && `query ${p.get('query')}: expected skos_concept:"<uri>"`,
      !p.getAll('qf').includes('TYPE:IMAGE') && 'qf TYPE:IMAGE missing',
      p.get('media') !== 'true' && 'media=true missing',
      reusability.length === 0 && 'reusability missing',
      reusability.some((r) => !['open', 'restricted', 'permission'].includes(r)) && `reusability ${reusability}: invalid`,
      !(Number.isInteger(rows) && rows >= 1 && rows <= 100) && `rows ${rows}: the maximum is 100`,
      !cursor && 'cursor missing',
      p.has('start') && 'start cannot be combined with cursor',
    ].filter(Boolean);
    if (problems.length > 0) return send(400, { apikey: KEY, success: false, error: `Invalid request: ${problems.join('; ')}` });
    const matching = (items[concept!] ?? []).filter((i) => reusability.includes(i.reusability));
    const offset = cursor === '*' ? 0 : Number(Buffer.from(cursor!, 'base64url').toString());
    if (!Number.isInteger(offset) || offset < 0) return send(400, { apikey: KEY, success: false, error: 'Invalid cursor' });
    const page = matching.slice(offset, offset + rows);
    const next = offset + rows < matching.length ? Buffer.from(String(offset + rows)).toString('base64url') : undefined;
    send(200, {
      apikey: KEY,
      success: true,
      requestNumber,
      itemsCount: page.length,
      totalResults: matching.length,
      ...(next && { nextCursor: next }),
      items: page.map((i) => ({
        id: i.id,
        guid: `https://www.europeana.eu/item${i.id}`,
        link: `https://api.europeana.eu/record${i.id}.json`,
        type: 'IMAGE',
        title: [`Title of ${i.id}`],
        rights: ['http://creativecommons.org/publicdomain/mark/1.0/'],
        dataProvider: ['Test Museum'],
        edmPreview: [`https://api.europeana.eu/thumbnail/v2/url.json?uri=${encodeURIComponent(`https://media.test${i.id}.jpg`)}`],
        ...(i.media && { edmIsShownBy: [`https://media.test${i.id}.jpg`] }),
      })),
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/record/v2/search.json`;
  return {
    url,
    requests,
    fail: (fault: Fault) => faults.push(fault),
    reset: () => {
      requests.length = 0;
      faults.length = 0;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-harvest-eu-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
const cat = catalogue('9200');
const api = await startSearchApi(cat.items);
t.teardown(() => api.close());

const vocab = path.join(tmp, 'vocabulary.json');
// The pilot's file has keys with trailing spaces; the names are trimmed.
await fs.writeFile(vocab, JSON.stringify({ building: cat.building, 'drawing ': cat.drawing, map: cat.map }));
const env = { EUROPEANA_API_KEY: KEY, LOUPE_EUROPEANA_API_URL: api.url };

async function run(opts: Partial<HarvestEuropeanaOptions> = {}) {
  const lines: string[] = [];
  let csv = '';
  const summary = await harvestEuropeana({ vocab, perConcept: 6, rows: 4, rate: 20, env, write: (text) => (csv += text), retryBaseMs: 20, ...opts }, (l) => lines.push(l));
  return { summary, lines, csv };
}

/** The LoupeError a harvest fails with (anything else fails the test). */
async function failure(p: Promise<unknown>): Promise<LoupeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LoupeError) return err;
    throw err;
  }
  throw new Error('expected the harvest to fail');
}

const recordsOf = (csv: string) => csvRecords(csv, { source: 'harvest.csv' });

t.beforeEach(() => api.reset());

t.test('harvests each concept by cursor up to N items, as the pilot CSV with multi-label rows', async (t) => {
  const { summary, lines, csv } = await run();
  const { header, records } = recordsOf(csv);
  t.same(header, ['category', 'skos_concept', 'URI', 'URL', 'ID']);

  const building = cat.items[cat.building]!;
  const withMedia = building.filter((i) => i.media);
  // building: pages of 4 until 6 items with a media URL; the two without are skipped.
  const takenBuilding = withMedia.slice(0, 6);
  const lastIndex = building.indexOf(takenBuilding.at(-1)!);
  const buildingPages = Math.ceil((lastIndex + 1) / 4);
  const skippedBuilding = building.slice(0, lastIndex + 1).filter((i) => !i.media).length;
  t.match(summary.concepts[0], { category: 'building', concept: cat.building, items: 6, pages: buildingPages, skipped: skippedBuilding, totalResults: building.length });
  t.ok(skippedBuilding > 0, 'the catalogue has skipped items within the pages read');

  const drawing = cat.items[cat.drawing]!;
  t.match(summary.concepts[1], { category: 'drawing', items: drawing.length, pages: Math.ceil(drawing.length / 4) });
  const openMaps = cat.items[cat.map]!.filter((i) => i.reusability === 'open');
  t.match(summary.concepts[2], { category: 'map', items: openMaps.length, pages: 1 });

  const byId = new Map(records.map((r) => [r.ID!, r]));
  const expectedIds = new Set([...takenBuilding, ...drawing, ...openMaps].map((i) => i.id));
  t.equal(records.length, expectedIds.size, 'one row per item');
  t.same(new Set(byId.keys()), expectedIds);
  t.equal(summary.rows, expectedIds.size);
  for (const shared of drawing.filter((i) => takenBuilding.includes(i))) {
    t.match(byId.get(shared.id), { category: 'building drawing', skos_concept: `${cat.building} ${cat.drawing}` }, `${shared.id} carries both labels`);
  }
  t.equal(summary.multiLabel, drawing.filter((i) => takenBuilding.includes(i)).length);
  const first = byId.get(building[0]!.id)!;
  t.equal(first.URI, `http://data.europeana.eu/item${building[0]!.id}`);
  t.equal(first.URL, `https://media.test${building[0]!.id}.jpg`);
  for (const skipped of building.filter((i) => !i.media)) t.notOk(byId.has(skipped.id), `${skipped.id} has no edmIsShownBy and is skipped`);

  // What the harvest builds is what `loupe datasets import --format europeana-csv` reads.
  const imported = fromEuropeanaCsv(csv, { source: 'harvest.csv' });
  t.same(imported.problems, [], 'every row imports');
  t.equal(imported.images.length, expectedIds.size);
  const shared = drawing.find((i) => takenBuilding.includes(i))!;
  t.same(imported.images.find((i) => i.externalId === shared.id)?.labels, [
    { concept: cat.building, label: 'building' },
    { concept: cat.drawing, label: 'drawing' },
  ], 'a multi-label row reads back as both labels');

  // What the client sent, page after page.
  t.equal(api.requests.length, summary.requests);
  t.equal(api.requests.length, buildingPages + Math.ceil(drawing.length / 4) + 1, 'paging stopped once N items were found');
  for (const r of api.requests) {
    t.equal(r.headers['x-api-key'], KEY, 'the key travels in the X-Api-Key header, as the API documentation prefers');
    t.notOk(r.url.searchParams.has('wskey'), 'and not in the URL');
    t.same(r.url.searchParams.getAll('qf'), ['TYPE:IMAGE']);
    t.same(r.url.searchParams.getAll('reusability'), ['open']);
    t.equal(r.url.searchParams.get('media'), 'true');
    t.equal(r.url.searchParams.get('rows'), '4');
  }
  t.equal(api.requests[0]!.url.searchParams.get('query'), `skos_concept:"${cat.building}"`);
  t.equal(api.requests[0]!.url.searchParams.get('cursor'), '*');
  t.equal(api.requests[1]!.url.searchParams.get('cursor'), Buffer.from('4').toString('base64url'), 'the second page follows nextCursor');
  t.equal(api.requests[buildingPages]!.url.searchParams.get('cursor'), '*', 'each concept starts a new cursor');

  t.match(lines[0], `building: 6/6 items (${buildingPages} pages), ${skippedBuilding} without an image URL skipped`);
  t.match(lines[1], new RegExp(`^drawing: ${drawing.length}/6 items \\(2 pages\\); the API has no more \\(${drawing.length} results\\)`));
  t.match(lines.at(-1), `harvested ${expectedIds.size} items for 3 concepts`);
});

t.test('several reusability values are sent as repeated parameters', async (t) => {
  const { summary, csv } = await run({ reusability: ['open,restricted'] });
  const maps = cat.items[cat.map]!.filter((i) => i.reusability !== 'permission');
  t.equal(summary.concepts[2]!.items, maps.length);
  t.same(api.requests[0]!.url.searchParams.getAll('reusability'), ['open', 'restricted']);
  const ids = new Set(recordsOf(csv).records.map((r) => r.ID));
  for (const m of maps) t.ok(ids.has(m.id));
  t.notOk(ids.has(cat.items[cat.map]!.find((i) => i.reusability === 'permission')!.id));

  await t.rejects(run({ reusability: ['free'] }), { code: 'LOUPE_ERR_VALIDATION', message: /reusability.*open, restricted, permission/ });
});

t.test('writes the CSV to --out, and the key can travel as wskey', async (t) => {
  const out = path.join(tmp, 'harvest.csv');
  const { summary, csv } = await run({ out, env: { ...env, LOUPE_EUROPEANA_KEY_IN: 'query' } });
  t.equal(csv, '', 'nothing on stdout when --out is given');
  const { records } = recordsOf(await fs.readFile(out, 'utf8'));
  t.equal(records.length, summary.rows);
  for (const r of api.requests) {
    t.equal(r.url.searchParams.get('wskey'), KEY);
    t.notOk(r.headers['x-api-key']);
  }
  t.same((await fs.readdir(tmp)).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
});

t.test('a 429 with Retry-After is waited out and retried', async (t) => {
  api.fail({ status: 429, headers: { 'retry-after': '1' }, body: { success: false, error: 'Too many requests' }, times: 1 });
  const { summary } = await run({ perConcept: 2 });
  t.equal(summary.rows > 0, true);
  const [refused, retried] = api.requests;
  t.equal(retried!.url.searchParams.get('cursor'), '*', 'the same page asked again');
  t.ok(retried!.at - refused!.at >= 950, `waited ${retried!.at - refused!.at} ms for Retry-After: 1`);
  t.equal(summary.requests, api.requests.length);
});

t.test('5xx past the retries fails with the status and the URL, the key redacted', async (t) => {
  api.fail({ status: 503, body: { success: false, error: 'Service unavailable' }, times: 10 });
  const err = await failure(run({ env: { ...env, LOUPE_EUROPEANA_KEY_IN: 'query' } }));
  t.match(err, { code: /^LOUPE_ERR_FETCH_HTTP/, message: /HTTP 503/ });
  t.match(err.message, `${api.url}?`);
  t.match(err.message, 'wskey=***');
  t.match(err.message, 'building');
  t.notMatch(err.message, KEY);
  t.notMatch(JSON.stringify(err.details), KEY);
  t.equal(api.requests.length, 4, 'one request and 3 retries');
});

t.test('a refused key and success:false answers are errors with the API message, the key never shown', async (t) => {
  const wrong = 'wrong-key-123456';
  for (const keyIn of ['header', 'query']) {
    const err = await failure(run({ env: { ...env, EUROPEANA_API_KEY: wrong, LOUPE_EUROPEANA_KEY_IN: keyIn } }));
    t.match(err, { code: 'LOUPE_ERR_FETCH_HTTP', message: /HTTP 401: Invalid API key \*\*\*.*EUROPEANA_API_KEY/ });
    t.notMatch(err.message, wrong);
    t.notMatch(JSON.stringify(err.details), wrong);
  }
  api.reset();
  api.fail({ status: 200, body: { apikey: KEY, success: false, error: 'Invalid query: skos_concept is not searchable' }, times: 1 });
  const err = await failure(run());
  t.match(err, { code: 'LOUPE_ERR_FETCH_HTTP', message: /HTTP 200: Invalid query: skos_concept is not searchable/ });
});

t.test('a missing key is a configuration error naming both variables and where to get one', async (t) => {
  for (const e of [{ LOUPE_EUROPEANA_API_URL: api.url }, { LOUPE_EUROPEANA_API_URL: api.url, EUROPEANA_API_KEY: '  ' }]) {
    await t.rejects(run({ env: e }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /EUROPEANA_API_KEY.*LOUPE_EUROPEANA_API_KEY.*https:\/\/pro\.europeana\.eu\/page\/get-api/ });
  }
  t.equal(api.requests.length, 0, 'nothing sent');
  const { summary } = await run({ env: { LOUPE_EUROPEANA_API_KEY: KEY, LOUPE_EUROPEANA_API_URL: api.url }, perConcept: 1 });
  t.ok(summary.rows > 0, 'LOUPE_EUROPEANA_API_KEY works too');
});

t.test('requests keep to the rate limit', async (t) => {
  // The pacing as the client schedules it (arrival times at the server jitter on a loaded
  // machine, so they are not what is checked): starts at least 1/rate apart, retries included.
  const client = new EuropeanaClient({ ...europeanaSettingsFromEnv(env), ratePerSecond: 5 });
  const query = { concept: cat.building, reusability: parseReusability(), rows: 1 };
  let cursor = '*';
  for (let i = 0; i < 6; i++) cursor = (await client.search(query, cursor)).nextCursor ?? '*';
  t.equal(client.requests, 6);
  t.equal(client.slots.length, 6);
  for (let i = 1; i < client.slots.length; i++) t.ok(client.slots[i]! - client.slots[i - 1]! >= 200, `start ${i} is ${client.slots[i]! - client.slots[i - 1]!} ms after the one before`);
  t.ok(Date.now() - client.slots[0]! >= 1000, 'six requests at 5/s take at least a second');
});

t.test('bad arguments are named', async (t) => {
  await t.rejects(run({ perConcept: 0 }), { code: 'LOUPE_ERR_VALIDATION', message: /--per-concept/ });
  await t.rejects(run({ rate: 0 }), { code: 'LOUPE_ERR_VALIDATION', message: /--rate/ });
  await t.rejects(run({ vocab: path.join(tmp, 'missing.json') }), { code: 'LOUPE_ERR_NOT_FOUND', message: /missing\.json/ });
  const bad = path.join(tmp, 'bad.json');
  await fs.writeFile(bad, JSON.stringify({ building: 'not a uri' }));
  await t.rejects(run({ vocab: bad }), { code: 'LOUPE_ERR_VALIDATION', message: /building/ });
  await t.rejects(run({ env: { ...env, LOUPE_EUROPEANA_API_URL: 'ftp://x' } }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /LOUPE_EUROPEANA_API_URL/ });
  t.equal(api.requests.length, 0);
});

// Through the `loupe` command (needs the harvest command wired in main.ts).
t.test('loupe harvest europeana writes the CSV and reports progress on stderr', async (t) => {
  const out = path.join(tmp, 'cli.csv');
  const ran = await runLoupe(['harvest', 'europeana', '--vocab', vocab, '--per-concept', '3', '--reusability', 'open,restricted', '--rate', '20', '--out', out], {
    cwd: tmp,
    env: { ...env, LOUPE_DATA_DIR: path.join(tmp, 'data') },
  });
  t.equal(ran.code, 0, ran.stderr);
  const { records } = recordsOf(await fs.readFile(out, 'utf8'));
  t.ok(records.length > 0);
  t.match(ran.stderr, /building: 3\/3 items/);
  t.match(api.requests[0]!.url.searchParams.getAll('reusability'), ['open', 'restricted']);

  const stdout = await runLoupe(['harvest', 'europeana', '--vocab', vocab, '--per-concept', '2', '--rate', '20'], { cwd: tmp, env: { ...env, LOUPE_DATA_DIR: path.join(tmp, 'data') } });
  t.equal(stdout.code, 0, stdout.stderr);
  t.same(recordsOf(stdout.stdout).header, ['category', 'skos_concept', 'URI', 'URL', 'ID'], 'the CSV goes to stdout without --out');
  t.notMatch(stdout.stdout, 'building: 2/2', 'progress stays off stdout');
});

t.test('loupe harvest europeana without a key exits 1 naming the variables', async (t) => {
  const ran = await runLoupe(['harvest', 'europeana', '--vocab', vocab, '--per-concept', '3'], {
    cwd: tmp,
    env: { EUROPEANA_API_KEY: '', LOUPE_EUROPEANA_API_KEY: '', LOUPE_EUROPEANA_API_URL: api.url, LOUPE_DATA_DIR: path.join(tmp, 'data') },
  });
  t.equal(ran.code, 1);
  t.match(ran.stderr, 'LOUPE_ERR_CONFIG_INVALID');
  t.match(ran.stderr, 'EUROPEANA_API_KEY');
});
