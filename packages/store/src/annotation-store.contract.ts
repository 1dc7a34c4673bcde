import type { Test } from 'tap';
import type { Annotation, OcrPage, ReviewState } from '@loupe/contracts';
import { annotationId } from './annotation-id.js';
import { localAnnotation, publicAnnotation, withPublicUrl } from './public-url.annotation-store.js';
import type { AnnotationStore, CanvasRecord, GroundTruthInput, ResultSetKey, Vocabulary } from './store.js';

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

interface Drafted {
  readonly motivation: string | string[];
  readonly target: Annotation['target'];
  readonly body: Annotation['body'];
  /** null: the model gave none. */
  readonly confidence: number | null;
}

/** Annotations as the ground-truth service builds them: deterministic ids, provenance, unreviewed. */
function annotate(key: ResultSetKey, drafts: readonly Drafted[], generated: string): Annotation[] {
  const seen = new Map<string, number>();
  return drafts.map(({ motivation, target, body, confidence }) => {
    const content = { motivation: String(motivation), target: typeof target === 'string' ? target : JSON.stringify(target), bodyText: JSON.stringify(body) };
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
      ...(confidence !== null && { 'loupe:confidence': confidence }),
      'loupe:reviewState': 'unreviewed',
    };
  });
}

function said(key: ResultSetKey, items: readonly Said[], generated = T1): Annotation[] {
  return annotate(
    key,
    items.map((item) => ({
      motivation: item.motivation ?? 'tagging',
      target: item.box ? `${key.canvasId}#xywh=${item.box}` : key.canvasId,
      body: { type: 'TextualBody', value: item.label, purpose: 'tagging' },
      confidence: 0.875,
    })),
    generated,
  );
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
      t.same(await store.get(set[1]!.id), asStored(set[1]!), 'the annotation reads back as it was written, at revision 0');
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
      await t.rejects(store.setReviewState(cat.id, 'corrected', 'curator'), { code: 'LOUPE_ERR_VALIDATION' }, "'corrected' needs a correction");
      const rejected = await store.setReviewState(cat.id, 'rejected', 'curator');
      t.same(
        { ...rejected, modified: undefined },
        { ...withState(cat, 'rejected'), 'loupe:revision': 1, modified: undefined },
        'only the review fields change',
      );
      t.same(await store.query({ canvasId: key.canvasId }), [rejected]);
      t.same(await store.get(cat.id), rejected);
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
      await t.rejects(store.review(`${BASE}x`, { state: 'accepted', reviewer: 'curator' }), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(store.listVocabularies(), { code: 'LOUPE_ERR_STORE' });
      await t.rejects(store.listDatasets(), { code: 'LOUPE_ERR_STORE' });
    });

    curationCases(t, fresh);
    publicUrlCases(t, fresh);
  });
}

/** Ids kept without the public URL (withPublicUrl): what lets a store be served under another URL. */
function publicUrlCases(t: Test, fresh: (t: Test) => Promise<AnnotationStore>): void {
  const A = 'http://localhost:8080';
  const B = 'https://loupe.example.org/collections';

  t.test('written under one public URL, read, reviewed and filtered under another', async (t) => {
    const raw = await fresh(t);
    const [underA, underB] = [withPublicUrl(raw, A), withPublicUrl(raw, B)];
    const [cat, dog] = said(setKey(), [{ label: 'cat' }, { label: 'dog' }]);
    await underA.replaceResultSet(setKey(), '1', [cat!, dog!].map((a) => publicAnnotation(localAnnotation(a), A)));
    const keyOf = (a: Annotation): string => a.id.slice(BASE.length);
    const [k1, k2] = [keyOf(cat!), keyOf(dog!)];
    t.same(ids(await raw.query({})), [k1, k2], 'the store keeps the keys');
    t.equal((await raw.get(k1))?.generator?.id, '/v1/models/loupe/clip', 'and the generator without the URL');

    t.same(ids(await underB.query({})), [`${B}/v1/annotations/${k1}`, `${B}/v1/annotations/${k2}`], 'shown under the URL in force');
    t.equal((await underB.get(k1))?.generator?.id, `${B}/v1/models/loupe/clip`);
    t.equal((await underB.get(`${A}/v1/annotations/${k1}`))?.id, `${B}/v1/annotations/${k1}`, 'an id made under the old URL still finds it');
    const accepted = await underB.review(`${B}/v1/annotations/${k1}`, { state: 'accepted', reviewer: 'ann' });
    t.match(accepted, { id: `${B}/v1/annotations/${k1}`, 'loupe:reviewState': 'accepted' });
    t.same((await underB.history(k1)).map((r) => r.annotation.id), [accepted.id, accepted.id]);
    t.same(ids(await underB.query({ ids: [`${A}/v1/annotations/${k2}`] })), [`${B}/v1/annotations/${k2}`], 'ids filters take either');
    await underB.createDataset({ name: 'moved' });
    t.same(await underB.addDatasetMembers('moved', [`${A}/v1/annotations/${k2}`]), { added: 1 });
    t.same(ids(await underB.query({ dataset: 'moved' })), [`${B}/v1/annotations/${k2}`]);

    // The model says the same under the new URL: one copy of each, and the review stays.
    t.same(await underB.replaceResultSet(setKey(), '2', [cat!, dog!]), { inserted: 0, kept: 2, removed: 0 });
    t.equal((await underA.get(k1))?.['loupe:reviewState'], 'accepted');
  });

  t.test('ids that are not Loupe annotation URLs are kept as they are', async (t) => {
    const raw = await fresh(t);
    const store = withPublicUrl(raw, B);
    const external = { ...said(setKey({ stage: 'ground-truth' }), [{ label: 'owl' }])[0]!, id: 'urn:uuid:4b1e0c7e-2b1c-4c55-9a53-0f0c1d2e3f40' };
    await store.putGroundTruth([{ manifestId: MANIFEST, canvasId: canvas(1), annotation: external }], { source: 'import', reviewer: 'ann' });
    t.same(ids(await store.query({})), [external.id]);
    t.equal((await store.get(external.id))?.id, external.id);
  });
}


