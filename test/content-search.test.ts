// IIIF Content Search and annotation layers over real HTTP, on real OCR: an embedded process runs a
// text job on a rendered page served by the local IIIF Image API server; the enriched manifest
// advertises its search services and layers; a query finds a word of the page at the place the
// page has it, in 2.0 and 1.0, with autocomplete; every layer's collection and page dereference;
// the IIIF-facing answers carry CORS for a viewer on another origin; the manifest validates
// against the IIIF Presentation 3 schema (when ../shared is there).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import t from 'tap';
import { searchServiceUrls, type JobView } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';
import { freePort } from './support/loupe-process.js';

const schemaPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'fixtures', 'schemas', 'iiif-presentation-3.0.schema.json');
const VIEWER = 'https://viewer.example.org';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-search-'));
const page = await renderTextPage({
  lines: ['Catalogue of Manuscripts, Shelf 14, Item 203.', 'Bound in brown calf over wooden boards.', 'Gift of the Abbey library, received March 1897.'],
  font: 'serif',
  sizePt: 22,
  width: 1100,
  format: 'jpeg',
});
const serviceId = await server.addImage('page', page.image, { version: 3, level: 2 });
const manifestId = `${server.url}/m/searched.json`;
server.addDocument(
  '/m/searched.json',
  manifestV3({ id: manifestId, label: 'Searched', canvases: [{ label: 'one', width: page.width, height: page.height, image: { serviceId, version: 3, level: 2, width: page.width, height: page.height } }] }),
);
const canvasId = `${manifestId.replace(/\.json$/, '')}/canvas/1`;

// The ids Loupe writes are on its public URL: the address this test reaches it at.
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_PUBLIC_URL: url }, { logLevel: 'silent', dataDir }));
await embedded.app.start({ port, host: '127.0.0.1' });
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function get(target: string): Promise<{ status: number; cors: string | null; body: Record<string, any> }> {
  const res = await fetch(target.startsWith('http') ? target : `${url}${target}`, { headers: { authorization: embedded.app.localAuthorization, origin: VIEWER } });
  return { status: res.status, cors: res.headers.get('access-control-allow-origin'), body: (await res.json()) as Record<string, any> };
}

const created = await (
  await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: embedded.app.localAuthorization, 'content-type': 'application/json' },
    body: JSON.stringify({ manifest: manifestId, pipeline: 'text' }),
  })
).json() as JobView;
let job = created;
// The job runs in this process: polling its view on the event loop is enough.
while (job.state !== 'done' && job.state !== 'failed') {
  await new Promise((r) => setTimeout(r, 50));
  job = (await get(`/v1/jobs/${created.id}`)).body as JobView;
}
const enriched = await get(`/v1/jobs/${created.id}/manifest`);
const urls = searchServiceUrls(url, manifestId);

