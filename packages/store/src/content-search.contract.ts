import type { Test } from 'tap';
import type { Annotation, OcrLine, OcrPage } from '@loupe/contracts';
import { annotationId } from './annotation-id.js';
import type { AnnotationTextHit, ContentSearchIndex, OcrLineHit } from './content-search.js';
import type { AnnotationStore, ResultSetKey } from './store.js';

const MANIFEST = 'https://example.org/iiif/book/manifest';
const OTHER = 'https://example.org/iiif/other/manifest';
const canvas = (n: number, manifest = MANIFEST): string => `${manifest.replace('/manifest', '')}/canvas/${n}`;
const T1 = '2025-01-01T00:00:00Z';
const T2 = '2025-02-01T00:00:00Z';

const textKey = (over: Partial<ResultSetKey> = {}): ResultSetKey => ({ manifestId: MANIFEST, canvasId: canvas(1), imageIndex: 0, stage: 'text', modelId: 'tesseract', ...over });
const tagKey = (over: Partial<ResultSetKey> = {}): ResultSetKey => ({ manifestId: MANIFEST, canvasId: canvas(1), imageIndex: 0, stage: 'detect', modelId: 'detr', ...over });

/** A line whose words sit side by side, 20 px a letter, starting at `x`. */
function line(text: string, y: number, x = 100): OcrLine {
  let left = x;
  const words = text.split(' ').map((word) => {
    const box = { x: left, y, w: word.length * 20, h: 30 };
    left += box.w + 20;
    return { text: word, box, confidence: 0.9 };
  });
  return { text, box: { x, y, w: left - 20 - x, h: 30 }, confidence: 0.9, words };
}

function page(...lines: (string | OcrLine)[]): OcrPage {
  const made = lines.map((l, i) => (typeof l === 'string' ? line(l, 100 + i * 50) : l));
  return { width: 2000, height: 3000, engine: { id: 'tesseract', version: '5' }, languages: ['fra'], blocks: [{ box: { x: 0, y: 0, w: 2000, h: 3000 }, role: 'body', lines: made }] };
}

function annotation(key: ResultSetKey, motivation: string, body: Annotation['body'], n = 0): Annotation {
  const content = { motivation, target: key.canvasId, bodyText: JSON.stringify(body) };
  return { id: annotationId(key, content, n), type: 'Annotation', motivation, body, target: key.canvasId, created: T1, generated: T1, 'loupe:reviewState': 'unreviewed' };
}

const tag = (key: ResultSetKey, value: string): Annotation => annotation(key, 'tagging', { type: 'TextualBody', value, purpose: 'tagging' });

export interface SearchableStore {
  readonly store: AnnotationStore;
  readonly search: ContentSearchIndex;
}

/**
 * The ContentSearchIndex port, over an annotation store it must stay in step with: every adapter
 * pair (SQLite's triggers, MongoDB's text index) runs this.
 */
