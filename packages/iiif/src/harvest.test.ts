import { setTimeout as sleep } from 'node:timers/promises';
import { LoupeError } from '@loupe/contracts';
import t from 'tap';
import { HARVEST_PREFETCH, harvest, harvestAll } from './harvest.js';
import { parseJsonDocument } from './json-document.js';
import type { DocumentLoader, HarvestEvent } from './types.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';
const P3 = 'http://iiif.io/api/presentation/3/context.json';

function v2Image(canvas: string, id: string, service: unknown, on = canvas): Record<string, unknown> {
  return { '@type': 'oa:Annotation', motivation: 'sc:painting', on, resource: { '@id': id, '@type': 'dctypes:Image', format: 'image/jpeg', width: 3000, height: 4000, service } };
}

/** A loader over documents held in memory: JSON values, or raw bytes parsed as the fetcher would. */
function loaderOf(docs: Record<string, unknown>): DocumentLoader & { calls: string[] } {
  const calls: string[] = [];
  const load = async (ref: string): Promise<unknown> => {
    calls.push(ref);
    const doc = docs[ref];
    if (doc === undefined) throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `${ref}: 404 Not Found`, { details: { url: ref } });
    if (doc instanceof Uint8Array) return parseJsonDocument(doc, ref);
    return structuredClone(doc);
  };
  return Object.assign(load, { calls });
}

const v3Ref = (id: string, type: 'Manifest' | 'Collection'): Record<string, unknown> => ({ id, type, label: { en: [id] } });

function miniV2(id: string): Record<string, unknown> {
  return {
    '@context': P2,
    '@id': id,
    '@type': 'sc:Manifest',
    label: id,
    sequences: [{ canvases: [{ '@id': `${id}/c1`, '@type': 'sc:Canvas', width: 10, height: 10, images: [v2Image(`${id}/c1`, `${id}/c1.jpg`, undefined)] }] }],
  };
}

function miniV3(id: string): Record<string, unknown> {
  return { '@context': P3, id, type: 'Manifest', label: { en: [id] }, items: [{ id: `${id}/c1`, type: 'Canvas', width: 10, height: 10, items: [] }] };
}

function summary(events: HarvestEvent[]): string[] {
  return events.map((e) => (e.type === 'manifest' ? `manifest ${e.manifest.id} from ${e.document}` : `${e.error.code} ${e.error.document}`));
}

async function collect(source: string, load: DocumentLoader, limits = {}): Promise<HarvestEvent[]> {
  const events: HarvestEvent[] = [];
  for await (const event of harvest(source, load, limits)) events.push(event);
  return events;
}

t.test('a single manifest', async (t) => {
  const load = loaderOf({ 'm.json': miniV3('codex') });
  t.same(summary(await collect('m.json', load)), ['manifest codex from m.json']);
});

t.test('a nested Presentation 2 collection; an embedded manifest is not loaded again; a failing member does not stop the walk', async (t) => {
  const load = loaderOf({
    top: { '@context': P2, '@id': 'top', '@type': 'sc:Collection', manifests: ['m1', miniV2('m2')], collections: [{ '@id': 'sub', '@type': 'sc:Collection' }] },
    sub: { '@context': P2, '@id': 'sub', '@type': 'sc:Collection', manifests: [{ '@id': 'missing', '@type': 'sc:Manifest' }, { '@id': 'm3', '@type': 'sc:Manifest' }] },
    m1: miniV2('m1'),
    m3: miniV2('m3'),
  });
  t.same(summary(await collect('top', load)), ['manifest m1 from m1', 'manifest m2 from top', 'LOUPE_ERR_FETCH_HTTP missing', 'manifest m3 from m3']);
  t.same(load.calls, ['top', 'm1', 'sub', 'missing', 'm3'], 'm2 came embedded');
});

t.test('a Presentation 3 collection with an embedded sub-collection', async (t) => {
  const load = loaderOf({
    top: { '@context': P3, id: 'top', type: 'Collection', items: [v3Ref('a', 'Manifest'), { id: 'inner', type: 'Collection', items: [v3Ref('b', 'Manifest'), miniV3('c')] }] },
    a: miniV3('a'),
    b: miniV2('b'),
  });
  const { manifests, errors } = await harvestAll('top', load);
  t.same(
    manifests.map((m) => [m.id, m.sourceVersion, m.canvases.length]),
    [
      ['a', 3, 1],
      ['b', 2, 1],
      ['c', 3, 1],
    ],
  );
  t.same(errors, []);
  t.same(
    manifests.map((m) => [m.id, m.collections]),
    [
      ['a', ['top']],
      ['b', ['top', 'inner']],
      ['c', ['top', 'inner']],
    ],
    'each manifest knows the collections it was reached through, outermost first',
  );
});