t.test('the enriched manifest advertises Content Search 2.0 and 1.0, and validates', async (t) => {
  t.equal(job.state, 'done', 'the text job finished', { failures: job.failures });
  t.equal(enriched.cors, '*', 'a viewer on another origin may read the manifest');
  const services = enriched.body.service as Record<string, any>[];
  t.match(services, [{ id: urls.search2, type: 'SearchService2', service: [{ id: urls.autocomplete2, type: 'AutoCompleteService2' }] }, { '@id': urls.search1, profile: 'http://iiif.io/api/search/1/search' }]);
  const schema = await fs.readFile(schemaPath, 'utf8').catch(() => undefined);
  if (!schema) return void t.comment(`IIIF Presentation 3 schema not found at ${schemaPath}: schema validation skipped (../shared is absent)`);
  const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(schema));
  t.ok(validate(enriched.body), `valid Presentation 3: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
});

t.test('a word of the page is found where the page has it: 2.0, 1.0 and autocomplete', async (t) => {
  const line = page.lines.find((l) => l.text.includes('calf'))!;
  const found = await get(`${urls.search2}?q=calf`);
  t.equal(found.status, 200);
  t.equal(found.cors, '*', 'search answers any origin');
  t.equal(found.body.type, 'AnnotationPage');
  t.ok(found.body.items.length >= 1, 'at least one hit');
  const hit = found.body.items[0];
  const match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(hit.target as string)!;
  t.equal(match[1], canvasId, 'on the canvas');
  const [x, y, w, h] = match.slice(2).map(Number) as [number, number, number, number];
  // The word's box: inside the line's ink (a little slack for the engine's box), and much narrower than the line.
  t.ok(y + h >= line.box.y - 6 && y <= line.box.y + line.box.h + 6, `the hit (y ${y}, h ${h}) is on the line (y ${line.box.y}, h ${line.box.h})`);
  t.ok(x >= line.box.x - 10 && x + w <= line.box.x + line.box.w + 10, 'within the line');
  t.ok(w < line.box.w / 3, `a word's box, not the line's (${w} of ${line.box.w} px)`);

  const phrase = await get(`${urls.search2}?q=${encodeURIComponent('wooden boards')}`);
  t.ok(phrase.body.items.length >= 1, 'two words of one line');
  t.equal((await get(`${urls.search2}?q=unicorn`)).body.items.length, 0, 'a word the page does not have');
  t.equal((await get(`${urls.search2}?q=`)).status, 400, 'an empty query is refused');
  t.equal((await get(`${urls.search2}?q=${'calf%20'.repeat(101)}`)).status, 400, 'so is one of more than 500 characters (the route is public)');
  t.equal((await get(`${url}/v1/iiif/search/2/bm9wZQ?q=calf`)).status, 404, 'an unknown manifest');

  const v1 = await get(`${urls.search1}?q=calf`);
  t.equal(v1.status, 200);
  t.equal(v1.cors, '*');
  t.equal(v1.body['@type'], 'sc:AnnotationList');
  t.ok(v1.body.resources.length >= 1 && v1.body.hits.length >= 1, '1.0: resources and hits');

  const terms = await get(`${urls.autocomplete2}?q=cal`);
  t.ok((terms.body.items as { value: string }[]).some((term) => term.value === 'calf'), 'autocomplete completes "cal"');
});

t.test("every layer of the manifest dereferences, and its pages say which layer they're part of", async (t) => {
  const pages = (enriched.body.items as Record<string, any>[]).flatMap((canvas) => (canvas.annotations ?? []) as Record<string, any>[]);
  t.ok(pages.length >= 1, 'the canvas has a layer');
  for (const embeddedPage of pages) {
    t.match(embeddedPage, { type: 'AnnotationPage', partOf: [{ type: 'AnnotationCollection', label: Object }] });
    const collection = await get(embeddedPage.partOf[0].id);
    t.equal(collection.status, 200, embeddedPage.partOf[0].id);
    t.equal(collection.cors, '*');
    t.match(collection.body, { type: 'AnnotationCollection', total: Number, first: Object });
    const first = await get(typeof collection.body.first === 'string' ? collection.body.first : collection.body.first.id);
    t.equal(first.status, 200);
    t.ok(first.body.items.length >= 1, 'its first page holds annotations');
  }
});

t.test('POST /v1/search with words finds the canvas through the same index, saying why', async (t) => {
  const res = await fetch(`${url}/v1/search`, {
    method: 'POST',
    headers: { authorization: embedded.app.localAuthorization, 'content-type': 'application/json' },
    body: JSON.stringify({ q: 'wooden boards' }),
  });
  t.equal(res.status, 200);
  const body = (await res.json()) as { hits: { canvasId: string; matched: { text?: { snippet: string } } }[] };
  t.equal(body.hits[0]?.canvasId, canvasId, 'the page is the first hit');
  t.match(body.hits[0]?.matched.text?.snippet, /wooden boards/i, 'matched by its text');
});
