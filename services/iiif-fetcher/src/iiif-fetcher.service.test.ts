// The harvest handler called as the runtime calls it, over a real fetcher and a real HTTP server on
// loopback: a 100,000-canvas Presentation 2 manifest while the event loop keeps turning, the
// per-job canvas limit, and a bad canvas reported without costing its manifest.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { LoupeError, type HarvestOutput } from '@loupe/contracts';
import { HARVEST_PREFETCH, createDocumentLoader, createFetcher, type DocumentLoader, type HarvestLimits } from '@loupe/iiif';
import { createIiifFetcherService } from './iiif-fetcher.service.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';

/**
 * A Presentation 2 manifest written as a publisher's export would be: compact JSON, one image per
 * canvas. Ids are short so that 100,000 canvases stay under the fetcher's 20 MiB JSON limit, as the
 * 19 MB, 90,000-canvas manifest of the report did.
 */
function manifestV2(id: string, canvases: number, canvas = (i: number): unknown => canvasV2(i)): string {
  const list = Array.from({ length: canvases }, (_, i) => JSON.stringify(canvas(i)));
  return `{"@context":"${P2}","@id":"${id}","@type":"sc:Manifest","label":"book","sequences":[{"@type":"sc:Sequence","canvases":[${list.join(',')}]}]}`;
}

const canvasV2 = (i: number): unknown => ({
  '@id': `c${i}`,
  '@type': 'sc:Canvas',
  width: 1000,
  height: 1500,
  images: [{ motivation: 'sc:painting', on: `c${i}`, resource: { '@id': `i/${i}.jpg`, '@type': 'dctypes:Image' } }],
});

/** Serves the given documents as JSON; counts requests per path. */
async function serve(t: Test, docs: Record<string, string>): Promise<{ url: (path: string) => string; requests: Map<string, number> }> {
  const requests = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const body = docs[path];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, requests };
}

function harvester(limits: Partial<HarvestLimits> = {}, loaded: () => void = () => undefined) {
  // No egress policy: this fetcher may reach the loopback server (a server's own always has one).
  const fetch = createDocumentLoader(createFetcher({ retries: 0 }));
  const load: DocumentLoader = async (ref) => {
    const document = await fetch(ref);
    loaded();
    return document;
  };
  const [handler] = createIiifFetcherService({ load, limits }).handlers;
  return (input: Record<string, unknown>): Promise<HarvestOutput> => handler!.handler(input as never, { signal: new AbortController().signal } as never) as Promise<HarvestOutput>;
}

t.test('a 100,000-canvas Presentation 2 manifest: harvested in full while the event loop keeps turning', async (t) => {
  const canvases = 100_000;
  const { url } = await serve(t, { '/big.json': manifestV2('http://lib.example/big', canvases) });
  // Other work waiting on the loop: a chain of setImmediate that counts its turns. Parsing the
  // 17 MB body is one JSON.parse in the fetcher, which no harvest can slice: turns are counted
  // from the parsed document. Read in one piece, the harvest leaves the chain no turn at all; in
  // 20 ms slices, at least one a slice. Slices are measured in time, so a loaded machine makes
  // them smaller and the turns more: the check cannot fail for slowness.
  let turns = 0;
  let counting = false;
  const turn = (): void => {
    if (!counting) return;
    turns += 1;
    setImmediate(turn);
  };
  const harvest = harvester({}, () => {
    counting = true;
    setImmediate(turn);
  });
  const out = await harvest({ source: url('/big.json') });
  counting = false;
  t.same([out.manifests.length, out.tasks.length, out.errors, out.skipped], [1, canvases, [], []]);
  t.match(out.tasks[canvases - 1], { canvasId: `c${canvases - 1}`, canvasIndex: canvases - 1, image: { id: `i/${canvases - 1}.jpg` } });
  t.ok(turns >= 10, `other work ran ${turns} times while 100,000 canvases were harvested`);
});

