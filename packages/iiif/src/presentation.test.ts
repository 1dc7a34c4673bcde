import { LoupeError } from '@loupe/contracts';
import t from 'tap';
import { parseJsonDocument } from './json-document.js';
import { HARVEST_PREFETCH, harvest, harvestAll, parseManifest } from './presentation.js';
import type { DocumentLoader, HarvestEvent } from './types.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';
const P3 = 'http://iiif.io/api/presentation/3/context.json';
const EX = 'https://lib.example.org/iiif';

function v2Image(canvas: string, id: string, service: unknown, on = canvas): Record<string, unknown> {
  return { '@type': 'oa:Annotation', motivation: 'sc:painting', on, resource: { '@id': id, '@type': 'dctypes:Image', format: 'image/jpeg', width: 3000, height: 4000, service } };
}

const v2Manifest = {
  '@context': P2,
  '@id': `${EX}/book/manifest`,
  '@type': 'sc:Manifest',
  label: [
    { '@value': 'Livre', '@language': 'fr' },
    { '@value': 'Book', '@language': 'en' },
  ],
  sequences: [
    {
      '@type': 'sc:Sequence',
      canvases: [
        {
          '@id': `${EX}/book/canvas/p1`,
          '@type': 'sc:Canvas',
          label: 'f. 1r',
          width: 3000,
          height: 4000,
          images: [
            v2Image(`${EX}/book/canvas/p1`, 'https://img.example.org/iiif/2/p1/full/full/0/default.jpg', {
              '@context': 'http://iiif.io/api/image/2/context.json',
              '@id': 'https://img.example.org/iiif/2/p1/',
              profile: 'http://iiif.io/api/image/2/level1.json',
            }),
          ],
        },
        {
          '@id': `${EX}/book/canvas/p2`,
          '@type': 'sc:Canvas',
          width: 2000,
          height: 1000,
          images: [
            v2Image(`${EX}/book/canvas/p2`, 'https://img.example.org/p2.jpg', {
              '@context': 'http://library.stanford.edu/iiif/image-api/1.1/context.json',
              '@id': 'https://img.example.org/iiif/1/p2',
              profile: 'http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level2',
            }),
            v2Image(`${EX}/book/canvas/p2`, 'https://img.example.org/detail.jpg', 'https://img.example.org/iiif/3/detail', `${EX}/book/canvas/p2#xywh=100,200,300,400`),
          ],
        },
        { '@id': `${EX}/book/canvas/p3`, '@type': 'sc:Canvas', label: 'blank', width: 10, height: 10 },
      ],
    },
  ],
};

const v3Manifest = {
  '@context': P3,
  id: `${EX}/codex/manifest`,
  type: 'Manifest',
  label: { none: ['Kodex'], de: ['Der Kodex'] },
  items: [
    {
      id: `${EX}/codex/c1`,
      type: 'Canvas',
      label: { de: ['Vorderseite'], 'en-GB': ['Recto'] },
      width: 1200,
      height: 1800,
      items: [
        {
          id: `${EX}/codex/c1/page`,
          type: 'AnnotationPage',
          items: [
            {
              id: `${EX}/codex/c1/anno`,
              type: 'Annotation',
              motivation: 'painting',
              target: `${EX}/codex/c1`,
              body: {
                type: 'Choice',
                items: [
                  {
                    id: `${EX}/img/natural.jpg`,
                    type: 'Image',
                    format: 'image/jpeg',
                    label: { en: ['Natural light'] },
                    service: [
                      { id: `${EX}/iiif2/natural`, type: 'ImageService2', profile: 'http://iiif.io/api/image/2/level2.json' },
                      { id: `${EX}/iiif3/natural`, type: 'ImageService3', profile: 'level2' },
                    ],
                  },
                  { id: `${EX}/img/xray.jpg`, type: 'Image', label: { fr: ['Rayons X'] }, service: [{ id: `${EX}/iiif3/xray`, type: 'ImageService3', profile: 'level3' }] },
                ],
              },
            },
          ],
        },
      ],
    },
    {
      id: `${EX}/codex/c2`,
      type: 'Canvas',
      width: 100,
      height: 100,
      items: [
        {
          id: `${EX}/codex/c2/page`,
          type: 'AnnotationPage',
          items: [
            {
              id: `${EX}/codex/c2/image`,
              type: 'Annotation',
              motivation: 'painting',
              body: {
                type: 'SpecificResource',
                source: { id: `${EX}/img/c2.jpg`, type: 'Image', service: [{ '@id': `${EX}/iiif2/c2`, '@type': 'ImageService2', profile: 'http://iiif.io/api/image/2/level0.json' }] },
                selector: { type: 'ImageApiSelector', rotation: '90' },
              },
              target: { type: 'SpecificResource', source: `${EX}/codex/c2`, selector: { type: 'FragmentSelector', value: 'xywh=10,20,50,60' } },
            },
            { id: `${EX}/codex/c2/pdf`, type: 'Annotation', motivation: 'painting', body: { id: `${EX}/c2.pdf`, type: 'Text', format: 'application/pdf' }, target: `${EX}/codex/c2` },
          ],
        },
      ],
    },
    { id: `${EX}/codex/c3/`, type: 'Canvas', width: 100, height: 100, items: [] },
  ],
};