t.test('rights: Presentation 3 rights and 2.x license, for search filters', async (t) => {
  const cc0 = 'https://creativecommons.org/publicdomain/zero/1.0/';
  const noc = 'http://rightsstatements.org/vocab/NoC-NC/1.0/';
  const load = loaderOf({ v3: { ...miniV3('v3'), rights: cc0 }, v2: { ...miniV2('v2'), license: noc }, none: miniV3('none') });
  const rightsOf = async (ref: string) => (await harvestAll(ref, load)).manifests[0]!;
  t.equal((await rightsOf('v3')).rights, cc0);
  t.equal((await rightsOf('v2')).rights, noc);
  t.notOk('rights' in (await rightsOf('none')), 'absent when the manifest says nothing');
  t.notOk('collections' in (await rightsOf('none')), 'a manifest harvested directly has no collection path');
});

t.test('cycles and repeated members are visited once', async (t) => {
  const load = loaderOf({
    a: { '@context': P3, id: 'a', type: 'Collection', items: [v3Ref('b', 'Collection'), v3Ref('m1', 'Manifest')] },
    b: { '@context': P3, id: 'b', type: 'Collection', items: [v3Ref('a', 'Collection'), v3Ref('m1', 'Manifest'), v3Ref('b', 'Collection')] },
    m1: miniV3('m1'),
  });
  t.same(summary(await collect('a', load)), ['manifest m1 from m1']);
  t.same([...load.calls].sort(), ['a', 'b', 'm1'], 'each document loaded once');
});

t.test('maxDepth: deeper collections are reported, not followed', async (t) => {
  const load = loaderOf({
    a: { '@context': P3, id: 'a', type: 'Collection', items: [v3Ref('b', 'Collection'), v3Ref('ma', 'Manifest')] },
    b: { '@context': P3, id: 'b', type: 'Collection', items: [v3Ref('c', 'Collection'), v3Ref('mb', 'Manifest')] },
    c: { '@context': P3, id: 'c', type: 'Collection', items: [v3Ref('mc', 'Manifest')] },
    ma: miniV3('ma'),
    mb: miniV3('mb'),
    mc: miniV3('mc'),
  });
  const events = await collect('a', load, { maxDepth: 1 });
  t.same(summary(events), ['LOUPE_ERR_IIIF_LIMIT c', 'manifest mb from mb', 'manifest ma from ma']);
  t.match(events[0], { error: { message: 'c (inside b): collections nest deeper than maxDepth (1); not followed' } });
  t.notOk(load.calls.includes('c'), 'c is never requested');
  t.same(summary(await collect('a', load, { maxDepth: 0 })), ['LOUPE_ERR_IIIF_LIMIT b', 'manifest ma from ma']);
});

t.test('maxManifests stops the walk with one error naming the collection', async (t) => {
  const load = loaderOf({
    top: { '@context': P3, id: 'top', type: 'Collection', items: [miniV3('m1'), miniV3('m2'), miniV3('m3'), v3Ref('m4', 'Manifest')] },
  });
  const events = await collect('top', load, { maxManifests: 2 });
  t.same(summary(events), ['manifest m1 from top', 'manifest m2 from top', 'LOUPE_ERR_IIIF_LIMIT top']);
  t.match(events[2], { error: { message: /maxManifests \(2\)/ } });
});

t.test('members that are not IIIF, not JSON or not UTF-8 are reported by name', async (t) => {
  const load = loaderOf({
    top: { '@context': P3, id: 'top', type: 'Collection', items: ['list', 'html', 'latin1', v3Ref('ok', 'Manifest'), v3Ref('pdf', 'Manifest')] },
    list: { '@context': P2, '@id': 'list', '@type': 'sc:AnnotationList' },
    html: new TextEncoder().encode('<html><body>Not found</body></html>'),
    latin1: Uint8Array.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]),
    ok: miniV3('ok'),
    pdf: { '@context': P3, id: 'pdf', type: 'Manifest', items: [{ id: 'pdf/c1', type: 'Canvas', items: [] }] },
  });
  const events = await collect('top', load);
  t.same(summary(events), ['LOUPE_ERR_IIIF_NOT_IIIF list', 'LOUPE_ERR_IIIF_NOT_JSON html', 'LOUPE_ERR_IIIF_NOT_UTF8 latin1', 'manifest ok from ok', 'manifest pdf from pdf']);
  t.match(events[0], { error: { message: 'list is not a IIIF manifest or collection: has @type "sc:AnnotationList"' } });
  t.match(events[1], { error: { message: /^html is not JSON: / } });
});

t.test('a paged Presentation 2 collection: first, then next', async (t) => {
  const load = loaderOf({
    top: { '@context': P2, '@id': 'top', '@type': 'sc:Collection', total: 3, first: 'page1' },
    page1: { '@context': P2, '@id': 'page1', '@type': 'sc:Collection', manifests: [miniV2('m1'), { '@id': 'm2', '@type': 'sc:Manifest' }], next: 'page2' },
    page2: { '@context': P2, '@id': 'page2', '@type': 'sc:Collection', manifests: [{ '@id': 'm3', '@type': 'sc:Manifest' }], next: 'page1' },
    m2: miniV2('m2'),
  });
  t.same(summary(await collect('top', load)), ['manifest m1 from page1', 'manifest m2 from m2', 'LOUPE_ERR_FETCH_HTTP m3']);
  t.same(load.calls, ['top', 'page1', 'm2', 'page2', 'm3'], 'page2 pointing back at page1 ends the walk');
});