t.test('a source past the canvas limit fails the harvest as a whole, naming the limit and its variable', async (t) => {
  const collection = {
    '@context': P2,
    '@id': 'top',
    '@type': 'sc:Collection',
    manifests: Array.from({ length: 10 }, (_, i) => ({ '@id': '', '@type': 'sc:Manifest', n: i + 1 })),
  };
  const docs: Record<string, string> = {};
  const { url, requests } = await serve(t, docs);
  collection.manifests.forEach((m) => (m['@id'] = url(`/m${m.n}.json`)));
  docs['/top.json'] = JSON.stringify(collection);
  for (const { n } of collection.manifests) docs[`/m${n}.json`] = manifestV2(url(`/m${n}.json`), 400);
  const harvest = harvester({ maxCanvases: 1000 });
  await t.rejects(harvest({ source: url('/top.json') }), {
    code: 'LOUPE_ERR_IIIF_LIMIT',
    message: `${url('/m3.json')}: its 400 canvases would bring the harvest to 1200, past the limit of 1000 canvases a job may have (maxCanvases; LOUPE_MAX_CANVASES); nothing is harvested`,
  });
  t.same(
    ['/m9.json', '/m10.json'].map((path) => requests.get(path)),
    [undefined, undefined],
    `the walk stopped at the third manifest (only the ${HARVEST_PREFETCH} loaded ahead of it were requested)`,
  );
  const within = await harvester({ maxCanvases: 4000 })({ source: url('/top.json') });
  t.same([within.manifests.length, within.tasks.length], [10, 4000], 'at the limit exactly, everything is harvested');
});

t.test('a request may lower maxManifests, not raise it past the operator limit', async (t) => {
  const docs: Record<string, string> = {};
  const { url } = await serve(t, docs);
  docs['/top.json'] = JSON.stringify({ '@context': P2, '@id': 'top', '@type': 'sc:Collection', manifests: [1, 2, 3].map((n) => ({ '@id': url(`/m${n}.json`), '@type': 'sc:Manifest' })) });
  for (const n of [1, 2, 3]) docs[`/m${n}.json`] = manifestV2(url(`/m${n}.json`), 1);
  const out = await harvester({ maxManifests: 2 })({ source: url('/top.json'), maxManifests: 100 });
  t.same(
    [out.manifests.length, out.errors.map((e) => e.code)],
    [2, ['LOUPE_ERR_IIIF_LIMIT']],
  );
});

t.test('an unreadable canvas is reported by index and skipped; its manifest is harvested', async (t) => {
  const { url } = await serve(t, { '/m.json': manifestV2('http://lib.example/m', 4, (i) => (i === 2 ? 'not a canvas'.length : canvasV2(i))) });
  const out = await harvester()({ source: url('/m.json') });
  t.same(out.tasks.map((task) => task.canvasId), ['c0', 'c1', 'c3']);
  t.same(out.errors, [
    {
      document: url('/m.json'),
      code: 'LOUPE_ERR_IIIF_MALFORMED',
      message: `${url('/m.json')}: the canvas at index 2 cannot be read and is skipped: it is a number, not an object`,
    },
  ]);
  t.ok(new LoupeError('LOUPE_ERR_IIIF_MALFORMED').status < 500, 'a 4xx code: the document is at fault, not Loupe');
});

t.test('keepJson: each manifest as read, brotli-compressed; a 2.x manifest embedded in its collection is not kept', async (t) => {
  const docs: Record<string, string> = {};
  const { url } = await serve(t, docs);
  const v3 = { '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'http://lib.example/v3', type: 'Manifest', label: { en: ['v3'] }, items: [] };
  docs['/v3.json'] = JSON.stringify(v3);
  docs['/v2.json'] = manifestV2('http://lib.example/v2', 3);
  const embedded = JSON.parse(manifestV2('http://lib.example/embedded', 1)) as Record<string, unknown>;
  docs['/top.json'] = JSON.stringify({ '@context': P2, '@id': 'top', '@type': 'sc:Collection', manifests: [{ '@id': url('/v3.json'), '@type': 'sc:Manifest' }, { '@id': url('/v2.json'), '@type': 'sc:Manifest' }, embedded] });
  const unpack = (json: string | undefined): unknown => (json === undefined ? undefined : JSON.parse(brotliDecompressSync(Buffer.from(json, 'base64')).toString('utf8')));

  const out = await harvester()({ source: url('/top.json'), keepJson: true });
  t.same(out.manifests.map((m) => [m.id, m.document]), [
    ['http://lib.example/v3', url('/v3.json')],
    ['http://lib.example/v2', url('/v2.json')],
    ['http://lib.example/embedded', url('/top.json')],
  ]);
  t.same(out.manifests.map((m) => unpack(m.json)), [v3, JSON.parse(docs['/v2.json']), undefined], 'the JSON as read, the 2.x one not upgraded');
  const plain = await harvester()({ source: url('/top.json') });
  t.ok(plain.manifests.every((m) => m.json === undefined), 'without keepJson, no JSON');
});
