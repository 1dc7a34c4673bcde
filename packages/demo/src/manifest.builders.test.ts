import t from 'tap';
import { collectionV2, collectionV3, manifestV2, manifestV3 } from './manifest.builders.js';

const canvases = [
  { label: 'p1', width: 1000, height: 600, image: { serviceId: 'http://127.0.0.1:9/iiif/a' } },
  { id: 'https://example.org/c/2', label: 'p2', width: 800, height: 600, image: { serviceId: 'http://127.0.0.1:9/iiif/b', version: 2 as const, level: 0 as const } },
  { label: 'p3', width: 10, height: 10, image: { url: 'http://127.0.0.1:9/plain.png', format: 'image/png', width: 20, height: 20 } },
  { label: 'blank', width: 10, height: 10 },
];

t.test('manifestV3: canvases, painting annotations, services of either version', async (t) => {
  const m = manifestV3({ id: 'https://example.org/m/book.json', label: 'Book', canvases }) as any;
  t.match(m, { '@context': 'http://iiif.io/api/presentation/3/context.json', id: 'https://example.org/m/book.json', type: 'Manifest', label: { en: ['Book'] } });
  t.equal(m.items.length, 4);
  const [c1, c2, c3, c4] = m.items;
  t.equal(c1.id, 'https://example.org/m/book/canvas/1', 'canvas ids derive from the manifest id');
  t.equal(c2.id, 'https://example.org/c/2');
  const anno = c1.items[0].items[0];
  t.match(anno, { type: 'Annotation', motivation: 'painting', target: c1.id });
  t.same(anno.body, {
    id: 'http://127.0.0.1:9/iiif/a/full/max/0/default.jpg',
    type: 'Image',
    format: 'image/jpeg',
    width: 1000,
    height: 600,
    service: [{ id: 'http://127.0.0.1:9/iiif/a', type: 'ImageService3', profile: 'level2' }],
  });
  t.same(c2.items[0].items[0].body.service, [{ '@id': 'http://127.0.0.1:9/iiif/b', '@type': 'ImageService2', profile: 'http://iiif.io/api/image/2/level0.json' }]);
  t.equal(c2.items[0].items[0].body.id, 'http://127.0.0.1:9/iiif/b/full/full/0/default.jpg');
  t.match(c3.items[0].items[0].body, { id: 'http://127.0.0.1:9/plain.png', format: 'image/png', width: 20, height: 20 });
  t.notOk('service' in c3.items[0].items[0].body);
  t.same(c4.items[0].items, [], 'a blank canvas paints nothing');
});

t.test('manifestV2: one sequence, sc:painting images with their service', async (t) => {
  const m = manifestV2({ id: 'https://example.org/m/book.json', label: { fr: ['Livre'] }, canvases }) as any;
  t.match(m, { '@context': 'http://iiif.io/api/presentation/2/context.json', '@id': 'https://example.org/m/book.json', '@type': 'sc:Manifest', label: 'Livre' });
  const [c1, c2, , c4] = m.sequences[0].canvases;
  t.match(c1, { '@id': 'https://example.org/m/book/canvas/1', '@type': 'sc:Canvas', width: 1000, height: 600 });
  t.match(c1.images[0], { motivation: 'sc:painting', on: c1['@id'], resource: { '@type': 'dctypes:Image' } });
  t.same(c1.images[0].resource.service, {
    '@context': 'http://iiif.io/api/image/3/context.json',
    id: 'http://127.0.0.1:9/iiif/a',
    type: 'ImageService3',
    profile: 'level2',
  });
  t.same(c2.images[0].resource.service, {
    '@context': 'http://iiif.io/api/image/2/context.json',
    '@id': 'http://127.0.0.1:9/iiif/b',
    profile: 'http://iiif.io/api/image/2/level0.json',
  });
  t.same(c4.images, []);
});

t.test('collections list manifests and sub-collections by reference', async (t) => {
  const items = [{ id: 'https://example.org/m/1.json', label: 'One' }, { id: 'https://example.org/c/sub.json', type: 'Collection' as const }];
  t.same(collectionV3({ id: 'https://example.org/c/top.json', label: 'Top', items }), {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://example.org/c/top.json',
    type: 'Collection',
    label: { en: ['Top'] },
    items: [
      { id: 'https://example.org/m/1.json', type: 'Manifest', label: { en: ['One'] } },
      { id: 'https://example.org/c/sub.json', type: 'Collection', label: { en: ['https://example.org/c/sub.json'] } },
    ],
  });
  t.match(collectionV2({ id: 'https://example.org/c/top.json', items }), {
    '@type': 'sc:Collection',
    manifests: [{ '@id': 'https://example.org/m/1.json', '@type': 'sc:Manifest', label: 'One' }],
    collections: [{ '@id': 'https://example.org/c/sub.json', '@type': 'sc:Collection' }],
  });
});

t.test('an image needs a url or a service', async (t) => {
  t.throws(() => manifestV3({ id: 'https://example.org/m.json', canvases: [{ label: 'x', width: 1, height: 1, image: {} }] }), /url or a serviceId/);
});