export function contentSearchContract(t: Test, name: string, open: () => Promise<SearchableStore>): void {
  t.test(`content search contract: ${name}`, async (t) => {
    const setup = async (t: Test): Promise<SearchableStore> => {
      const opened = await open();
      t.teardown(async () => {
        await opened.search.close();
        await opened.store.close();
      });
      return opened;
    };
    const find = (search: ContentSearchIndex, q: string, over: { motivations?: string[]; limit?: number; offset?: number; manifestId?: string } = {}) =>
      search.search({ manifestId: MANIFEST, q, limit: 100, offset: 0, ...over });
    const texts = (hits: readonly unknown[]): string[] => (hits as (OcrLineHit | AnnotationTextHit)[]).map((h) => (h.kind === 'ocr' ? h.line.text : h.text));

    t.test('OCR lines are found without regard to case or diacritics, with the matched words', async (t) => {
      const { store, search } = await setup(t);
      await store.replaceOcrPage(textKey(), '5', page('Le Café de Paris', 'rue de la Paix', 'ÉTÉ à Genève'), T1);
      for (const q of ['cafe', 'CAFÉ', 'Café']) {
        const found = await find(search, q);
        t.equal(found.total, 1, q);
        const hit = found.hits[0] as OcrLineHit;
        t.match(hit, { kind: 'ocr', canvasId: canvas(1), imageIndex: 0, modelId: 'tesseract' });
        t.same(hit.matched, [1], `${q}: the second word`);
        t.same(hit.line.words[1]!.box, { x: 160, y: 100, w: 80, h: 30 });
      }
      t.same(texts((await find(search, 'ete geneve')).hits), ['ÉTÉ à Genève'], 'several letters with diacritics in one word');
      t.same(texts((await find(search, 'de')).hits), ['Le Café de Paris', 'rue de la Paix'], 'reading order');
      t.same(texts((await find(search, 'paris cafe')).hits), ['Le Café de Paris'], 'every word, in any order');
      t.same((await find(search, 'paris paix')).hits, [], 'words of two lines are not one hit');
    });

    t.test('a query without words is refused', async (t) => {
      const { search } = await setup(t);
      await t.rejects(find(search, ''), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(find(search, ' ?! '), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(search.terms({ manifestId: MANIFEST, q: '', limit: 10 }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('tags, labels and captions are found; transcriptions only through their OCR page', async (t) => {
      const { store, search } = await setup(t);
      const key = tagKey();
      const horse = tag(key, 'Horse');
      const cheval = annotation(key, 'identifying', [
        { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q726', purpose: 'identifying', label: 'Cheval' } as never,
      ]);
      const caption = annotation(tagKey({ stage: 'caption', modelId: 'blip' }), 'describing', { type: 'TextualBody', value: 'A horse in a field', purpose: 'describing' });
      const transcription = annotation(textKey(), 'supplementing', { type: 'TextualBody', value: 'horse trading', format: 'text/plain' } as never);
      await store.replaceResultSet(key, '1', [horse, cheval]);
      await store.replaceResultSet(tagKey({ stage: 'caption', modelId: 'blip' }), '1', [caption]);
      await store.replaceResultSet(textKey(), '5', [transcription]);
      const found = await find(search, 'horse');
      t.equal(found.total, 2);
      t.same(
        found.hits.map((h) => ({ ...h })),
        [
          { kind: 'annotation', canvasId: canvas(1), annotationId: horse.id, motivation: 'tagging', text: 'Horse' },
          { kind: 'annotation', canvasId: canvas(1), annotationId: caption.id, motivation: 'describing', text: 'A horse in a field' },
        ],
      );
      t.same(texts((await find(search, 'cheval')).hits), ['Cheval'], "a SpecificResource's label");
      t.same(texts((await find(search, 'trading')).hits), [], 'a transcription without its OCR page');
    });

    t.test('the current revision only: corrections replace, rejections remove, re-review restores', async (t) => {
      const { store, search } = await setup(t);
      const key = tagKey();
      const horse = tag(key, 'horse');
      await store.replaceResultSet(key, '1', [horse]);
      await store.review(horse.id, { state: 'corrected', reviewer: 'ann', correction: { body: { type: 'TextualBody', value: 'mule', purpose: 'tagging' } } });
      t.same((await find(search, 'horse')).hits, [], 'the corrected body replaced the model’s');
      t.same(texts((await find(search, 'mule')).hits), ['mule']);
      await store.setReviewState(horse.id, 'rejected', 'ann');
      t.equal((await find(search, 'mule')).total, 0, 'rejected');
      await store.setReviewState(horse.id, 'accepted', 'bob');
      t.same(texts((await find(search, 'mule')).hits), ['mule'], 'accepted again');
    });

    t.test("a model's re-run replaces its text, and what it no longer says leaves the index", async (t) => {
      const { store, search } = await setup(t);
      const key = tagKey();
      await store.replaceResultSet(key, '1', [tag(key, 'horse'), tag(key, 'cart')]);
      await store.replaceResultSet(key, '2', [tag(key, 'horse')]);
      t.equal((await find(search, 'cart')).total, 0);
      t.equal((await find(search, 'horse')).total, 1, 'written twice, indexed once');
      await store.replaceOcrPage(textKey(), '5', page('a cart'), T1);
      await store.replaceOcrPage(textKey(), '5', page('a wagon'), T1);
      t.same(texts((await find(search, 'cart wagon')).hits), []);
      t.same(texts((await find(search, 'wagon')).hits), ['a wagon']);
      await store.replaceOcrPage(textKey(), '5', undefined, T1);
      t.equal((await find(search, 'wagon')).total, 0, 'the page removed');
    });

    t.test('only the newest reading of a canvas image counts', async (t) => {
      const { store, search } = await setup(t);
      await store.replaceOcrPage(textKey({ modelId: 'old' }), '1', page('the ship sails'), T1);
      await store.replaceOcrPage(textKey({ modelId: 'new' }), '1', page('the ship sails'), T2);
      await store.replaceOcrPage(textKey({ canvasId: canvas(2), modelId: 'old' }), '1', page('another ship'), T1);
      const found = await find(search, 'ship');
      t.same(
        found.hits.map((h) => [h.canvasId, (h as OcrLineHit).modelId]),
        [
          [canvas(1), 'new'],
          [canvas(2), 'old'],
        ],
      );
      t.same(await search.terms({ manifestId: MANIFEST, q: 'shi', limit: 10 }), [{ term: 'ship', count: 2 }]);
    });

    t.test('paging, motivations and manifests', async (t) => {
      const { store, search } = await setup(t);
      await store.replaceOcrPage(textKey(), '5', page('ship one', 'ship two', 'ship three', 'ship four', 'ship five'), T1);
      await store.replaceResultSet(tagKey(), '1', [tag(tagKey(), 'ship')]);
      await store.replaceOcrPage(textKey({ manifestId: OTHER, canvasId: canvas(1, OTHER) }), '5', page('ship elsewhere'), T1);
      const all = await find(search, 'ship');
      t.equal(all.total, 6);
      t.same(texts(all.hits), ['ship one', 'ship two', 'ship three', 'ship four', 'ship five', 'ship'], 'OCR lines before annotations on a canvas');
      const second = await find(search, 'ship', { limit: 2, offset: 2 });
      t.equal(second.total, 6);
      t.same(texts(second.hits), ['ship three', 'ship four']);
      t.same(texts((await find(search, 'ship', { motivations: ['tagging'] })).hits), ['ship']);
      t.equal((await find(search, 'ship', { motivations: ['supplementing'] })).total, 5);
      t.equal((await find(search, 'ship', { motivations: ['painting'] })).total, 0);
      t.same(texts((await find(search, 'ship', { manifestId: OTHER })).hits), ['ship elsewhere']);
      await t.rejects(find(search, 'ship', { limit: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('terms complete the last word, most hits first, within the manifest', async (t) => {
      const { store, search } = await setup(t);
      await store.replaceOcrPage(textKey(), '5', page('Le Café', 'un café', 'la Cathédrale', 'ça'), T1);
      await store.replaceOcrPage(textKey({ manifestId: OTHER, canvasId: canvas(1, OTHER) }), '5', page('catalogue'), T1);
      t.same(await search.terms({ manifestId: MANIFEST, q: 'ca', limit: 10 }), [
        { term: 'cafe', count: 2 },
        { term: 'ca', count: 1 },
        { term: 'cathedrale', count: 1 },
      ]);
      t.same(await search.terms({ manifestId: MANIFEST, q: 'CA', min: 2, limit: 10 }), [{ term: 'cafe', count: 2 }]);
      t.same(await search.terms({ manifestId: MANIFEST, q: 'le caf', limit: 10 }), [{ term: 'le cafe', count: 2 }]);
      t.same(await search.terms({ manifestId: MANIFEST, q: 'ca', limit: 1 }), [{ term: 'cafe', count: 2 }]);
    });
  });
}