const MEDIA_FRAGMENTS = 'http://www.w3.org/TR/media-frags/';
const CONCEPT = (name: string): string => `https://vocab.example.org/concept/${name}`;
const CAT = CONCEPT('cat');
const DOG = CONCEPT('dog');
const LYNX = CONCEPT('lynx');
const VALIDATION = { code: 'LOUPE_ERR_VALIDATION' };
const NOT_FOUND = { code: 'LOUPE_ERR_NOT_FOUND' };

type Xywh = readonly [number, number, number, number];

interface Finding {
  readonly label: string;
  readonly concept?: string;
  /** null: the model gave none. */
  readonly confidence?: number | null;
  readonly box?: Xywh;
  /** An OCR line: a transcription, not a label. */
  readonly text?: boolean;
}

const boxTarget = (canvasId: string, [x, y, w, h]: Xywh): Annotation['target'] => ({
  type: 'SpecificResource',
  source: canvasId,
  selector: { type: 'FragmentSelector', conformsTo: MEDIA_FRAGMENTS, value: `xywh=${x},${y},${w},${h}` },
});

const labelBody = (label: string, concept?: string): Annotation['body'] => {
  const text = { type: 'TextualBody', value: label, language: 'en', purpose: 'tagging' };
  return concept ? [text, { type: 'SpecificResource', source: concept, purpose: 'identifying' }] : text;
};

/** Annotations shaped as the ground-truth service writes them: labels with concepts, boxes, OCR lines. */
function found(key: ResultSetKey, items: readonly Finding[], generated = T1): Annotation[] {
  return annotate(
    key,
    items.map((item) => ({
      motivation: item.text ? 'supplementing' : item.box ? 'tagging' : 'classifying',
      target: item.box ? boxTarget(key.canvasId, item.box) : key.canvasId,
      body: item.text ? { type: 'TextualBody', value: item.label, format: 'text/plain' } : labelBody(item.label, item.concept),
      confidence: item.confidence === undefined ? 0.5 : item.confidence,
    })),
    generated,
  );
}

/** The first label (or transcription) of an annotation. */
const labelOf = (a: Annotation): string | undefined => {
  const bodies = Array.isArray(a.body) ? a.body : [a.body];
  return bodies.find((b) => b.type === 'TextualBody')?.value;
};

/** What a store returns for an annotation it was given and never reviewed. */
const asStored = (a: Annotation): Annotation => ({ ...a, 'loupe:revision': 0 }) as Annotation;
// `loupe:revision` is a field the contracts' Annotation type does not declare (yet).
const revisionOf = (a: Annotation | undefined): unknown => (a as { 'loupe:revision'?: unknown } | undefined)?.['loupe:revision'];

/**
 * A fixture for filters and bulk review: a classifier on canvas 1, a detector on canvas 2, OCR on
 * canvas 3 (another manifest). Returns the annotations by name.
 */
async function zoo(store: AnnotationStore): Promise<Record<string, Annotation>> {
  const clip = setKey({ canvasId: canvas(1), stage: 'classify', modelId: 'loupe/clip' });
  const detr = setKey({ canvasId: canvas(2), stage: 'detect', modelId: 'loupe/detr' });
  const ocr = setKey({ manifestId: `${MANIFEST}-2`, canvasId: canvas(3), stage: 'ocr', modelId: 'loupe/trocr' });
  const [clipCat, clipDog, clipSky] = found(clip, [
    { label: 'cat', concept: CAT, confidence: 0.95 },
    { label: 'dog', concept: DOG, confidence: 0.55 },
    { label: 'sky', confidence: null },
  ]) as [Annotation, Annotation, Annotation];
  const [cat30, cat80, cat85, cat60, cat40] = found(
    detr,
    [0.3, 0.8, 0.85, 0.6, 0.4].map((confidence, n) => ({ label: 'cat', concept: CAT, confidence, box: [n * 10, 0, 10, 10] as const })),
  ) as [Annotation, Annotation, Annotation, Annotation, Annotation];
  const [line] = found(ocr, [{ label: 'cat', text: true, confidence: 0.99 }]) as [Annotation];
  await store.replaceResultSet(clip, '1', [clipCat, clipDog, clipSky]);
  await store.replaceResultSet(detr, '1', [cat30, cat80, cat85, cat60, cat40]);
  await store.replaceResultSet(ocr, '1', [line]);
  await store.review(clipCat.id, { state: 'accepted', reviewer: 'curator' });
  await store.review(cat30.id, { state: 'rejected', reviewer: 'curator' });
  return { clipCat, clipDog, clipSky, cat30, cat80, cat85, cat60, cat40, line };
}