t.test('a Presentation 2 manifest, upgraded by @iiif/parser', async (t) => {
  const before = JSON.stringify(v2Manifest);
  const manifest = parseManifest(v2Manifest, 'book.json');
  t.equal(JSON.stringify(v2Manifest), before, 'the input is left as it was');
  t.same([manifest.id, manifest.label, manifest.sourceVersion, manifest.v3.type], [`${EX}/book/manifest`, 'Book', 2, 'Manifest']);
  t.same(
    manifest.canvases.map((c) => [c.index, c.label, c.width, c.height, c.images.length]),
    [
      [0, 'f. 1r', 3000, 4000, 1],
      [1, 'p2', 2000, 1000, 2],
      [2, 'blank', 10, 10, 0],
    ],
    'a canvas without a label is named by the last segment of its id; one without images is still reported',
  );
  t.same(manifest.canvases[0]?.images[0], {
    id: 'https://img.example.org/iiif/2/p1/full/full/0/default.jpg',
    format: 'image/jpeg',
    width: 3000,
    height: 4000,
    service: { id: 'https://img.example.org/iiif/2/p1', version: 2, level: 1, profile: 'http://iiif.io/api/image/2/level1.json' },
  });
  const [stanford, detail] = manifest.canvases[1]?.images ?? [];
  t.same(stanford?.service, {
    id: 'https://img.example.org/iiif/1/p2',
    version: 1,
    level: 2,
    profile: 'http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level2',
  });
  t.same(detail?.target, { x: 100, y: 200, w: 300, h: 400 }, 'painted on a region of the canvas');
  t.same(detail?.service, { id: 'https://img.example.org/iiif/3/detail', version: 3, level: null }, 'a service given as a string: version from its path');
});

t.test('a Presentation 3 manifest: Choice, SpecificResource, service preference, non-images skipped', async (t) => {
  const manifest = parseManifest(v3Manifest, 'codex.json');
  t.same([manifest.label, manifest.sourceVersion], ['Kodex', 3], 'no English: the first language');
  t.equal(manifest.v3, v3Manifest);
  const [c1, c2, c3] = manifest.canvases;
  t.equal(c1?.label, 'Recto', 'English (en-GB) before the first language');
  t.same(
    c1?.images.map((i) => [i.id, i.choice, i.service]),
    [
      [`${EX}/img/natural.jpg`, 'Natural light', { id: `${EX}/iiif3/natural`, version: 3, level: 2, profile: 'level2' }],
      [`${EX}/img/xray.jpg`, 'Rayons X', { id: `${EX}/iiif3/xray`, version: 3, level: null, profile: 'level3' }],
    ],
    'ImageService3 preferred over ImageService2; an unknown profile level is null',
  );
  t.same(c2?.images, [
    {
      id: `${EX}/img/c2.jpg`,
      service: { id: `${EX}/iiif2/c2`, version: 2, level: 0, profile: 'http://iiif.io/api/image/2/level0.json' },
      target: { x: 10, y: 20, w: 50, h: 60 },
      rotation: 90,
    },
  ]);
  t.same([c3?.label, c3?.images], ['c3', []]);
});

t.test('documents that are not manifests', async (t) => {
  t.throws(() => parseManifest({ '@context': P2, '@id': 'x', '@type': 'sc:AnnotationList' }, 'list.json'), {
    code: 'LOUPE_ERR_IIIF_NOT_IIIF',
    message: 'list.json is not a IIIF manifest or collection: has @type "sc:AnnotationList"',
    details: { document: 'list.json' },
  });
  t.throws(() => parseManifest({ test: 'Broken' }, 'broken.json'), { code: 'LOUPE_ERR_IIIF_NOT_IIIF', message: /has no @context\/type$/ });
  t.throws(() => parseManifest([], 'list.json'), { code: 'LOUPE_ERR_IIIF_NOT_IIIF', message: /JSON array/ });
  t.throws(() => parseManifest({ '@context': P3, id: 'c', type: 'Collection', items: [] }, 'c.json'), { code: 'LOUPE_ERR_IIIF_NOT_IIIF', message: 'c.json is a IIIF Collection, not a Manifest (harvest() walks collections)' });
  t.throws(() => parseManifest({ '@context': 'http://iiif.io/api/presentation/4/context.json', id: 'm', type: 'Manifest' }, 'v4.json'), {
    code: 'LOUPE_ERR_IIIF_NOT_IIIF',
    message: /Presentation 4/,
  });
});

