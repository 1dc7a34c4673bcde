// The Content Search handlers called as the runtime calls them, over a real SQLite store file and
// its full-text index. Routing, CORS and public access come from the declarations (`iiif: true`)
// and are the runtime's; test/content-search.test.ts (once wired) drives them over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { manifestKey, type OcrPage } from '@loupe/contracts';
import { openSqliteAnnotationStore, openSqliteContentSearch, withPublicUrl } from '@loupe/store';
import { contentSearchHandlers } from './content-search.js';

const PUBLIC = 'http://loupe.test';
const MANIFEST = 'https://iiif.example.org/book/manifest';
const CANVAS = 'https://iiif.example.org/book/canvas/1';
const KEY = manifestKey(MANIFEST);
const dir = mkdtempSync(join(tmpdir(), 'loupe-content-search-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const page: OcrPage = {
  width: 1000,
  height: 1400,
  engine: { id: 'tesseract', version: '5' },
  languages: ['fra'],
  blocks: [
    {
      box: { x: 90, y: 90, w: 600, h: 100 },
      role: 'body',
      lines: [
        {
          text: 'Le Café de la Gare',
          box: { x: 100, y: 100, w: 500, h: 40 },
          confidence: 0.9,
          words: [
            { text: 'Le', box: { x: 100, y: 100, w: 40, h: 40 }, confidence: 0.9 },
            { text: 'Café', box: { x: 150, y: 100, w: 90, h: 40 }, confidence: 0.9 },
            { text: 'de', box: { x: 250, y: 100, w: 40, h: 40 }, confidence: 0.9 },
            { text: 'la', box: { x: 300, y: 100, w: 40, h: 40 }, confidence: 0.9 },
            { text: 'Gare', box: { x: 350, y: 102, w: 100, h: 40 }, confidence: 0.9 },
          ],
        },
      ],
    },
  ],
};

async function setup(t: Test) {
  const path = join(dir, `store-${files++}.db`);
  const raw = openSqliteAnnotationStore({ path });
  const search = openSqliteContentSearch({ path });
  t.teardown(async () => {
    await search.close();
    await raw.close();
  });
  const store = withPublicUrl(raw, PUBLIC);
  const key = { manifestId: MANIFEST, canvasId: CANVAS, imageIndex: 0, stage: 'text', modelId: 'tesseract' };
  await store.replaceOcrPage(key, '5', page, '2026-01-01T00:00:00Z');
  const tagKey = { ...key, stage: 'detect', modelId: 'detr' };
  await store.replaceResultSet(tagKey, '1', [
    {
      id: 'tag-1',
      type: 'Annotation',
      motivation: 'tagging',
      body: { type: 'TextualBody', value: 'Gare', purpose: 'tagging' },
      target: { type: 'SpecificResource', source: CANVAS, selector: { type: 'FragmentSelector', conformsTo: 'http://www.w3.org/TR/media-frags/', value: 'xywh=10,20,30,40' } },
    },
  ]);
  const handlers = contentSearchHandlers({ store, search, publicUrl: PUBLIC });
  const call = async (name: string, input: Record<string, unknown>): Promise<any> => handlers.find((h) => h.name === name)!.handler(input as never, {} as never);
  return { call };
}

t.test('2.0: OCR hits target the matched words, with the line as context; tag hits are the annotation itself', async (t) => {
  const { call } = await setup(t);
  const found = await call('iiif.search2', { key: KEY, q: 'cafe gare', user: 'someone' });
  t.same(found['@context'], ['http://iiif.io/api/presentation/3/context.json', 'http://iiif.io/api/search/2/context.json']);
  t.match(found, { type: 'AnnotationPage', startIndex: 0, partOf: { type: 'AnnotationCollection', total: 1 }, ignored: ['user'] });
  t.equal(found.items.length, 1, 'the tag holds "gare" but not "cafe"');
  t.match(found.items[0], { motivation: 'supplementing', body: { value: 'Café de la Gare' }, target: `${CANVAS}#xywh=150,100,300,42` }, 'from the first matched word to the last');
  t.same(found.annotations[0].items[0].target.selector, [{ type: 'TextQuoteSelector', prefix: 'Le ', exact: 'Café de la Gare', suffix: '' }]);
  t.equal(found.annotations[0].items[0].target.source, found.items[0].id);

  const one = await call('iiif.search2', { key: KEY, q: 'CAFE' });
  t.match(one.items[0], { target: `${CANVAS}#xywh=150,100,90,40`, body: { value: 'Café' } }, 'one word: its own box');

  const both = await call('iiif.search2', { key: KEY, q: 'gare' });
  t.equal(both.partOf.total, 2);
  t.match(both.items[1], { id: `${PUBLIC}/v1/annotations/tag-1`, motivation: 'tagging', 'loupe:reviewState': 'unreviewed' });
  t.same((await call('iiif.search2', { key: KEY, q: 'gare', motivation: 'tagging' })).items.map((a: { id: string }) => a.id), [`${PUBLIC}/v1/annotations/tag-1`]);
});

t.test('1.0: an AnnotationList with hits', async (t) => {
  const { call } = await setup(t);
  const found = await call('iiif.search1', { key: KEY, q: 'gare' });
  t.match(found, { '@type': 'sc:AnnotationList', within: { '@type': 'sc:Layer', total: 2 } });
  t.match(found.resources, [
    { motivation: 'sc:painting', resource: { chars: 'Gare' }, on: `${CANVAS}#xywh=350,102,100,40` },
    { '@id': `${PUBLIC}/v1/annotations/tag-1`, motivation: 'oa:tagging', on: `${CANVAS}#xywh=10,20,30,40` },
  ]);
  t.match(found.hits[0], { '@type': 'search:Hit', annotations: [found.resources[0]['@id']], match: 'Gare', before: 'Le Café de la ', after: '' });
});

t.test('autocomplete 2.0 and 1.0', async (t) => {
  const { call } = await setup(t);
  const two = await call('iiif.autocomplete2', { key: KEY, q: 'ga' });
  t.match(two, { type: 'TermPage', items: [{ value: 'gare', total: 2 }] });
  const one = await call('iiif.autocomplete1', { key: KEY, q: 'caf', motivation: 'painting' });
  t.match(one, { '@type': 'search:TermList', ignored: ['motivation'], terms: [{ match: 'cafe', count: 1, url: `${PUBLIC}/v1/iiif/search/1/${KEY}?q=cafe` }] });
});

t.test('an unknown key is LOUPE_ERR_NOT_FOUND; a query without words LOUPE_ERR_VALIDATION', async (t) => {
  const { call } = await setup(t);
  await t.rejects(call('iiif.search2', { key: manifestKey('https://elsewhere.org/manifest'), q: 'gare' }), { code: 'LOUPE_ERR_NOT_FOUND' });
  await t.rejects(call('iiif.search1', { key: 'not*a*key', q: 'gare' }), { code: 'LOUPE_ERR_NOT_FOUND' });
  await t.rejects(call('iiif.search2', { key: KEY, q: '!?' }), { code: 'LOUPE_ERR_VALIDATION' });
});
