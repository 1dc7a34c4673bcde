import type { Test } from 'tap';
import type { Annotation, ReviewState } from '@loupe/contracts';
import { annotationId } from './annotation-id.js';
import type { AnnotationStore, ResultSetKey } from './store.js';

const BASE = 'https://loupe.example/v1/annotations/';
const MANIFEST = 'https://example.org/iiif/book/manifest';
const canvas = (n: number): string => `https://example.org/iiif/book/canvas/${n}`;
const T1 = '2025-01-01T00:00:00Z';
const T2 = '2025-02-01T00:00:00Z';

function setKey(over: Partial<ResultSetKey> = {}): ResultSetKey {
  return { manifestId: MANIFEST, canvasId: canvas(1), imageIndex: 0, stage: 'classify', modelId: 'loupe/clip', ...over };
}

interface Said {
  readonly label: string;
  readonly motivation?: string | string[];
  readonly box?: string;
}

/** Annotations as the ground-truth service builds them: deterministic ids, provenance, unreviewed. */
function said(key: ResultSetKey, items: readonly Said[], generated = T1): Annotation[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const motivation = item.motivation ?? 'tagging';
    const target = item.box ? `${key.canvasId}#xywh=${item.box}` : key.canvasId;
    const body = { type: 'TextualBody', value: item.label, purpose: 'tagging' };
    const content = { motivation: String(motivation), target, bodyText: JSON.stringify(body) };
    const contentKey = JSON.stringify(content);
    const occurrence = seen.get(contentKey) ?? 0;
    seen.set(contentKey, occurrence + 1);
    return {
      id: BASE + annotationId(key, content, occurrence),
      type: 'Annotation',
      motivation,
      body,
      target,
      generator: { id: `https://loupe.example/v1/models/${key.modelId}`, type: 'Software', name: key.modelId, 'loupe:model': key.modelId, 'loupe:version': '1' },
      created: generated,
      generated,
      'loupe:confidence': 0.875,
      'loupe:reviewState': 'unreviewed',
    };
  });
}

const labels = (annotations: readonly Annotation[]): string[] => annotations.map((a) => (a.body as { value: string }).value);
const ids = (annotations: readonly Annotation[]): string[] => annotations.map((a) => a.id);
// `modified` is a W3C lifecycle field the contracts' Annotation type does not declare.
const modified = (a: Annotation | undefined): unknown => (a as { modified?: unknown } | undefined)?.modified;
const withState = (a: Annotation, state: ReviewState): Annotation => ({ ...a, 'loupe:reviewState': state });

/**
 * The behaviour every AnnotationStore adapter must have. `open` must return a store over empty
 * storage each time it is called; each case closes the store it opened.
 */
