import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { OcrPage } from '@loupe/contracts';
import { MongoClient, ObjectId } from 'mongodb';
import { contentSearchContract } from './content-search.contract.js';
import type { AnnotationDoc, OcrPageDoc } from './mongo.documents.js';
import { openMongoAnnotationStore } from './mongo.annotation-store.js';
import { openMongoContentSearch } from './mongo.content-search.js';
import { annotationEntries, pageEntries } from './mongo/search-entries.js';
import type { AnnotationStore } from './store.js';

/*
 * The entries the repositories write are derived by pure functions, tested here without a server.
 * The ContentSearchIndex contract needs a real MongoDB (none can be installed here, and none is
 * faked): it runs when LOUPE_MONGODB_URL is set.
 */

const URL_VAR = process.env.LOUPE_MONGODB_URL;

if (URL_VAR) {
  // Each store gets a database of its own, dropped when the store closes (after the index: the contract's teardown order).
  const admin = new MongoClient(URL_VAR, { serverSelectionTimeoutMS: 5000 });
  t.teardown(() => admin.close());
  contentSearchContract(t, 'mongodb', async () => {
    const database = `loupe_test_${randomBytes(6).toString('hex')}`;
    const store = await openMongoAnnotationStore({ url: URL_VAR, database });
    const search = await openMongoContentSearch({ url: URL_VAR, database });
    const close = async (): Promise<void> => {
      await store.close();
      await admin.db(database).dropDatabase();
    };
    return { search, store: { ...store, close } satisfies AnnotationStore };
  });
} else {
  // Shown as a skip in the summary, so that a run without a server does not look like a pass of the contract.
  t.test('content search contract: mongodb', { skip: 'MongoDB content search: set LOUPE_MONGODB_URL to run (e.g. mongodb://127.0.0.1:27017)' }, () => undefined);
}

const annotationDoc = (over: Partial<AnnotationDoc> & { body: unknown }): AnnotationDoc => {
  const { body, ...rest } = over;
  return {
    _id: 'https://e.org/a1',
    manifestId: 'https://e.org/m',
    canvasId: 'https://e.org/c1',
    imageIndex: 0,
    stage: 'detect',
    modelId: 'detr',
    modelVersion: '1',
    motivation: 'tagging',
    confidence: null,
    concept: null,
    label: null,
    reviewState: 'unreviewed',
    reviewer: null,
    reviewedAt: null,
    created: '2025-01-01T00:00:00Z',
    generated: null,
    bodyJson: JSON.stringify({ id: 'https://e.org/a1', type: 'Annotation', body }),
    setKey: 'set',
    position: 0,
    revision: 0,
    inc: new ObjectId(),
    ...rest,
  };
};

t.test('an annotation gives one entry per searched body, none when rejected', async (t) => {
  const body = [
    { type: 'TextualBody', value: 'Le Café', purpose: 'tagging' },
    { type: 'SpecificResource', source: 'http://www.wikidata.org/entity/Q726', purpose: 'identifying', label: 'Cheval' },
    { type: 'TextualBody', value: 'not a searched purpose', purpose: 'linking' },
    { type: 'TextualBody', value: '' },
    'a bare string',
  ];
  const entries = annotationEntries(annotationDoc({ body }));
  t.same(
    entries.map((e) => [e._id, e.fields.text, e.fields.terms, e.fields.k]),
    [
      ['a\nhttps://e.org/a1\n0', 'Le Café', ['le', 'cafe'], 0],
      ['a\nhttps://e.org/a1\n1', 'Cheval', ['cheval'], 1],
    ],
  );
  t.match(entries[0]!.fields, { kind: 'annotation', annotationId: 'https://e.org/a1', setKey: 'set', lineJson: null, motivation: 'tagging' });
  t.same(annotationEntries(annotationDoc({ body, reviewState: 'rejected' })), []);
});

t.test('a body without purpose counts unless the annotation is a transcription', async (t) => {
  const body = { type: 'TextualBody', value: 'horse trading' };
  t.equal(annotationEntries(annotationDoc({ body, motivation: 'commenting' })).length, 1);
  t.same(annotationEntries(annotationDoc({ body, motivation: 'supplementing' })), [], 'searched through its OCR page');
  t.same(annotationEntries(annotationDoc({ body, motivation: 'painting' })), []);
  t.equal(annotationEntries(annotationDoc({ body, motivation: ['supplementing', 'commenting'] })).length, 1, 'several motivations, as the SQLite index reads them');
});

t.test("a page gives one entry per line in reading order, each word's box kept, terms distinct", async (t) => {
  const line = (text: string) => ({ text, box: { x: 0, y: 0, w: 10, h: 10 }, confidence: 0.9, words: [{ text, box: { x: 1, y: 2, w: 3, h: 4 }, confidence: 0.9 }] });
  const page: OcrPage = {
    width: 100,
    height: 100,
    engine: { id: 'tesseract', version: '5' },
    languages: ['fra'],
    blocks: [
      { box: { x: 0, y: 0, w: 100, h: 50 }, role: 'body', lines: [line('de de la'), line('ÉTÉ')] },
      { box: { x: 0, y: 50, w: 100, h: 50 }, role: 'body', lines: [line('fin')] },
    ],
  };
  const doc: OcrPageDoc = { _id: 'page', manifestId: 'm', canvasId: 'c', imageIndex: 1, stage: 'text', modelId: 'tesseract', modelVersion: '5', generated: 'g', pageJson: JSON.stringify(page) };
  const entries = pageEntries(doc);
  t.same(
    entries.map((e) => [e._id, e.fields.terms]),
    [
      ['l\npage\n0', ['de', 'la']],
      ['l\npage\n1', ['ete']],
      ['l\npage\n2', ['fin']],
    ],
  );
  t.match(entries[1]!.fields, { kind: 'line', setKey: 'page', annotationId: null, imageIndex: 1, motivation: 'supplementing' });
  t.same(JSON.parse(entries[1]!.fields.lineJson!), line('ÉTÉ'));
});

t.test('a URL that is not MongoDB is a configuration error', async (t) => {
  await t.rejects(openMongoContentSearch({ url: 'postgres://x' }), { code: 'LOUPE_ERR_CONFIG_INVALID' });
});