function curationCases(t: Test, fresh: (t: Test) => Promise<AnnotationStore>): void {
  t.test('a review writes a revision; a correction replaces what it names; history keeps every revision', async (t) => {
    const store = await fresh(t);
    const key = setKey({ stage: 'detect', modelId: 'loupe/detr' });
    const [cat, dog] = found(key, [
      { label: 'cat', concept: CAT, confidence: 0.9, box: [10, 20, 30, 40] },
      { label: 'dog', concept: DOG, box: [100, 20, 30, 40] },
    ]) as [Annotation, Annotation];
    await store.replaceResultSet(key, '1', [cat, dog]);
    t.same(await store.history(cat.id), [{ revision: 0, state: 'unreviewed', reviewer: null, at: T1, annotation: asStored(cat) }], 'before any review: revision 0, as produced');

    const accepted = await store.review(cat.id, { state: 'accepted', reviewer: 'ann@example.org', note: 'clear' });
    t.same(accepted, { ...cat, 'loupe:reviewState': 'accepted', 'loupe:revision': 1, modified: modified(accepted) });
    t.type(modified(accepted), 'string');

    const lynx = [
      { type: 'TextualBody', value: 'lynx', language: 'en', purpose: 'tagging' },
      { type: 'SpecificResource', source: LYNX, purpose: 'identifying' },
    ];
    const box = boxTarget(key.canvasId, [12, 22, 30, 38]);
    const fixed = await store.review(cat.id, { state: 'corrected', reviewer: 'bob@example.org', correction: { body: lynx, target: box } });
    t.same(
      fixed,
      { ...cat, body: lynx, target: box, 'loupe:reviewState': 'corrected', 'loupe:revision': 2, modified: modified(fixed) },
      'body and target replaced; motivation, provenance and confidence stay',
    );
    t.same(await store.get(cat.id), fixed, 'the current revision is what reads see');

    const history = await store.history(cat.id);
    t.same(
      history.map((r) => [r.revision, r.state, r.reviewer, r.note]),
      [
        [0, 'unreviewed', null, undefined],
        [1, 'accepted', 'ann@example.org', 'clear'],
        [2, 'corrected', 'bob@example.org', undefined],
      ],
    );
    t.same(history[0]!.annotation, asStored(cat), 'revision 0 is what the model said');
    t.same(history[1]!.annotation, accepted);
    t.same(history[2]!.annotation, fixed);
    t.equal(history[2]!.at, modified(fixed), 'a revision is dated by its review');
    t.ok(history[1]!.at <= history[2]!.at, 'oldest first');

    t.same((await store.query({ canvasId: key.canvasId })).map(labelOf), ['lynx', 'dog'], 'exports see the current revision');
    const original = await store.query({ canvasId: key.canvasId, original: true });
    t.same(original[0], { ...cat, 'loupe:reviewState': 'corrected', 'loupe:revision': 2, modified: modified(fixed) }, 'original: the model said cat, with the current review fields');
    t.same(original[1], asStored(dog), 'an annotation never reviewed is its own original');
    t.same(ids(await store.query({ concept: LYNX })), [cat.id], 'the concept filter matches the current revision');
    t.same(ids(await store.query({ concept: 'lynx' })), [cat.id], '... by label too');
    t.same(ids(await store.query({ concept: CAT })), []);
    t.same(ids(await store.query({ concept: CAT, original: true })), [], 'even when the original is returned');
    t.same(ids(await store.query({ motivation: 'tagging', reviewState: 'corrected' })), [cat.id]);

    t.same((await store.history(dog.id)).length, 1);
    await t.rejects(store.history(`${BASE}unknown`), NOT_FOUND);
    await t.rejects(store.review(`${BASE}unknown`, { state: 'accepted', reviewer: 'ann' }), NOT_FOUND);
    const motivated = await store.review(dog.id, { state: 'corrected', reviewer: 'ann', correction: { motivation: 'identifying' } });
    t.same({ ...motivated, modified: undefined }, { ...dog, motivation: 'identifying', 'loupe:reviewState': 'corrected', 'loupe:revision': 1 });
    t.same(ids(await store.query({ motivation: 'identifying' })), [dog.id], 'the motivation filter follows a corrected motivation');
  });

  t.test('a re-run of the model never overwrites a review', async (t) => {
    const store = await fresh(t);
    const key = setKey({ stage: 'detect', modelId: 'loupe/detr' });
    const first = found(key, [
      { label: 'cat', concept: CAT, confidence: 0.9, box: [0, 0, 10, 10] },
      { label: 'dog', concept: DOG, confidence: 0.5, box: [20, 0, 10, 10] },
      { label: 'bird', confidence: 0.4, box: [40, 0, 10, 10] },
    ]);
    const [cat, dog, bird] = first as [Annotation, Annotation, Annotation];
    await store.replaceResultSet(key, '1', first);
    const lynx = labelBody('lynx', LYNX);
    await store.review(cat.id, { state: 'corrected', reviewer: 'ann', correction: { body: lynx } });
    await store.review(bird.id, { state: 'accepted', reviewer: 'ann' });

    const rerun = (confidence: number, generated: string): Annotation[] => first.map((a) => ({ ...a, generated, 'loupe:confidence': confidence }));
    t.same(await store.replaceResultSet(key, '2', rerun(0.6, T2)), { inserted: 0, kept: 3, removed: 0 });
    const catNow = await store.get(cat.id);
    t.same(catNow?.body, lynx, 'the correction stands');
    t.match(catNow, { 'loupe:reviewState': 'corrected', 'loupe:revision': 1, 'loupe:confidence': 0.9, generated: T2, created: T1 });
    t.equal((await store.history(cat.id)).length, 2, 'a re-run adds no revision');
    t.same(ids(await store.query({ concept: LYNX })), [cat.id]);
    t.same(ids(await store.query({ concept: CAT })), []);

    const dogNow = await store.get(dog.id);
    t.match(dogNow, { 'loupe:reviewState': 'unreviewed', 'loupe:revision': 0, 'loupe:confidence': 0.6, generated: T2 }, 'unreviewed: the model\'s latest word');
    t.same(await store.history(dog.id), [{ revision: 0, state: 'unreviewed', reviewer: null, at: T2, annotation: dogNow }]);
    t.equal((await store.query({ ids: [bird.id] }))[0]?.['loupe:confidence'], 0.4, 'accepted: kept as reviewed');

    // A curator withdraws the judgement: the annotation is the model's again.
    await store.review(bird.id, { state: 'unreviewed', reviewer: 'ann' });
    t.same(await store.replaceResultSet(key, '3', rerun(0.7, T2)), { inserted: 0, kept: 3, removed: 0 });
    t.match(await store.get(bird.id), { 'loupe:reviewState': 'unreviewed', 'loupe:revision': 2, 'loupe:confidence': 0.7 });
    const birdHistory = await store.history(bird.id);
    t.same(
      birdHistory.map((r) => [r.revision, r.state]),
      [
        [0, 'unreviewed'],
        [1, 'accepted'],
        [2, 'unreviewed'],
      ],
    );
    t.equal(birdHistory[0]!.annotation['loupe:confidence'], 0.7, 'revision 0 is what the model says now');
    t.equal(birdHistory[1]!.annotation['loupe:confidence'], 0.4, 'what the curator saw stays in the history');
    t.equal((await store.query({ ids: [bird.id], original: true }))[0]?.['loupe:confidence'], 0.7);

    t.same(await store.replaceResultSet(key, '4', [dog]), { inserted: 0, kept: 2, removed: 1 }, 'the model stops saying cat and bird');
    t.same((await store.get(cat.id))?.body, lynx, 'the corrected annotation stays, detached');
    t.equal(await store.get(bird.id), undefined, 'an unreviewed one goes');
    await t.rejects(store.history(bird.id), NOT_FOUND, 'with its history');
  });

  t.test('a refused review writes nothing', async (t) => {
    const store = await fresh(t);
    const key = setKey();
    const [cat] = found(key, [{ label: 'cat', concept: CAT }]) as [Annotation];
    await store.replaceResultSet(key, '1', [cat]);
    const bad: [string, unknown][] = [
      ['no reviewer', { state: 'accepted', reviewer: '' }],
      ['reviewer missing', { state: 'accepted' }],
      ['unknown state', { state: 'maybe', reviewer: 'ann' }],
      ["'corrected' without a correction", { state: 'corrected', reviewer: 'ann' }],
      ['an empty correction', { state: 'corrected', reviewer: 'ann', correction: {} }],
      ['a correction with another state', { state: 'accepted', reviewer: 'ann', correction: { body: labelBody('dog') } }],
      ['a correction of an unknown field', { state: 'corrected', reviewer: 'ann', correction: { label: 'dog' } }],
      ['an empty body', { state: 'corrected', reviewer: 'ann', correction: { body: [] } }],
      ['a target without a source', { state: 'corrected', reviewer: 'ann', correction: { target: { type: 'SpecificResource' } } }],
      ['a note that is not text', { state: 'accepted', reviewer: 'ann', note: 3 }],
    ];
    for (const [what, input] of bad) {
      await t.rejects(store.review(cat.id, input as Parameters<AnnotationStore['review']>[1]), VALIDATION, what);
    }
    t.same(await store.get(cat.id), asStored(cat), 'unchanged');
    t.equal((await store.history(cat.id)).length, 1);
    await store.review(cat.id, { state: 'accepted', reviewer: 'ann' });
    const again = await store.review(cat.id, { state: 'accepted', reviewer: 'bob' });
    t.equal(revisionOf(again), 2, 'each single review is a revision, even in the same state');
  });

  t.test('query filters: concept, confidence range, several states, ids', async (t) => {
    const store = await fresh(t);
    const z = await zoo(store);
    const names = new Map(Object.entries(z).map(([name, a]) => [a.id, name]));
    const cases: [string, Parameters<AnnotationStore['query']>[0], string[]][] = [
      ['concept by URI', { concept: CAT }, ['clipCat', 'cat30', 'cat80', 'cat85', 'cat60', 'cat40']],
      ['concept by label (a transcription is not a label)', { concept: 'cat' }, ['clipCat', 'cat30', 'cat80', 'cat85', 'cat60', 'cat40']],
      ['a label without a concept', { concept: 'sky' }, ['clipSky']],
      ['unknown concept', { concept: CONCEPT('unicorn') }, []],
      ['min confidence, inclusive', { minConfidence: 0.85 }, ['clipCat', 'cat85', 'line']],
      ['max confidence, inclusive', { maxConfidence: 0.55 }, ['clipDog', 'cat30', 'cat40']],
      ['range', { minConfidence: 0.5, maxConfidence: 0.9 }, ['clipDog', 'cat80', 'cat85', 'cat60']],
      ['no confidence never matches a range', { minConfidence: 0 }, ['clipCat', 'clipDog', 'cat30', 'cat80', 'cat85', 'cat60', 'cat40', 'line']],
      ['an empty range', { minConfidence: 0.9, maxConfidence: 0.1 }, []],
      ['several states', { reviewState: ['accepted', 'rejected'] }, ['clipCat', 'cat30']],
      ['one state in a list', { reviewState: ['rejected'] }, ['cat30']],
      ['no state', { reviewState: [] }, []],
      ['ids, in store order', { ids: [z.line!.id, z.clipDog!.id, `${BASE}unknown`] }, ['clipDog', 'line']],
      ['no ids', { ids: [] }, []],
      ['several canvases', { canvasId: [canvas(3), canvas(1)] }, ['clipCat', 'clipDog', 'clipSky', 'line']],
      ['no canvas', { canvasId: [] }, []],
      ['combined', { concept: CAT, modelId: 'loupe/detr', minConfidence: 0.5, reviewState: 'unreviewed' }, ['cat80', 'cat85', 'cat60']],
    ];
    for (const [what, q, expected] of cases) {
      t.same((await store.query(q)).map((a) => names.get(a.id)), expected, what);
      t.equal(await store.count(q), expected.length, `${what}: count`);
    }
    t.same(ids(await store.query({ concept: CAT, limit: 2, offset: 1 })), [z.cat30!.id, z.cat80!.id], 'filters page like the others');

    const refused: [string, Parameters<AnnotationStore['query']>[0]][] = [
      ['a confidence that is not a number', { minConfidence: 'high' as unknown as number }],
      ['an empty concept', { concept: '' }],
      ['an unknown state in a list', { reviewState: ['accepted', 'maybe' as ReviewState] }],
      ['ids that are not a list', { ids: 'abc' as unknown as string[] }],
      ['an empty canvas id in a list', { canvasId: [canvas(1), ''] }],
      ['a dataset name that breaks the rule', { dataset: 'no such dataset' }],
    ];
    for (const [what, q] of refused) {
      await t.rejects(store.query(q), VALIDATION, what);
      await t.rejects(store.count(q), VALIDATION, `${what}: count`);
    }
    await t.rejects(store.query({ dataset: 'missing' }), NOT_FOUND, 'an unknown dataset');
  });

  t.test('bulk review by concept, model, confidence range and state', async (t) => {
    const store = await fresh(t);
    const z = await zoo(store);
    const filter = { concept: CAT, modelId: 'loupe/detr', minConfidence: 0.5, maxConfidence: 0.9 };
    t.same(await store.reviewMany(filter, { state: 'accepted', reviewer: 'bulk@example.org', note: 'batch 1' }), { updated: 3 });
    t.same(await store.reviewMany(filter, { state: 'accepted', reviewer: 'bulk@example.org' }), { updated: 0 }, 'a second call finds them accepted');
    t.same(
      await store.reviewMany({ concept: CAT, modelId: 'loupe/detr', maxConfidence: 0.45 }, { state: 'rejected', reviewer: 'bulk@example.org' }),
      { updated: 1 },
      'the one already rejected is left alone',
    );
    t.same(ids(await store.query({ modelId: 'loupe/detr', reviewState: 'accepted' })), [z.cat80!.id, z.cat85!.id, z.cat60!.id]);
    t.same(ids(await store.query({ modelId: 'loupe/detr', reviewState: 'rejected' })), [z.cat30!.id, z.cat40!.id]);
    t.equal(await store.count({ reviewState: 'unreviewed' }), 3, 'nothing else moved');
    const history = await store.history(z.cat80!.id);
    t.same(
      history.map((r) => [r.revision, r.state, r.reviewer, r.note]),
      [
        [0, 'unreviewed', null, undefined],
        [1, 'accepted', 'bulk@example.org', 'batch 1'],
      ],
    );
    t.equal((await store.history(z.cat30!.id)).length, 2, 'not touched by the rejection in bulk');

    t.same(await store.reviewMany({ modelId: 'loupe/detr', limit: 1, offset: 1 }, { state: 'unreviewed', reviewer: 'ann' }), { updated: 5 }, 'paging is ignored');
    t.same(await store.reviewMany({ reviewState: ['unreviewed'], motivation: 'supplementing' }, { state: 'accepted', reviewer: 'ann' }), { updated: 1 });

    const before = await store.query({});
    await t.rejects(store.reviewMany({}, { state: 'corrected', reviewer: 'ann' }), VALIDATION, 'no corrections in bulk');
    await t.rejects(
      store.reviewMany({}, { state: 'accepted', reviewer: 'ann', correction: { body: labelBody('x') } } as Parameters<AnnotationStore['reviewMany']>[1]),
      VALIDATION,
    );
    await t.rejects(store.reviewMany({}, { state: 'accepted', reviewer: '' }), VALIDATION);
    await t.rejects(store.reviewMany({ minConfidence: Number.NaN }, { state: 'accepted', reviewer: 'ann' }), VALIDATION);
    await t.rejects(store.reviewMany({ dataset: 'missing' }, { state: 'accepted', reviewer: 'ann' }), NOT_FOUND);
    t.same(await store.query({}), before, 'a refused bulk review writes nothing');
  });

  t.test('ground truth: stored accepted at revision 0, idempotent, never touched by a model run', async (t) => {
    const store = await fresh(t);
    const gt = (n: number, label: string, box?: Xywh): GroundTruthInput => ({
      manifestId: MANIFEST,
      canvasId: canvas(5),
      annotation: {
        id: `${BASE}gt-coco-${n}`,
        type: 'Annotation',
        motivation: box ? 'tagging' : 'classifying',
        body: labelBody(label, CONCEPT(label)),
        target: box ? boxTarget(canvas(5), box) : canvas(5),
        created: T1,
      },
    });
    const items = [gt(1, 'cat', [0, 0, 50, 50]), gt(2, 'dog')];
    const opts = { source: 'import:coco', reviewer: 'importer@example.org' };
    t.same(await store.putGroundTruth(items, opts), { inserted: 2, kept: 0 });
    const stored = await store.query({ modelId: 'import:coco' });
    t.same(ids(stored), [items[0]!.annotation.id, items[1]!.annotation.id]);
    t.same(stored[0], { ...items[0]!.annotation, 'loupe:reviewState': 'accepted', 'loupe:revision': 0, modified: modified(stored[0]) });
    t.type(modified(stored[0]), 'string', 'accepted when imported');
    t.same(await store.history(items[0]!.annotation.id), [
      { revision: 0, state: 'accepted', reviewer: opts.reviewer, at: modified(stored[0]), annotation: stored[0] },
    ]);
    t.same(ids(await store.query({ concept: CONCEPT('dog'), reviewState: 'accepted' })), [items[1]!.annotation.id]);
    t.same(ids(await store.query({ canvasId: canvas(5), motivation: 'tagging' })), [items[0]!.annotation.id]);

    t.same(await store.putGroundTruth(items, opts), { inserted: 0, kept: 2 }, 'the same input again changes nothing');
    await store.review(items[1]!.annotation.id, { state: 'rejected', reviewer: 'ann' });
    t.same(await store.putGroundTruth(items, { ...opts, reviewer: 'someone-else' }), { inserted: 0, kept: 2 });
    t.equal((await store.get(items[1]!.annotation.id))?.['loupe:reviewState'], 'rejected', 'a later review is kept');
    t.equal((await store.history(items[0]!.annotation.id))[0]?.reviewer, opts.reviewer);

    t.same(await store.putGroundTruth([gt(3, 'bird')], opts), { inserted: 1, kept: 0 });
    t.same(ids(await store.query({ canvasId: canvas(5) })), ['gt-coco-1', 'gt-coco-2', 'gt-coco-3'].map((k) => BASE + k), 'a later import comes after');

    const model = setKey({ canvasId: canvas(5), imageIndex: 0 });
    t.same(await store.replaceResultSet(model, '1', []), { inserted: 0, kept: 0, removed: 0 });
    t.same(await store.replaceResultSet(setKey({ canvasId: canvas(5), stage: 'ground-truth', modelId: 'import:coco' }), '1', []), {
      inserted: 0,
      kept: 0,
      removed: 0,
    }, 'imported annotations belong to no result set');
    t.equal(await store.count({ modelId: 'import:coco' }), 3);

    const refused: [string, readonly GroundTruthInput[], typeof opts][] = [
      ['no source', [gt(4, 'fox')], { ...opts, source: '' }],
      ['no reviewer', [gt(4, 'fox')], { ...opts, reviewer: '' }],
      ['a repeated id', [gt(4, 'fox'), gt(4, 'fox')], opts],
      ['no canvas', [{ ...gt(4, 'fox'), canvasId: '' }], opts],
      ['no id', [{ ...gt(4, 'fox'), annotation: { ...gt(4, 'fox').annotation, id: '' } }], opts],
    ];
    for (const [what, input, o] of refused) await t.rejects(store.putGroundTruth(input, o), VALIDATION, what);
    t.equal(await store.get(`${BASE}gt-coco-4`), undefined, 'nothing of a refused import is stored');
  });

  t.test('canvases: the annotated canvases with their records and counts', async (t) => {
    const store = await fresh(t);
    const record: CanvasRecord = {
      canvasId: canvas(1),
      manifestId: MANIFEST,
      label: 'p. 1',
      index: 0,
      width: 2000,
      height: 3000,
      image: { id: 'https://images.example.org/iiif/p1', service: 'https://images.example.org/iiif/p1', serviceVersion: 3, width: 2000, height: 3000 },
    };
    await store.putCanvas(record);
    await store.putCanvas({ canvasId: canvas(8), manifestId: MANIFEST, width: 10, height: 10, image: { id: 'https://images.example.org/p8.jpg' } });
    const z = await zoo(store);
    const bare = (n: number, manifestId = MANIFEST): CanvasRecord => ({ canvasId: canvas(n), manifestId, width: 0, height: 0, image: { id: '' } });
    t.same(await store.canvases({}), [
      { canvas: record, annotations: 3 },
      { canvas: bare(2), annotations: 5 },
      { canvas: bare(3, `${MANIFEST}-2`), annotations: 1 },
    ], 'a canvas without annotations is not listed; one never recorded has a bare record');
    t.same(await store.canvases({ concept: CAT, minConfidence: 0.7 }), [
      { canvas: record, annotations: 1 },
      { canvas: bare(2), annotations: 2 },
    ]);
    t.same(await store.canvases({ reviewState: 'rejected' }), [{ canvas: bare(2), annotations: 1 }]);
    t.same(await store.canvases({ limit: 1, offset: 1 }), [{ canvas: bare(2), annotations: 5 }], 'paging counts canvases');
    t.same(await store.canvases({ offset: 3 }), []);
    t.same(await store.canvases({ ids: [z.line!.id] }), [{ canvas: bare(3, `${MANIFEST}-2`), annotations: 1 }]);

    t.same(await store.getCanvas(canvas(1)), record);
    t.equal(await store.getCanvas(canvas(2)), undefined);
    const relabelled = { ...record, label: 'page one', index: 4, width: 2001, image: { id: 'https://images.example.org/p1.jpg' } };
    await store.putCanvas(relabelled);
    t.same(await store.getCanvas(canvas(1)), relabelled, 'a record is replaced as a whole');
    const { index: _, ...placeless } = relabelled;
    await store.putCanvas(placeless);
    t.same(await store.getCanvas(canvas(1)), placeless, 'its place in the manifest too');
    await store.putCanvas(relabelled);
    await t.rejects(store.putCanvas({ ...record, index: -1 }), VALIDATION);
    await t.rejects(store.putCanvas({ ...record, index: 1.5 }), VALIDATION);
    await t.rejects(store.putCanvas({ ...record, width: -1 }), VALIDATION);
    await t.rejects(store.putCanvas({ ...record, canvasId: '' }), VALIDATION);
    await t.rejects(store.putCanvas({ ...record, image: undefined as unknown as CanvasRecord['image'] }), VALIDATION);
    await t.rejects(store.canvases({ limit: -1 }), VALIDATION);
    t.same(await store.getCanvas(canvas(1)), relabelled);
  });

  t.test('OCR pages: one per result set, replaced with it, listed by manifest or canvas', async (t) => {
    const store = await fresh(t);
    const text = (over: Partial<ResultSetKey> = {}): ResultSetKey => setKey({ stage: 'detect-text', modelId: 'tesseract-lstm', ...over });
    const page = (word: string): OcrPage => ({
      width: 2000,
      height: 3000,
      engine: { id: 'tesseract-lstm', version: '5.5.0' },
      languages: ['fra'],
      blocks: [
        {
          role: 'body',
          box: { x: 10, y: 20, w: 300, h: 40 },
          lines: [{ text: word, box: { x: 10, y: 20, w: 300, h: 40 }, confidence: 0.9, language: 'fra', words: [{ text: word, box: { x: 10, y: 20, w: 300, h: 40 }, confidence: 0.9 }] }],
        },
      ],
    });
    const read = async (filter: Parameters<AnnotationStore['ocrPages']>[0]): Promise<[string, number, string, string, string][]> =>
      (await store.ocrPages(filter)).map((p) => [p.key.canvasId, p.key.imageIndex, p.key.modelId, p.modelVersion, p.page.blocks[0]!.lines[0]!.text]);

    t.same(await store.ocrPages({}), [], 'none before a text stage wrote one');
    await store.replaceOcrPage(text({ imageIndex: 1 }), '1', page('déjà'), T1);
    await store.replaceOcrPage(text(), '1', page('première'), T1);
    await store.replaceOcrPage(text({ canvasId: canvas(2) }), '1', page('seconde'), T1);
    await store.replaceOcrPage(text({ manifestId: `${MANIFEST}-2`, canvasId: canvas(3) }), '1', page('autre'), T1);
    t.same(await read({ manifestId: MANIFEST }), [
      [canvas(1), 0, 'tesseract-lstm', '1', 'première'],
      [canvas(1), 1, 'tesseract-lstm', '1', 'déjà'],
      [canvas(2), 0, 'tesseract-lstm', '1', 'seconde'],
    ], 'in canvas, then image order');
    t.same(await store.ocrPages({ canvasId: canvas(1), manifestId: MANIFEST }).then((p) => p[0]!.page), page('première'), 'the page reads back as written');
    t.same((await store.ocrPages({ canvasId: canvas(3) }))[0]!.key, text({ manifestId: `${MANIFEST}-2`, canvasId: canvas(3) }));
    t.equal((await store.ocrPages({ canvasId: canvas(3) }))[0]!.generated, T1);

    await store.replaceOcrPage(text(), '2', page('réécrite'), T2);
    await store.replaceOcrPage(text({ modelId: 'ppocr-v4' }), '4', page('autre modèle'), T1);
    t.same(await read({ canvasId: canvas(1) }), [
      [canvas(1), 0, 'ppocr-v4', '4', 'autre modèle'],
      [canvas(1), 0, 'tesseract-lstm', '2', 'réécrite'],
      [canvas(1), 1, 'tesseract-lstm', '1', 'déjà'],
    ], 'a re-run replaces its own page; another model keeps its own');
    t.same((await store.ocrPages({ canvasId: canvas(1) })).map((p) => p.generated), [T1, T2, T1], 'each with when it was read');
    await store.replaceOcrPage(text({ imageIndex: 1 }), '1', undefined, T1);
    await store.replaceOcrPage(text({ canvasId: canvas(9) }), '1', undefined, T1);
    t.same((await read({ canvasId: canvas(1) })).map((p) => p[1]), [0, 0], 'a set written without a page leaves none');

    await t.rejects(store.replaceOcrPage(text({ canvasId: '' }), '1', page('x'), T1), VALIDATION);
    await t.rejects(store.replaceOcrPage(text(), '', page('x'), T1), VALIDATION);
    await t.rejects(store.replaceOcrPage(text(), '1', { ...page('x'), width: 0 }, T1), VALIDATION);
    await t.rejects(store.replaceOcrPage(text(), '1', page('x'), ''), VALIDATION);
    await t.rejects(store.replaceOcrPage(text(), '1', { ...page('x'), blocks: undefined } as unknown as OcrPage, T1), VALIDATION);
    await t.rejects(store.ocrPages({ canvasId: '' }), VALIDATION);
    await t.rejects(store.ocrPageEntries({ canvasId: '' }), VALIDATION);
    t.same((await read({ canvasId: canvas(1) }))[1]![4], 'réécrite', 'a refused page changes nothing');
    // The listing is the same entries without the pages.
    for (const filter of [{}, { manifestId: MANIFEST }, { canvasId: canvas(1) }]) {
      const entries = await store.ocrPageEntries(filter);
      t.same(entries, (await store.ocrPages(filter)).map(({ page: _page, ...entry }) => entry), `entries of ${JSON.stringify(filter)}`);
      t.ok(entries.every((e) => !('page' in e)), 'and no page among them');
    }
  });

  t.test('vocabularies: put, get, list, replace, find by URI or exactMatch', async (t) => {
    const store = await fresh(t);
    const animals: Vocabulary = {
      id: 'https://vocab.example.org/animals',
      label: 'Animals',
      concepts: [
        {
          uri: CAT,
          prefLabel: { en: 'cat', fr: 'chat' },
          altLabel: { en: ['house cat', 'kitty'] },
          broader: [CONCEPT('animal')],
          exactMatch: ['http://vocab.getty.edu/aat/300250161', 'http://www.wikidata.org/entity/Q146'],
        },
        { uri: DOG, prefLabel: { en: 'dog' }, notation: 'D', exactMatch: ['http://www.wikidata.org/entity/Q144'] },
        { uri: CONCEPT('animal'), prefLabel: { '': 'animal' }, narrower: [CAT, DOG] },
      ],
    };
    const pilot: Vocabulary = { id: 'europeana-pilot', concepts: [{ uri: 'http://data.europeana.eu/concept/190', prefLabel: { en: 'Painting' } }] };
    t.same(await store.putVocabulary(animals), { concepts: 3 });
    t.same(await store.putVocabulary(pilot), { concepts: 1 });
    t.same(await store.getVocabulary(animals.id), animals, 'concepts in the order given');
    t.same(await store.getVocabulary(pilot.id), pilot);
    t.equal(await store.getVocabulary('nothing'), undefined);
    t.same(await store.listVocabularies(), [
      { id: 'europeana-pilot', concepts: 1 },
      { id: animals.id, label: 'Animals', concepts: 3 },
    ]);
    t.same(await store.findConcept(CAT), { ...animals.concepts[0], vocabulary: animals.id });
    t.same(await store.findConcept('http://www.wikidata.org/entity/Q146'), { ...animals.concepts[0], vocabulary: animals.id }, 'by exactMatch');
    t.same(await store.findConcept('http://data.europeana.eu/concept/190'), { ...pilot.concepts[0], vocabulary: pilot.id });
    t.equal(await store.findConcept('http://www.wikidata.org/entity/Q1'), undefined);
    await t.rejects(store.findConcept(''), VALIDATION);

    const replaced: Vocabulary = { id: animals.id, label: 'Animals, revised', concepts: [{ uri: DOG, prefLabel: { en: 'dog', de: 'Hund' } }] };
    t.same(await store.putVocabulary(replaced), { concepts: 1 });
    t.same(await store.getVocabulary(animals.id), replaced, 'the concepts are replaced as a whole');
    t.equal(await store.findConcept(CAT), undefined);
    t.equal(await store.findConcept('http://www.wikidata.org/entity/Q146'), undefined, 'and their exactMatch links');
    t.equal(await store.findConcept('http://www.wikidata.org/entity/Q144'), undefined);
    t.same((await store.listVocabularies()).map((v) => v.concepts), [1, 1]);

    await t.rejects(store.putVocabulary({ ...replaced, concepts: [...replaced.concepts, { uri: DOG, prefLabel: { en: 'hound' } }] }), {
      ...VALIDATION,
      message: /concept\/dog/,
    }, 'a duplicate URI is named');
    await t.rejects(store.putVocabulary({ ...replaced, concepts: [{ prefLabel: { en: 'nameless' } } as unknown as Vocabulary['concepts'][number]] }), VALIDATION);
    await t.rejects(store.putVocabulary({ ...replaced, id: '' }), VALIDATION);
    t.same(await store.getVocabulary(animals.id), replaced, 'a refused vocabulary changes nothing');
  });

  t.test('datasets: sources, members, deletion, names', async (t) => {
    const store = await fresh(t);
    const z = await zoo(store);
    const name = 'pilot-2025.v1_a';
    const created = await store.createDataset({ name, description: 'first' });
    t.match(created, { name, description: 'first', sources: [], members: 0 });
    t.type(created.created, 'string');
    t.same(await store.createDataset({ name }), created, 'creating again changes nothing');
    t.same(await store.createDataset({ name, description: 'second' }), { ...created, description: 'second' }, 'but a description is updated');
    t.equal(await store.getDataset('missing'), undefined);

    t.same(await store.addDatasetSources(name, [MANIFEST, MANIFEST]), { added: 1 });
    t.same(await store.addDatasetSources(name, [MANIFEST, 'https://example.org/iiif/collection']), { added: 1 });
    const manifestIds = ids(await store.query({ manifestId: MANIFEST }));
    t.same(ids(await store.query({ dataset: name })), manifestIds, 'every annotation of a source manifest');
    const later = setKey({ canvasId: canvas(4) });
    const [late] = found(later, [{ label: 'fox' }]) as [Annotation];
    await store.replaceResultSet(later, '1', [late]);
    t.same(ids(await store.query({ dataset: name, canvasId: canvas(4) })), [late.id], 'including results stored later');

    const gtItems: GroundTruthInput[] = [1, 2, 3].map((n) => ({
      manifestId: 'https://example.org/iiif/other/manifest',
      canvasId: `https://example.org/iiif/other/canvas/${n}`,
      annotation: { id: `${BASE}gt-${n}`, type: 'Annotation', motivation: 'classifying', body: labelBody('cat', CAT), target: `https://example.org/iiif/other/canvas/${n}` },
    }));
    await store.putGroundTruth(gtItems, { source: 'import:europeana-csv', reviewer: 'importer' });
    t.same(await store.addDatasetMembers(name, [`${BASE}gt-1`, `${BASE}gt-2`, `${BASE}gt-1`]), { added: 2 });
    t.same(await store.addDatasetMembers(name, [`${BASE}gt-2`]), { added: 0 }, 'members already in are ignored');
    await t.rejects(store.addDatasetMembers(name, [`${BASE}gt-3`, `${BASE}unknown`]), NOT_FOUND, 'an unknown id');
    t.match(await store.getDataset(name), { sources: [MANIFEST, 'https://example.org/iiif/collection'], members: 2 }, 'nothing added by the refused call');
    t.equal(await store.count({ dataset: name }), manifestIds.length + 1 + 2);
    t.same(ids(await store.query({ dataset: name, modelId: 'import:europeana-csv' })), [`${BASE}gt-1`, `${BASE}gt-2`]);
    t.same(ids(await store.query({ dataset: name, concept: CAT, maxConfidence: 0.5 })), [z.cat30!.id, z.cat40!.id], 'filters combine');

    t.same(await store.removeDatasetMembers(name, [`${BASE}gt-1`, `${BASE}unknown`]), { removed: 1 });
    t.same(ids(await store.query({ dataset: name, modelId: 'import:europeana-csv' })), [`${BASE}gt-2`]);

    // A member the model stops producing (unreviewed) goes, and leaves the dataset with it.
    await store.createDataset({ name: 'transient' });
    t.same(await store.addDatasetMembers('transient', [z.line!.id, `${BASE}gt-3`]), { added: 2 });
    await store.replaceResultSet(setKey({ manifestId: `${MANIFEST}-2`, canvasId: canvas(3), stage: 'ocr', modelId: 'loupe/trocr' }), '2', []);
    t.same(ids(await store.query({ dataset: 'transient' })), [`${BASE}gt-3`]);
    t.equal((await store.getDataset('transient'))?.members, 1);
    t.equal(await store.deleteDataset('transient'), true);

    await store.createDataset({ name: 'b' });
    t.same((await store.listDatasets()).map((d) => [d.name, d.members, d.sources.length]), [
      ['b', 0, 0],
      [name, 1, 2],
    ]);
    t.same(ids(await store.query({ dataset: 'b' })), [], 'an empty dataset');

    await t.rejects(store.addDatasetSources('missing', [MANIFEST]), NOT_FOUND);
    await t.rejects(store.addDatasetMembers('missing', [`${BASE}gt-1`]), NOT_FOUND);
    await t.rejects(store.removeDatasetMembers('missing', [`${BASE}gt-1`]), NOT_FOUND);
    await t.rejects(store.addDatasetSources(name, ['']), VALIDATION);

    const total = await store.count({});
    t.equal(await store.deleteDataset(name), true);
    t.equal(await store.deleteDataset(name), false);
    t.equal(await store.getDataset(name), undefined);
    t.equal(await store.count({}), total, 'the annotations stay');
    await t.rejects(store.query({ dataset: name }), NOT_FOUND);
    t.same(await store.createDataset({ name }), { ...(await store.getDataset(name))!, sources: [], members: 0 }, 'a new dataset of that name starts empty');

    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(101), 'ünï', 'tab\t']) {
      await t.rejects(store.createDataset({ name: bad }), VALIDATION, `name ${JSON.stringify(bad)}`);
    }
    for (const refused of [
      (): Promise<unknown> => store.getDataset('a b'),
      () => store.addDatasetSources('a b', [MANIFEST]),
      () => store.addDatasetMembers('a b', []),
      () => store.removeDatasetMembers('a b', []),
      () => store.deleteDataset('a b'),
    ]) {
      await t.rejects(refused, VALIDATION, 'every method refuses a bad name');
    }
    t.match(await store.createDataset({ name: 'x'.repeat(100) }), { name: 'x'.repeat(100) }, '100 characters are fine');
  });
}