t.test('a parser failure becomes LOUPE_ERR_IIIF_NOT_IIIF with its cause', async (t) => {
  const broken = structuredClone(v2Manifest);
  const canvas = broken.sequences[0]?.canvases[0] as { images: Record<string, unknown>[] };
  // @iiif/parser throws on a target whose source is neither a canvas nor an image.
  (canvas.images[0] as Record<string, unknown>).on = { '@type': 'oa:SpecificResource', full: { '@id': 'x', '@type': 'sc:Layer' } };
  try {
    parseManifest(broken, 'broken.json');
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof LoupeError);
    t.match(err, { code: 'LOUPE_ERR_IIIF_NOT_IIIF', message: /^broken\.json is not a IIIF manifest or collection: cannot be read as a Presentation 2 manifest \(Unsupported source type/ });
    t.ok((err as Error).cause instanceof Error, 'the parser error is kept as the cause');
  }
});

// ---------------------------------------------------------------------------------------------

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
  const load = loaderOf({ 'm.json': v3Manifest });
  t.same(summary(await collect('m.json', load)), [`manifest ${EX}/codex/manifest from m.json`]);
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
  t.same(events, [{ type: 'error', error: { document: 'https://x.example/m', code: 'LOUPE_ERR_INTERNAL', message: 'https://x.example/m: socket hang up' } }]);
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
    await new Promise((resolve) => setTimeout(resolve, 10 - Number(ref.slice(1))));
    inFlight -= 1;
    return miniV3(ref);
  };
  const events = await collect('top', load);
  t.same(summary(events), ids.map((id) => `manifest ${id} from ${id}`));
  t.equal(most, HARVEST_PREFETCH, `at most ${HARVEST_PREFETCH} loads at once`);
  const limited = await collect('top', load, { maxManifests: 3 });
  t.same(summary(limited), ['manifest m0 from m0', 'manifest m1 from m1', 'manifest m2 from m2', 'LOUPE_ERR_IIIF_LIMIT top']);
});

t.test('a SpecificResource body keeps its selector: the painted region and rotation', async (t) => {
  const manifest = {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://example.org/m',
    type: 'Manifest',
    label: { en: ['selectors'] },
    items: [
      {
        id: 'https://example.org/m/c1',
        type: 'Canvas',
        width: 1000,
        height: 800,
        items: [
          {
            id: 'https://example.org/m/c1/p',
            type: 'AnnotationPage',
            items: [
              {
                id: 'https://example.org/m/c1/a1',
                type: 'Annotation',
                motivation: 'painting',
                target: 'https://example.org/m/c1',
                body: {
                  type: 'SpecificResource',
                  source: { id: 'https://example.org/iiif/a/full/max/0/default.jpg', type: 'Image', format: 'image/jpeg', service: [{ id: 'https://example.org/iiif/a', type: 'ImageService3', profile: 'level1' }] },
                  selector: { type: 'ImageApiSelector', region: '100,200,800,600', rotation: '90' },
                },
              },
              {
                id: 'https://example.org/m/c1/a2',
                type: 'Annotation',
                motivation: 'painting',
                target: 'https://example.org/m/c1#xywh=0,0,500,400',
                body: {
                  type: 'SpecificResource',
                  source: { id: 'https://example.org/b.jpg', type: 'Image', format: 'image/jpeg' },
                  selector: { type: 'FragmentSelector', value: 'xywh=10,20,30,40' },
                },
              },
            ],
          },
        ],
      },
    ],
  };
  const [first, second] = parseManifest(manifest, 'selectors.json').canvases[0]!.images;
  t.match(first, { service: { id: 'https://example.org/iiif/a', version: 3, level: 1 }, region: { x: 100, y: 200, w: 800, h: 600 }, rotation: 90 });
  t.match(second, { id: 'https://example.org/b.jpg', region: { x: 10, y: 20, w: 30, h: 40 }, target: { x: 0, y: 0, w: 500, h: 400 } });
  t.notOk('rotation' in second!, 'no rotation when none is selected');
});
