import t from 'tap';
import { parseManifest } from './presentation.js';

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
  t.same(manifest.problems, []);
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

t.test('one bad canvas never rejects its manifest', async (t) => {
  const broken = structuredClone(v2Manifest) as { sequences: { canvases: unknown[] }[] };
  const canvases = broken.sequences[0]!.canvases;
  // @iiif/parser's upgrade throws a TypeError on each of these; only the first is valid 2.x.
  (canvases[0] as { images: Record<string, unknown>[] }).images[0]!.on = { '@type': 'oa:SpecificResource', full: { '@id': 'x', '@type': 'sc:Layer' } };
  (canvases[1] as { images: Record<string, unknown>[] }).images[0]!.resource = null;
  let deep: unknown = 'too deep';
  for (let i = 0; i < 200_000; i += 1) deep = [deep];
  canvases.push(null, 42, { '@id': `${EX}/book/canvas/deep`, '@type': 'sc:Canvas', label: deep, width: 10, height: 10 });
  const manifest = parseManifest(broken, 'book.json');
  t.same(
    manifest.canvases.map((c) => [c.index, c.id, c.images.length]),
    [
      [0, `${EX}/book/canvas/p1`, 1],
      [1, `${EX}/book/canvas/p2`, 1],
      [2, `${EX}/book/canvas/p3`, 0],
    ],
    'the canvases the upgrade rejected are read; what can be read of a canvas is',
  );
  t.same(
    manifest.problems.map((p) => [p.code, p.canvas, p.message]),
    [
      ['LOUPE_ERR_IIIF_MALFORMED', undefined, 'book.json: the canvas at index 3 cannot be read and is skipped: it is null, not an object'],
      ['LOUPE_ERR_IIIF_MALFORMED', undefined, 'book.json: the canvas at index 4 cannot be read and is skipped: it is a number, not an object'],
      [
        'LOUPE_ERR_IIIF_MALFORMED',
        `${EX}/book/canvas/deep`,
        `book.json: canvas ${EX}/book/canvas/deep (index 5) cannot be read and is skipped: it nests lists or objects too deeply`,
      ],
    ],
    'each unreadable canvas named by index (and id), in plain words',
  );
  const v3Items = manifest.v3.items as Record<string, unknown>[];
  t.same(
    v3Items.map((c) => c.id),
    manifest.canvases.map((c) => c.id),
    'the upgraded document keeps every canvas the harvest read, the ones the upgrader throws on included',
  );
  t.match(v3Items[1], { items: [{ items: [{ body: { id: 'https://img.example.org/detail.jpg' } }] }] }, 'written from what the harvest read');
});

t.test('a manifest that cannot be read at all: LOUPE_ERR_IIIF_NOT_IIIF in plain words', async (t) => {
  let deep: unknown = 'label';
  for (let i = 0; i < 200_000; i += 1) deep = [deep];
  t.throws(() => parseManifest({ ...v3Manifest, label: deep }, 'deep.json'), {
    code: 'LOUPE_ERR_IIIF_NOT_IIIF',
    message: 'deep.json is not a IIIF manifest Loupe can read: it nests lists or objects too deeply',
  });
  // A 2.x label is read as the upgrade reads it, one level of list deep: the rest is not a label.
  t.same(parseManifest({ ...v2Manifest, label: deep }, 'deep.json').label, 'manifest', 'Presentation 2: no label, named by its id');
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

t.test('a 2.x SpecificResource body: the image in `full`, cut by its selector (the upgrade drops it)', async (t) => {
  const manifest = structuredClone(v2Manifest) as { sequences: { canvases: { images: Record<string, unknown>[] }[] }[] };
  const annotation = manifest.sequences[0]!.canvases[0]!.images[0]!;
  annotation.resource = {
    '@type': 'oa:SpecificResource',
    full: annotation.resource,
    selector: { '@context': 'http://iiif.io/api/annex/openannotation/context.json', '@type': 'iiif:ImageApiSelector', region: '100,200,1000,1500', rotation: '90' },
  };
  t.match(parseManifest(manifest, 'book.json').canvases[0]?.images, [
    { id: 'https://img.example.org/iiif/2/p1/full/full/0/default.jpg', service: { id: 'https://img.example.org/iiif/2/p1', version: 2 }, region: { x: 100, y: 200, w: 1000, h: 1500 }, rotation: 90 },
  ]);
});

t.test('the 3.0 document of a large 2.x manifest is made in slices, leaving the event loop free', async (t) => {
  const canvases = Array.from({ length: 1000 }, (_, i) => ({
    '@id': `https://example.org/big/canvas/${i}`,
    '@type': 'sc:Canvas',
    label: `p. ${i + 1}`,
    width: 1000,
    height: 1500,
    images: [{ '@id': `https://example.org/big/annotation/${i}`, '@type': 'oa:Annotation', motivation: 'sc:painting', on: `https://example.org/big/canvas/${i}`, resource: { '@id': `https://example.org/big/${i}.jpg`, '@type': 'dctypes:Image', width: 1000, height: 1500 } }],
  }));
  const json = { '@context': 'http://iiif.io/api/presentation/2/context.json', '@id': 'https://example.org/big/manifest', '@type': 'sc:Manifest', label: 'Big', sequences: [{ '@type': 'sc:Sequence', canvases }] };
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const sliced = await parseManifest(json, 'https://example.org/big/manifest').v3InSlices();
  ticking = false;
  t.ok(turns >= 2, `other work ran while it was made (${turns} turns of the loop)`);
  t.same(sliced, parseManifest(json, 'https://example.org/big/manifest').v3, 'the same document as made in one go');
  t.equal((sliced.items as unknown[]).length, 1000);
});
