import t, { type Test } from 'tap';
import { manifestKey, type Finding, type ResultSet } from '@loupe/contracts';
import { openSqliteAnnotationStore, withPublicUrl } from '@loupe/store';
import { resultSetKey, toAnnotations } from './annotations.js';
import { layerHandlers } from './layers.js';

const PUBLIC = 'https://loupe.example';
const MANIFEST = 'https://iiif.example.org/book/manifest';
const canvas = (n: number): string => `https://iiif.example.org/book/canvas/${n}`;
const horse = (x: number): Finding => ({ motivation: 'tagging', label: 'horse', box: { x, y: 0, w: 10, h: 10 }, confidence: 0.9 });

async function setup(t: Test) {
  const raw = openSqliteAnnotationStore({ path: ':memory:' });
  t.teardown(() => raw.close());
  const store = withPublicUrl(raw, PUBLIC);
  const put = async (n: number, version: string, findings: Finding[]) => {
    const set: ResultSet = { manifestId: MANIFEST, canvasId: canvas(n), imageIndex: 0, stage: 'detect.objects', model: { id: 'centernet', version, name: 'CenterNet COCO', runtime: 'onnxruntime' }, generated: '2026-01-01T00:00:00Z', findings };
    await store.replaceResultSet(resultSetKey(set), version, toAnnotations(set, PUBLIC));
  };
  const [layer, page] = layerHandlers(store, PUBLIC);
  const call = async (handler: typeof layer, input: Record<string, string>) => (await handler!.handler(input as never, {} as never)) as Record<string, any>;
  return { store, put, getLayer: (input: Record<string, string>) => call(layer, input), getPage: (input: Record<string, string>) => call(page, input) };
}

const params = (state: string, version = '1') => ({ manifest: manifestKey(MANIFEST), model: 'centernet', version, state });

t.test("a layer's collection counts its annotations and links its first and last pages; each page is partOf it", async (t) => {
  const { store, put, getLayer, getPage } = await setup(t);
  await put(1, '1', [horse(0), horse(20)]);
  await put(2, '2', [horse(0)]);
  await put(3, '1', [horse(0), horse(40)]);
  const [reviewed] = await store.query({ canvasId: canvas(3) });
  await store.review(reviewed!.id, { state: 'accepted', reviewer: 'curator' });

  const collection = await getLayer(params('unreviewed'));
  const base = `${PUBLIC}/v1/annotations/layers/${manifestKey(MANIFEST)}/centernet/1/unreviewed`;
  const pageOf = (n: number) => ({ id: `${base}/page?canvas=${encodeURIComponent(canvas(n))}`, type: 'AnnotationPage' });
  t.match(collection, { id: base, type: 'AnnotationCollection', label: { en: ['Objects — CenterNet COCO 1 (onnxruntime), unreviewed'] }, total: 3 });
  t.same([collection.first, collection.last], [pageOf(1), pageOf(3)], 'version 2 on canvas 2 is another layer');

  const first = await getPage({ ...params('unreviewed'), canvas: canvas(1) });
  t.equal(first.id, pageOf(1).id);
  t.same(first.partOf, [{ id: base, type: 'AnnotationCollection', label: collection.label }]);
  t.equal(first.items.length, 2);
  t.same(first.next, pageOf(3), 'the next canvas of the layer');
  t.notOk('prev' in first);
  const last = await getPage({ ...params('unreviewed'), canvas: canvas(3) });
  t.same([last.items.length, last.prev, 'next' in last], [1, pageOf(1), false], 'the accepted annotation left for its own layer');

  const accepted = await getLayer(params('accepted'));
  t.match(accepted, { total: 1, label: { en: ['Objects — CenterNet COCO 1 (onnxruntime), accepted by a person'] } });
  t.match(await getLayer(params('unreviewed', '2')), { total: 1, label: { en: ['Objects — CenterNet COCO 2 (onnxruntime), unreviewed'] } });
});