export function annotationStoreContract(t: Test, name: string, open: () => Promise<AnnotationStore>): Promise<unknown> {
  return t.test(`AnnotationStore contract: ${name}`, async (t) => {
    const fresh = async (t: Test): Promise<AnnotationStore> => {
      const store = await open();
      t.teardown(() => store.close());
      return store;
    };

    t.test('writing the same set twice leaves one copy of each annotation', async (t) => {
      const store = await fresh(t);
      const key = setKey();
      const set = said(key, [{ label: 'cat' }, { label: 'dog' }, { label: 'cat' }]);
      t.equal(new Set(ids(set)).size, 3, 'a repeated finding gets its own id');
      t.same(await store.replaceResultSet(key, '1', set), { inserted: 3, kept: 0, removed: 0 });
      t.same(await store.replaceResultSet(key, '1', set), { inserted: 0, kept: 3, removed: 0 });
      t.equal(await store.count({ canvasId: key.canvasId }), 3);
      t.same(ids(await store.query({ canvasId: key.canvasId })), ids(set));
      t.same(await store.get(set[1]!.id), set[1], 'the annotation reads back as it was written');
      t.equal(await store.get(`${BASE}nothing`), undefined);
    });

    t.test('a changed set removes the stale unreviewed annotations and nothing else', async (t) => {
      const store = await fresh(t);
      const key = setKey();
      const other = setKey({ stage: 'detect', modelId: 'loupe/detr' });
      await store.replaceResultSet(other, '1', said(other, [{ label: 'person', box: '1,2,3,4' }]));
      const first = said(key, [{ label: 'cat' }, { label: 'dog' }, { label: 'bird' }]);
      await store.replaceResultSet(key, '1', first);
      t.same(await store.replaceResultSet(key, '2', said(key, [{ label: 'cat' }, { label: 'fish' }], T2)), { inserted: 1, kept: 1, removed: 2 });
      t.same(labels(await store.query({ canvasId: key.canvasId, modelId: key.modelId })), ['cat', 'fish']);
      t.equal(await store.get(first[1]!.id), undefined, 'the stale annotation is gone');
      t.same(labels(await store.query({ modelId: other.modelId })), ['person'], 'another set on the canvas is untouched');
      t.same(await store.replaceResultSet(key, '2', []), { inserted: 0, kept: 0, removed: 2 }, 'an empty set empties it');
      t.equal(await store.count({}), 1);
    });

    t.test('a review survives a re-run, and a reviewed annotation is never deleted silently', async (t) => {
      const store = await fresh(t);
      const key = setKey();
      const [cat, dog] = said(key, [{ label: 'cat' }, { label: 'dog' }]) as [Annotation, Annotation];
      await store.replaceResultSet(key, '1', [cat, dog]);
      const reviewed = await store.setReviewState(cat.id, 'accepted', 'curator@example.org');
      t.equal(reviewed['loupe:reviewState'], 'accepted');
      t.type(modified(reviewed), 'string', 'a review sets modified');
      t.equal(reviewed.created, T1);

      const rerun = said(key, [{ label: 'cat' }, { label: 'dog' }], T2);
      t.same(await store.replaceResultSet(key, '2', rerun), { inserted: 0, kept: 2, removed: 0 });
      const again = await store.get(cat.id);
      t.equal(again?.['loupe:reviewState'], 'accepted', 'the review state survives');
      t.equal(again?.created, T1, 'created is the first run');
      t.equal(again?.generated, T2, 'generated is the latest run');
      t.equal(modified(again), modified(reviewed));

      t.same(await store.replaceResultSet(key, '3', said(key, [{ label: 'dog' }])), { inserted: 0, kept: 2, removed: 0 }, 'the model stops saying cat: kept');
      t.equal((await store.get(cat.id))?.['loupe:reviewState'], 'accepted');
      t.same(ids(await store.query({ reviewState: 'accepted' })), [cat.id]);
      t.same(await store.replaceResultSet(key, '3', said(key, [{ label: 'dog' }])), { inserted: 0, kept: 1, removed: 0 }, 'a detached annotation is counted once');

      t.same(await store.replaceResultSet(key, '4', [cat, dog]), { inserted: 0, kept: 2, removed: 0 }, 'said again: it rejoins the set');
      await store.setReviewState(dog.id, 'rejected', 'curator@example.org');
      t.same(await store.replaceResultSet(key, '5', []), { inserted: 0, kept: 2, removed: 0 }, 'a rejection is a review too');
      t.same(labels(await store.query({ canvasId: key.canvasId })), ['cat', 'dog']);
    });

    t.test('review states are validated and visible at once', async (t) => {
      const store = await fresh(t);
      const key = setKey();
      const [cat] = said(key, [{ label: 'cat' }]) as [Annotation];
      await store.replaceResultSet(key, '1', [cat]);
      await t.rejects(store.setReviewState(`${BASE}unknown`, 'accepted', 'curator'), { code: 'LOUPE_ERR_NOT_FOUND' });
      await t.rejects(store.setReviewState(cat.id, 'maybe' as ReviewState, 'curator'), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.setReviewState(cat.id, 'accepted', ''), { code: 'LOUPE_ERR_VALIDATION' });
      const corrected = await store.setReviewState(cat.id, 'corrected', 'curator');
      t.same({ ...corrected, modified: undefined }, { ...withState(cat, 'corrected'), modified: undefined }, 'only the review fields change');
      t.same(await store.query({ canvasId: key.canvasId }), [corrected]);
      t.same(await store.get(cat.id), corrected);
    });

    t.test('query filters', async (t) => {
      const store = await fresh(t);
      const classify = setKey({ canvasId: canvas(1), modelId: 'loupe/clip' });
      const detect = setKey({ canvasId: canvas(2), stage: 'detect', modelId: 'loupe/detr' });
      const describe = setKey({ manifestId: `${MANIFEST}-2`, canvasId: canvas(3), stage: 'caption', modelId: 'loupe/blip' });
      const classified = said(classify, [{ label: 'a', motivation: 'classifying' }, { label: 'b', motivation: 'classifying' }]);
      await store.replaceResultSet(classify, '1', classified);
      await store.replaceResultSet(detect, '1', said(detect, [{ label: 'c', box: '0,0,10,10' }]));
      await store.replaceResultSet(describe, '1', said(describe, [{ label: 'd', motivation: ['describing', 'tagging'] }]));
      await store.setReviewState(classified[0]!.id, 'accepted', 'curator');

      const cases: [string, Parameters<AnnotationStore['query']>[0], string[]][] = [
        ['no filter', {}, ['a', 'b', 'c', 'd']],
        ['canvas', { canvasId: canvas(1) }, ['a', 'b']],
        ['manifest', { manifestId: `${MANIFEST}-2` }, ['d']],
        ['motivation, also inside a list', { motivation: 'tagging' }, ['c', 'd']],
        ['motivation', { motivation: 'classifying' }, ['a', 'b']],
        ['model', { modelId: 'loupe/detr' }, ['c']],
        ['review state', { reviewState: 'accepted' }, ['a']],
        ['unreviewed', { reviewState: 'unreviewed' }, ['b', 'c', 'd']],
        ['filters combine', { manifestId: MANIFEST, motivation: 'tagging' }, ['c']],
        ['nothing matches', { canvasId: canvas(2), modelId: 'loupe/clip' }, []],
      ];
      for (const [what, q, expected] of cases) {
        t.same(labels(await store.query(q)), expected, what);
        t.equal(await store.count(q), expected.length, `${what}: count`);
      }
      await t.rejects(store.query({ reviewState: 'maybe' as ReviewState }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('paging walks every annotation once, in order', async (t) => {
      const store = await fresh(t);
      for (const n of [1, 2, 3]) {
        const key = setKey({ canvasId: canvas(n) });
        await store.replaceResultSet(key, '1', said(key, Array.from({ length: 7 }, (_, i) => ({ label: `c${n}-${i}` }))));
      }
      const all = ids(await store.query({ manifestId: MANIFEST }));
      t.equal(all.length, 21);
      const walked: string[] = [];
      for (let offset = 0; offset < 30; offset += 5) walked.push(...ids(await store.query({ manifestId: MANIFEST, limit: 5, offset })));
      t.same(walked, all);
      t.equal(await store.count({ manifestId: MANIFEST, limit: 5, offset: 5 }), 21, 'count ignores paging');
      t.same(await store.query({ limit: 0 }), []);
      t.same(await store.query({ offset: 21 }), []);
      t.same(ids(await store.query({ offset: 19 })), all.slice(19));
      await t.rejects(store.query({ limit: -1 }), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.query({ offset: 1.5 }), { code: 'LOUPE_ERR_VALIDATION' });
    });

    t.test('order: by canvas, then image, stage and model, then the order the model gave', async (t) => {
      const store = await fresh(t);
      const second = setKey({ canvasId: canvas(2) });
      const first = setKey({ canvasId: canvas(1) });
      const firstDetect = setKey({ canvasId: canvas(1), stage: 'detect', modelId: 'loupe/detr' });
      const firstImage1 = setKey({ canvasId: canvas(1), imageIndex: 1 });
      await store.replaceResultSet(second, '1', said(second, [{ label: 'zebra' }, { label: 'apple' }]));
      await store.replaceResultSet(firstImage1, '1', said(firstImage1, [{ label: 'image 1' }]));
      await store.replaceResultSet(firstDetect, '1', said(firstDetect, [{ label: 'box', box: '1,1,1,1' }]));
      await store.replaceResultSet(first, '1', said(first, [{ label: 'mango' }, { label: 'kiwi' }, { label: 'fig' }]));
      t.same(labels(await store.query({})), ['mango', 'kiwi', 'fig', 'box', 'image 1', 'zebra', 'apple']);
      await store.replaceResultSet(first, '2', said(first, [{ label: 'fig' }, { label: 'mango' }, { label: 'kiwi' }]));
      t.same(labels(await store.query({ canvasId: canvas(1) })), ['fig', 'mango', 'kiwi', 'box', 'image 1'], 'a re-run reorders its set');
    });

    t.test('a rejected write changes nothing', async (t) => {
      const store = await fresh(t);
      const key = setKey();
      const set = said(key, [{ label: 'cat' }, { label: 'dog' }]);
      await store.replaceResultSet(key, '1', set);
      const [cat] = said(key, [{ label: 'cat' }]) as [Annotation];
      await t.rejects(store.replaceResultSet(key, '2', [said(key, [{ label: 'fish' }])[0]!, cat, cat]), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.replaceResultSet({ ...key, imageIndex: -1 }, '2', []), { code: 'LOUPE_ERR_VALIDATION' });
      await t.rejects(store.replaceResultSet(key, '', []), { code: 'LOUPE_ERR_VALIDATION' });
      t.same(labels(await store.query({})), ['cat', 'dog']);
    });

    t.test('concurrent writes from Promise.all', async (t) => {
      const store = await fresh(t);
      const keys = Array.from({ length: 10 }, (_, n) => setKey({ canvasId: canvas(n) }));
      const sets = keys.map((key, n) => said(key, Array.from({ length: n + 1 }, (_, i) => ({ label: `l${i}` }))));
      const write = (n: number): ReturnType<AnnotationStore['replaceResultSet']> => store.replaceResultSet(keys[n]!, '1', sets[n]!);
      const results = await Promise.all(keys.flatMap((_, n) => [write(n), write(n)]));
      t.equal(await store.count({}), 55, 'one copy of each');
      t.equal(results.reduce((sum, r) => sum + r.inserted, 0), 55, 'each annotation is inserted by exactly one of the two writers');
      await Promise.all(sets.map((set) => store.setReviewState(set[0]!.id, 'accepted', 'curator')));
      t.equal(await store.count({ reviewState: 'accepted' }), 10);
    });

    t.test('a closed store rejects with LOUPE_ERR_STORE', async (t) => {
      const store = await open();
      await store.close();
      await store.close();
      await t.rejects(store.query({}), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(store.replaceResultSet(setKey(), '1', []), { code: 'LOUPE_ERR_STORE' });
    });
  });
}