t.test('the source itself failing is one error event; nothing is thrown', async (t) => {
  t.same(summary(await collect('nowhere', loaderOf({}))), ['LOUPE_ERR_FETCH_HTTP nowhere']);
  const plainThrow: DocumentLoader = async () => {
    throw new TypeError('socket hang up');
  };
  const events = await collect('https://x.example/m', plainThrow);
  t.same(
    events,
    [{ type: 'error', error: { document: 'https://x.example/m', code: 'LOUPE_ERR_INTERNAL', message: 'https://x.example/m: could not be harvested (internal error)' } }],
    "a loader's own error text is not passed on",
  );
  await t.rejects(collect('m', loaderOf({}), { maxDepth: -1 }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('manifests of a collection load a few ahead; events keep document order', async (t) => {
  const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
  let inFlight = 0;
  let most = 0;
  const load: DocumentLoader = async (ref) => {
    if (ref === 'top') return { '@context': P3, id: 'top', type: 'Collection', items: ids.map((id) => v3Ref(id, 'Manifest')) };
    inFlight += 1;
    most = Math.max(most, inFlight);
    // Later members answer sooner: order must come from the walk, not from the network.
    await sleep(10 - Number(ref.slice(1)));
    inFlight -= 1;
    return miniV3(ref);
  };
  const events = await collect('top', load);
  t.same(summary(events), ids.map((id) => `manifest ${id} from ${id}`));
  t.equal(most, HARVEST_PREFETCH, `at most ${HARVEST_PREFETCH} loads at once`);
  const limited = await collect('top', load, { maxManifests: 3 });
  t.same(summary(limited), ['manifest m0 from m0', 'manifest m1 from m1', 'manifest m2 from m2', 'LOUPE_ERR_IIIF_LIMIT top']);
});

t.test('maxCanvases: the harvest fails as a whole before the manifest that would pass it is read', async (t) => {
  const manifest = (id: string, canvases: number) => ({ ...miniV3(id), items: Array.from({ length: canvases }, (_, i) => ({ id: `${id}/c${i}`, type: 'Canvas', items: [] })) });
  const load = loaderOf({
    top: { '@context': P3, id: 'top', type: 'Collection', items: [v3Ref('a', 'Manifest'), v3Ref('b', 'Manifest'), v3Ref('c', 'Manifest')] },
    a: manifest('a', 3),
    b: manifest('b', 3),
    c: manifest('c', 3),
  });
  const seen: string[] = [];
  await t.rejects(
    (async () => {
      for await (const event of harvest('top', load, { maxCanvases: 5 })) seen.push(summary([event])[0]!);
    })(),
    { code: 'LOUPE_ERR_IIIF_LIMIT', message: 'b: its 3 canvases would bring the harvest to 6, past the limit of 5 canvases a job may have (maxCanvases; LOUPE_MAX_CANVASES); nothing is harvested' },
  );
  t.same(seen, ['manifest a from a'], 'what came before the limit was read; the consumer decides (the service discards it)');
  t.same((await harvestAll('top', load, { maxCanvases: 9 })).manifests.length, 3, 'exactly at the limit is within it');
  await t.rejects(harvestAll('top', load, { maxCanvases: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('a manifest with unreadable canvases: one error event per canvas, then the manifest', async (t) => {
  const load = loaderOf({ m: { ...miniV3('m'), items: [{ id: 'm/c1', type: 'Canvas', items: [] }, 7, null] } });
  const events = await collect('m', load);
  t.same(summary(events), ['LOUPE_ERR_IIIF_MALFORMED m', 'LOUPE_ERR_IIIF_MALFORMED m', 'manifest m from m']);
  t.match(events[0], { error: { message: 'm: the canvas at index 1 cannot be read and is skipped: it is a number, not an object' } });
});

t.test('a member id too long to be a URL is reported in a few words, not followed', async (t) => {
  const long = `https://example.org/${'x'.repeat(10_000)}`;
  const load = loaderOf({ top: { '@context': P3, id: 'top', type: 'Collection', items: [v3Ref(long, 'Manifest'), v3Ref('ok', 'Manifest')] }, ok: miniV3('ok') });
  const events = await collect('top', load);
  t.same(summary(events), ['LOUPE_ERR_IIIF_MALFORMED top', 'manifest ok from ok']);
  t.match(events[0], { error: { message: /^top: a member's id is 10020 characters long, more than Loupe follows \(4096\): "https:\/\/example\.org\/x+…"$/ } });
  t.notOk(load.calls.includes(long), 'never requested');
});