t.test('an empty layer, an unknown manifest or a canvas outside the layer is not found', async (t) => {
  const { put, getLayer, getPage } = await setup(t);
  await put(1, '1', [horse(0)]);
  await t.rejects(getLayer(params('rejected')), { code: 'LOUPE_ERR_NOT_FOUND' });
  await t.rejects(getLayer({ ...params('unreviewed'), manifest: manifestKey('https://elsewhere.example/m') }), { code: 'LOUPE_ERR_NOT_FOUND' });
  await t.rejects(getLayer({ ...params('unreviewed'), manifest: 'not*a*key' }), { code: 'LOUPE_ERR_NOT_FOUND' });
  await t.rejects(getPage({ ...params('unreviewed'), canvas: canvas(2) }), { code: 'LOUPE_ERR_NOT_FOUND' });
});

t.test("a page reads its canvas and its nearest neighbours in the layer, never the whole layer", async (t) => {
  const { store, put } = await setup(t);
  for (let n = 10; n < 50; n++) await put(n, '1', [horse(0), horse(20), horse(40)]);
  // Canvases 25 and 26 have only another version's annotations: the walk passes over them.
  await put(25, '2', [horse(0)]);
  await put(26, '2', [horse(0)]);
  let read = 0;
  const counting = new Proxy(store, {
    get: (target, name, receiver) =>
      name === 'query'
        ? async (q: Parameters<typeof store.query>[0]) => {
            const found = await target.query(q);
            read += found.length;
            return found;
          }
        : Reflect.get(target, name, receiver),
  });
  const [, page] = layerHandlers(counting, PUBLIC);
  const getPage = async (n: number) => (await page.handler({ ...params('unreviewed'), canvas: canvas(n) } as never, {} as never)) as Record<string, any>;
  const base = `${PUBLIC}/v1/annotations/layers/${manifestKey(MANIFEST)}/centernet/1/unreviewed`;
  const pageOf = (n: number) => ({ id: `${base}/page?canvas=${encodeURIComponent(canvas(n))}`, type: 'AnnotationPage' });

  const middle = await getPage(30);
  t.same([middle.items.length, middle.prev, middle.next], [3, pageOf(29), pageOf(31)]);
  t.equal(read, 9, 'three canvases of three annotations read, of the 114 the layer holds');
  read = 0;
  const beforeGap = await getPage(24);
  t.same(beforeGap.next, pageOf(27), 'the next canvas with version 1 annotations, past the two without');
  t.equal(read, 3 + 3 + 1 + 1 + 3, 'its own, the one before, and the walk over 25 and 26 to 27');
  const first = await getPage(10);
  t.same([first.prev, first.next], [undefined, pageOf(11)], 'the first canvas has no prev');
});

t.test("a layer's pages follow the manifest's order of canvases, not their ids; a canvas with no place comes last", async (t) => {
  const { store, put, getLayer, getPage } = await setup(t);
  // Canvases 1 to 12 of a book, recorded as a harvest records them: by id, 10, 11 and 12 would come before 2.
  for (let n = 1; n <= 12; n++) {
    await store.putCanvas({ canvasId: canvas(n), manifestId: MANIFEST, index: n - 1, width: 100, height: 100, image: { id: `https://iiif.example.org/book/${n}.jpg` } });
    await put(n, '1', [horse(0)]);
  }
  await put(100, '1', [horse(0)]); // never recorded: no place
  const base = `${PUBLIC}/v1/annotations/layers/${manifestKey(MANIFEST)}/centernet/1/unreviewed`;
  const pageOf = (n: number) => ({ id: `${base}/page?canvas=${encodeURIComponent(canvas(n))}`, type: 'AnnotationPage' });
  const collection = await getLayer(params('unreviewed'));
  t.same([collection.first, collection.last], [pageOf(1), pageOf(100)]);
  const walked = [1];
  for (let page = await getPage({ ...params('unreviewed'), canvas: canvas(1) }); page.next; ) {
    const next = new URL(page.next.id).searchParams.get('canvas')!;
    walked.push(Number(next.split('/').at(-1)));
    page = await getPage({ ...params('unreviewed'), canvas: next });
  }
  t.same(walked, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100], 'next walks the book in its order');
  t.same((await getPage({ ...params('unreviewed'), canvas: canvas(10) })).prev, pageOf(9));
});
