import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import t from 'tap';
import { LoupeError, type Annotation } from '@loupe/contracts';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError,
  ObjectId,
  type BulkWriteResult,
  type TopologyDescription,
} from 'mongodb';
import { setKeyOf } from './annotation-checks.js';
import { annotationStoreContract } from './annotation-store.contract.js';
import {
  ANNOTATION_SORT,
  annotationAtRevision,
  contentOf,
  mongoFilterOf,
  nextRevision,
  revisionUpdate,
  revisionZeroOf,
  toAnnotation,
  toCanvasDoc,
  toCanvasRecord,
  toConceptDocs,
  type AnnotationDoc,
} from './mongo.documents.js';
import { openMongoAnnotationStore } from './mongo.annotation-store.js';
import { checkDatabaseName, databaseFromUrl, isDuplicateKey, mongoConfigError, mongoStoreError, redactUrl, writeErrorsOf } from './mongo.errors.js';
import type { AnnotationStore, CanvasRecord } from './store.js';

/*
 * Without a server (none can be installed here, and none is faked) this file tests everything of
 * the MongoDB adapter that does not talk to one: filters, sort, the documents it writes and reads
 * back, URL handling and the mapping of driver errors, plus real connection attempts that fail.
 * The shared contract suite runs against a real server when LOUPE_MONGODB_URL is set.
 */

const URL_VAR = process.env.LOUPE_MONGODB_URL;

if (URL_VAR) {
  // Each store gets a database of its own, dropped when the store closes.
  const admin = new MongoClient(URL_VAR, { serverSelectionTimeoutMS: 5000 });
  t.teardown(() => admin.close());
  const dropOnClose = (store: AnnotationStore, database: string): AnnotationStore =>
    new Proxy(store, {
      get(target, prop) {
        if (prop === 'close') {
          return async () => {
            await target.close();
            await admin.db(database).dropDatabase();
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  annotationStoreContract(t, 'mongodb', async () => {
    const database = `loupe_test_${randomBytes(6).toString('hex')}`;
    return dropOnClose(await openMongoAnnotationStore({ url: URL_VAR, database }), database);
  });

  t.test('a client the caller owns is used and left open', async (t) => {
    const database = `loupe_test_${randomBytes(6).toString('hex')}`;
    const client = new MongoClient(URL_VAR, { serverSelectionTimeoutMS: 5000 });
    t.teardown(async () => {
      await client.db(database).dropDatabase();
      await client.close();
    });
    const store = await openMongoAnnotationStore({ url: URL_VAR, database, client, collectionPrefix: 'gt_' });
    await store.putCanvas({ canvasId: 'https://example.org/c/1', manifestId: 'https://example.org/m', width: 1, height: 2, image: { id: 'x' } });
    await store.close();
    t.ok(await client.db(database).collection('gt_canvases').findOne({ _id: 'https://example.org/c/1' as unknown as ObjectId }), 'the prefix names the collections');
    t.same((await client.db(database).collection('gt_annotations').indexes()).map((i) => i.name).sort(), [
      '_id_',
      'concept',
      'confidence',
      'datasets',
      'label',
      'manifest',
      'model_state',
      'order',
      'set',
      'state',
    ]);
  });
} else {
  // Shown as a skip in the summary, so that a run without a server does not look like a pass of the contract.
  t.test('AnnotationStore contract: mongodb', { skip: 'MongoDB contract: set LOUPE_MONGODB_URL to run (e.g. mongodb://127.0.0.1:27017)' }, () => undefined);
}

const MANIFEST = 'https://example.org/iiif/book/manifest';
const CANVAS = 'https://example.org/iiif/book/canvas/1';
const CAT = 'https://vocab.example.org/concept/cat';

const cat: Annotation = {
  id: 'https://loupe.example/v1/annotations/abc',
  type: 'Annotation',
  motivation: ['tagging', 'identifying'],
  body: [
    { type: 'TextualBody', value: 'cat', purpose: 'tagging', language: 'en' },
    { type: 'SpecificResource', source: CAT, purpose: 'identifying' },
  ],
  target: CANVAS,
  created: '2025-01-01T00:00:00Z',
  generated: '2025-01-02T00:00:00Z',
  'loupe:confidence': 0.75,
  'loupe:reviewState': 'accepted',
};

function docOf(annotation: Annotation, over: Partial<AnnotationDoc> = {}): AnnotationDoc {
  return {
    _id: annotation.id,
    manifestId: MANIFEST,
    canvasId: CANVAS,
    imageIndex: 0,
    stage: 'detect',
    modelId: 'loupe/detr',
    modelVersion: '1',
    ...contentOf(annotation),
    reviewState: 'unreviewed',
    reviewer: null,
    reviewedAt: null,
    created: annotation.created ?? '2025-01-01T00:00:00Z',
    generated: annotation.generated ?? null,
    setKey: null,
    position: 0,
    revision: 0,
    inc: new ObjectId(),
    ...over,
  };
}

t.test('mongoFilterOf: one clause per filter', async (t) => {
  t.same(mongoFilterOf({}), {}, 'no filter matches everything');
  t.same(mongoFilterOf({ limit: 5, offset: 10, original: true }), {}, 'paging and original are not filters');
  t.same(mongoFilterOf({ canvasId: CANVAS, manifestId: MANIFEST, modelId: 'loupe/clip' }), { canvasId: CANVAS, manifestId: MANIFEST, modelId: 'loupe/clip' });
  t.same(mongoFilterOf({ motivation: 'tagging' }), { motivation: 'tagging' }, 'equality, which on a stored list matches any element');
  t.same(mongoFilterOf({ reviewState: 'accepted' }), { reviewState: 'accepted' });
  t.same(mongoFilterOf({ reviewState: ['accepted', 'corrected'] }), { reviewState: { $in: ['accepted', 'corrected'] } });
  t.same(mongoFilterOf({ reviewState: [] }), { reviewState: { $in: [] } }, 'no state matches nothing');
  t.same(mongoFilterOf({ concept: CAT }), { $or: [{ concept: CAT }, { label: CAT }] }, 'a concept is a URI or a label');
  t.same(mongoFilterOf({ minConfidence: 0.5 }), { confidence: { $gte: 0.5 } });
  t.same(mongoFilterOf({ maxConfidence: 0 }), { confidence: { $lte: 0 } }, 'zero is a bound, not a missing one');
  t.same(mongoFilterOf({ minConfidence: 0.2, maxConfidence: 0.9 }), { confidence: { $gte: 0.2, $lte: 0.9 } });
  t.same(mongoFilterOf({ ids: ['a', 'b'] }), { _id: { $in: ['a', 'b'] } });
  t.same(mongoFilterOf({ ids: [] }), { _id: { $in: [] } }, 'no ids matches nothing');
  t.same(mongoFilterOf({ canvasId: [CANVAS, `${CANVAS}-2`] }), { canvasId: { $in: [CANVAS, `${CANVAS}-2`] } }, 'any of several canvases');
  t.same(mongoFilterOf({ canvasId: [] }), { canvasId: { $in: [] } }, 'no canvas matches nothing');
});

t.test('mongoFilterOf: datasets are members or source manifests', async (t) => {
  t.same(mongoFilterOf({ dataset: 'pilot' }, [MANIFEST, 'https://example.org/collection']), {
    $or: [{ datasets: 'pilot' }, { manifestId: { $in: [MANIFEST, 'https://example.org/collection'] } }],
  });
  t.same(mongoFilterOf({ dataset: 'pilot' }, []), { $or: [{ datasets: 'pilot' }] }, 'a dataset without sources is its members');
  t.same(
    mongoFilterOf({ dataset: 'pilot', concept: 'cat', canvasId: CANVAS }, [MANIFEST]),
    { canvasId: CANVAS, $and: [{ $or: [{ concept: 'cat' }, { label: 'cat' }] }, { $or: [{ datasets: 'pilot' }, { manifestId: { $in: [MANIFEST] } }] }] },
    'two alternatives combine with $and instead of overwriting each other',
  );
  t.throws(() => mongoFilterOf({ dataset: 'pilot' }), /not resolved/, 'the caller must read the sources first');
});

t.test('mongoFilterOf: invalid filters are LOUPE_ERR_VALIDATION, as in every adapter', async (t) => {
  const bad: [string, Parameters<typeof mongoFilterOf>[0]][] = [
    ['unknown state', { reviewState: 'maybe' as never }],
    ['unknown state in a list', { reviewState: ['accepted', 'maybe' as never] }],
    ['empty concept', { concept: '' }],
    ['confidence not a number', { minConfidence: '0.5' as never }],
    ['confidence NaN', { maxConfidence: Number.NaN }],
    ['ids not a list', { ids: 'a' as never }],
    ['bad dataset name', { dataset: 'a b' }],
    ['an operator smuggled in as a value', { canvasId: { $ne: null } as never }],
    ['an operator smuggled into a canvas list', { canvasId: [CANVAS, { $ne: null }] as never }],
    ['an empty canvas id in a list', { canvasId: [CANVAS, ''] }],
  ];
  for (const [what, q] of bad) t.throws(() => mongoFilterOf(q, []), { code: 'LOUPE_ERR_VALIDATION' }, what);
});

t.test('the sort is the port order with the id as the last tie-breaker', async (t) => {
  t.same(Object.entries(ANNOTATION_SORT), [
    ['canvasId', 1],
    ['imageIndex', 1],
    ['stage', 1],
    ['modelId', 1],
    ['position', 1],
    ['_id', 1],
  ]);
});

t.test('an annotation is stored as a JSON string with its filter fields beside it', async (t) => {
  const content = contentOf(cat);
  t.same(content.motivation, ['tagging', 'identifying'], 'a list of motivations stays a list');
  t.equal(content.confidence, 0.75);
  t.equal(content.concept, CAT, 'the first SpecificResource source');
  t.equal(content.label, 'cat', 'the first labelling TextualBody value');
  const body = JSON.parse(content.bodyJson) as Record<string, unknown>;
  for (const field of ['loupe:reviewState', 'loupe:revision', 'modified', 'created', 'generated']) t.notOk(field in body, `${field} is kept apart`);
  t.same(body.body, cat.body);

  const transcription = contentOf({ ...cat, motivation: 'supplementing', body: { type: 'TextualBody', value: 'Chapter 1', format: 'text/plain' } });
  t.same([transcription.concept, transcription.label], [null, null], 'a transcription is not a label');
  t.equal(contentOf({ ...cat, 'loupe:confidence': undefined }).confidence, null, 'no confidence is null, which no range matches');

  const jsonLd: Annotation = { ...cat, body: { type: 'TextualBody', value: 'x', 'http://schema.org/name': 'dotted', $weird: 1, '': 'empty key' } as never };
  const roundTrip = toAnnotation(docOf(jsonLd));
  t.same(roundTrip.body, jsonLd.body, "keys with '.', '$' or nothing survive, which a subdocument would not guarantee");
});

t.test('toAnnotation merges the review fields back', async (t) => {
  const unreviewed = toAnnotation(docOf(cat));
  t.same(unreviewed, { ...cat, 'loupe:reviewState': 'unreviewed', 'loupe:revision': 0 }, 'no modified before a review');
  const reviewed = toAnnotation(docOf(cat, { reviewState: 'rejected', reviewer: 'ann', reviewedAt: '2025-03-01T00:00:00Z', revision: 3 }));
  t.same(reviewed, { ...cat, 'loupe:reviewState': 'rejected', 'loupe:revision': 3, modified: '2025-03-01T00:00:00Z' });
  const { generated: _generated, ...withoutGenerated } = cat;
  t.notOk('generated' in toAnnotation(docOf(withoutGenerated)), 'a null generated is left out, not written as null');
});

t.test('revisions: revision 0 from the document, the next one from a review, the update that applies it', async (t) => {
  const doc = docOf(cat, { generated: '2025-01-02T00:00:00Z' });
  const zero = revisionZeroOf(doc);
  t.match(zero, { annotationId: cat.id, revision: 0, state: 'unreviewed', reviewer: null, at: '2025-01-02T00:00:00Z', note: null, corrected: false });
  t.ok(zero.inc.equals(doc.inc), 'revisions belong to this incarnation of the id');
  t.equal(revisionZeroOf({ ...doc, generated: null }).at, doc.created, 'dated by generated, else created');
  const imported = { ...doc, reviewState: 'accepted' as const, reviewer: 'importer', reviewedAt: '2025-04-01T00:00:00Z' };
  t.equal(revisionZeroOf(imported).at, '2025-04-01T00:00:00Z', 'imported ground truth: the import time');

  const accept = nextRevision(doc, { state: 'accepted', reviewer: 'ann', note: 'ok' }, '2025-05-01T00:00:00Z');
  t.match(accept, { revision: 1, state: 'accepted', reviewer: 'ann', note: 'ok', corrected: false, bodyJson: doc.bodyJson });
  t.same(revisionUpdate(accept), { reviewState: 'accepted', reviewer: 'ann', reviewedAt: '2025-05-01T00:00:00Z', revision: 1 }, 'a judgement leaves the body alone');

  const lynx = { type: 'SpecificResource', source: 'https://vocab.example.org/concept/lynx', purpose: 'identifying' };
  const correction = { body: lynx, motivation: 'identifying' };
  const fix = nextRevision({ ...doc, revision: 1 }, { state: 'corrected', reviewer: 'bob', correction }, '2025-06-01T00:00:00Z');
  t.match(fix, { revision: 2, corrected: true, note: null });
  const update = revisionUpdate(fix);
  t.match(update, { reviewState: 'corrected', revision: 2, motivation: 'identifying', concept: lynx.source, label: null, bodyJson: fix.bodyJson });
  const fixed = toAnnotation({ ...doc, ...update });
  t.same(
    fixed,
    { ...cat, ...correction, 'loupe:reviewState': 'corrected', 'loupe:revision': 2, modified: '2025-06-01T00:00:00Z' },
    'target, provenance and confidence stay',
  );

  t.same(annotationAtRevision({ ...doc, ...update }, zero), toAnnotation(doc), 'the history shows revision 0 as the model said it');
  t.same(annotationAtRevision({ ...doc, ...update }, fix), fixed, 'and the last revision as get() does');
});

t.test('canvases, concepts and result-set keys', async (t) => {
  const record: CanvasRecord = {
    canvasId: CANVAS,
    manifestId: MANIFEST,
    label: 'p. 1',
    width: 2000,
    height: 3000,
    image: { id: 'https://images.example.org/iiif/p1', service: 'https://images.example.org/iiif/p1', serviceVersion: 3 },
  };
  t.same(toCanvasRecord(toCanvasDoc(record)), record);
  const { label: _label, ...unlabelled } = record;
  t.equal(toCanvasDoc(unlabelled).label, null, 'no undefined is ever sent to the server');
  t.same(toCanvasRecord(toCanvasDoc(unlabelled)), unlabelled);

  const generation = new ObjectId();
  const Q146 = 'http://www.wikidata.org/entity/Q146';
  const docs = toConceptDocs('animals', generation, [
    { uri: CAT, prefLabel: { en: 'cat', '': 'cat' }, exactMatch: [Q146, Q146] },
    { uri: 'https://vocab.example.org/concept/dog', prefLabel: { en: 'dog' } },
  ]);
  t.same(
    docs.map((d) => [d.position, d.uri, d.exactMatch]),
    [
      [0, CAT, [Q146]],
      [1, 'https://vocab.example.org/concept/dog', []],
    ],
  );
  t.same(JSON.parse(docs[0]!.json), { uri: CAT, prefLabel: { en: 'cat', '': 'cat' }, exactMatch: [Q146, Q146] }, 'the concept as given');

  t.equal(
    setKeyOf({ manifestId: MANIFEST, canvasId: CANVAS, imageIndex: 2, stage: 'detect', modelId: 'loupe/detr' }),
    JSON.stringify([MANIFEST, CANVAS, 2, 'detect', 'loupe/detr']),
    'the same key as the SQLite adapter',
  );
});

t.test('redactUrl hides passwords and secret options', async (t) => {
  const cases: [string, string][] = [
    ['mongodb://127.0.0.1:27017/loupe', 'mongodb://127.0.0.1:27017/loupe'],
    ['mongodb://loupe:s3cret@db.example.org/loupe?authSource=admin', 'mongodb://loupe:***@db.example.org/loupe?authSource=admin'],
    ['mongodb+srv://loupe:p%40ss@cluster0.example.net/?retryWrites=true', 'mongodb+srv://loupe:***@cluster0.example.net/?retryWrites=true'],
    ['mongodb://loupe@db.example.org', 'mongodb://loupe@db.example.org'],
    ['mongodb://u:pa@ss@h1:1,h2:2/db', 'mongodb://u:***@h1:1,h2:2/db'],
    [
      'mongodb://h/?tls=true&tlsCertificateKeyFilePassword=kp&authMechanismProperties=AWS_SESSION_TOKEN:tok',
      'mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***&authMechanismProperties=AWS_SESSION_TOKEN:tok',
    ],
    ['http://user:pw@x', 'http://user:***@x'],
    ['not a url', 'not a url'],
    ['garbage user:pw@host', '***'],
  ];
  for (const [url, expected] of cases) t.equal(redactUrl(url), expected, url);
});

t.test('databaseFromUrl reads the path; checkDatabaseName applies MongoDB rules', async (t) => {
  const cases: [string, string | undefined][] = [
    ['mongodb://127.0.0.1:27017/loupe', 'loupe'],
    ['mongodb://127.0.0.1:27017/loupe?authSource=admin', 'loupe'],
    ['mongodb://u:p@h1,h2/ground_truth', 'ground_truth'],
    ['mongodb+srv://cluster0.example.net/my%2Ddb', 'my-db'],
    ['mongodb://127.0.0.1:27017', undefined],
    ['mongodb://127.0.0.1:27017/', undefined],
    ['mongodb://127.0.0.1:27017/?replicaSet=rs0', undefined],
    ['mongodb://h/%E0%A4%A', undefined],
    ['http://x/loupe', undefined],
  ];
  for (const [url, expected] of cases) t.equal(databaseFromUrl(url), expected, url);
  t.equal(checkDatabaseName('loupe_test-1'), undefined);
  for (const bad of ['', 'a.b', 'a b', 'a/b', 'a$b', 'x'.repeat(64)]) t.type(checkDatabaseName(bad), 'string', JSON.stringify(bad));
});

t.test('driver errors map to LoupeErrors', async (t) => {
  const url = 'mongodb://loupe:s3cret@db.example.org:27017/loupe';
  const auth = new MongoServerError({ message: 'Authentication failed.', code: 18, codeName: 'AuthenticationFailed' });
  const authErr = mongoStoreError('connect', auth, url);
  t.match(authErr, { code: 'LOUPE_ERR_CONFIG_INVALID', details: { variable: 'LOUPE_MONGODB_URL', url: 'mongodb://loupe:***@db.example.org:27017/loupe' } });
  t.match(authErr.message, /LOUPE_MONGODB_URL/);
  t.equal(authErr.cause, auth, 'the driver error is the cause');
  t.match(mongoStoreError('query', new MongoServerError({ message: 'not authorized on loupe to execute command', code: 13 }), url), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
  }, 'a user without the role is configuration too');

  const selection = new MongoServerSelectionError('Server selection timed out after 500 ms', { error: null } as unknown as TopologyDescription);
  t.match(mongoStoreError('connect', selection, url), { code: 'LOUPE_ERR_STORE', retryable: true, details: { retryable: true, operation: 'connect' } });
  const hiddenAuth = new MongoServerSelectionError('x', { error: auth } as unknown as TopologyDescription);
  t.match(mongoStoreError('connect', hiddenAuth, url), { code: 'LOUPE_ERR_CONFIG_INVALID' }, 'an auth failure inside a server-selection error');

  t.match(mongoStoreError('query', new MongoNetworkError('connection 3 to db.example.org:27017 closed'), url), {
    code: 'LOUPE_ERR_STORE',
    details: { retryable: true },
  });
  t.match(mongoStoreError('query', new MongoNetworkTimeoutError('timed out'), url), { details: { retryable: true } });
  t.match(mongoStoreError('review', new MongoServerError({ message: 'not primary', code: 10107 }), url), { details: { retryable: true } }, 'an election');
  const labelled = new MongoServerError({ message: 'whatever', code: 1234, errorLabels: ['RetryableWriteError'] });
  t.match(mongoStoreError('review', labelled, url), { details: { retryable: true } }, 'the server says it may pass');

  const tooLarge = mongoStoreError('putVocabulary', new MongoServerError({ message: 'BSONObj size: 17000000 is invalid', code: 10334 }), url);
  t.match(tooLarge, { code: 'LOUPE_ERR_STORE', details: { retryable: false, mongoCode: 10334 } }, 'a document too large will not pass');
  t.match(mongoStoreError('connect', new MongoParseError('Invalid scheme'), url), { code: 'LOUPE_ERR_CONFIG_INVALID' });
  const foreign = Object.assign(new Error('mongodb+srv URI cannot have port number'), { name: 'MongoParseError' });
  t.match(mongoStoreError('connect', foreign, url), { code: 'LOUPE_ERR_CONFIG_INVALID' }, "mongodb-connection-string-url's own MongoParseError");
  t.match(mongoConfigError(new Error('Unable to parse h:x with URL'), url), {
    code: 'LOUPE_ERR_CONFIG_INVALID',
    details: { variable: 'LOUPE_MONGODB_URL', url: 'mongodb://loupe:***@db.example.org:27017/loupe' },
  });
  t.match(mongoStoreError('connect', new MongoInvalidArgumentError('bad option'), url), { code: 'LOUPE_ERR_CONFIG_INVALID' });
  const misuse = mongoStoreError('query', new MongoInvalidArgumentError('bad option'), url);
  t.match(misuse, { code: 'LOUPE_ERR_STORE', details: { retryable: false } }, 'after connecting, a bug of ours');
  t.match(mongoStoreError('query', new TypeError('boom')), { code: 'LOUPE_ERR_STORE', details: { retryable: false } });

  const own = new LoupeError('LOUPE_ERR_NOT_FOUND', 'No annotation');
  t.equal(mongoStoreError('get', own, url), own, 'a LoupeError passes through');

  const echoed = mongoStoreError('connect', new MongoError(`failed to connect to ${url} with password s3cret`), url);
  t.notMatch(echoed.message, /s3cret/, 'a password the driver echoed is scrubbed');
  t.notMatch(JSON.stringify(echoed.toJSON()), /s3cret/);
});

t.test('duplicate keys are recognised, in single and bulk writes', async (t) => {
  const duplicate = new MongoServerError({ message: 'E11000 duplicate key error', code: 11000 });
  t.ok(isDuplicateKey(duplicate));
  t.notOk(isDuplicateKey(new MongoServerError({ message: 'other', code: 2 })));
  t.notOk(isDuplicateKey(new Error('E11000')), 'only a server error counts');
  const result = { insertedCount: 1, upsertedIds: {} } as unknown as BulkWriteResult;
  const bulk = (codes: number[]): MongoBulkWriteError =>
    new MongoBulkWriteError({ message: 'write errors', code: codes[0] ?? 0, writeErrors: codes.map((code, index) => ({ index: index * 2, code })) as never }, result);
  t.ok(isDuplicateKey(bulk([11000, 11000])));
  t.notOk(isDuplicateKey(bulk([11000, 121])), 'a validation failure among them is not a duplicate');
  t.notOk(isDuplicateKey(bulk([])), 'a write-concern failure has no write errors');
  t.same(writeErrorsOf(bulk([11000, 11000])), [
    { index: 0, code: 11000 },
    { index: 2, code: 11000 },
  ]);
  t.equal(bulk([11000]).insertedCount, 1);
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('opening: a server that does not answer is LOUPE_ERR_STORE, retryable, and the password stays hidden', async (t) => {
  const port = await closedPort();
  const url = `mongodb://loupe:s3cret@127.0.0.1:${port}/loupe_unreachable`;
  const started = Date.now();
  const err = await openMongoAnnotationStore({ url, serverSelectionTimeoutMS: 500 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, LoupeError);
  t.match(err, {
    code: 'LOUPE_ERR_STORE',
    retryable: true,
    details: { retryable: true, operation: 'connect', url: `mongodb://loupe:***@127.0.0.1:${port}/loupe_unreachable` },
  });
  t.notMatch((err as Error).message, /s3cret/);
  t.ok(Date.now() - started < 5000, 'within the server selection timeout, not the 5 s default');
});

t.test('opening: a client the caller passes is not closed by a failed open', async (t) => {
  const port = await closedPort();
  const client = new MongoClient(`mongodb://127.0.0.1:${port}`, { serverSelectionTimeoutMS: 300 });
  const close = client.close.bind(client);
  let closes = 0;
  client.close = async (force?: boolean) => {
    closes += 1;
    return close(force);
  };
  t.teardown(() => close());
  await t.rejects(openMongoAnnotationStore({ url: `mongodb://127.0.0.1:${port}`, client }), { code: 'LOUPE_ERR_STORE', details: { retryable: true } });
  t.equal(closes, 0, 'closing it is the caller\'s business');
});

t.test('opening: a configuration that cannot work is LOUPE_ERR_CONFIG_INVALID, before any connection', async (t) => {
  const refused: [string, Parameters<typeof openMongoAnnotationStore>[0]][] = [
    ['not a MongoDB URL', { url: 'http://x' }],
    ['no URL', { url: undefined as unknown as string }],
    ['a port that is not a number (the driver parses it)', { url: 'mongodb://127.0.0.1:notaport' }],
    ['an SRV URL with a port', { url: 'mongodb+srv://cluster0.example.net:27017/loupe' }],
    ['an unknown option value', { url: 'mongodb://127.0.0.1/?readPreference=sometimes' }],
    ['a database name MongoDB refuses', { url: 'mongodb://127.0.0.1/a.b' }],
    ['an explicit bad database', { url: 'mongodb://127.0.0.1', database: 'has space' }],
    ['a collection prefix with a dollar', { url: 'mongodb://127.0.0.1', collectionPrefix: 'x$' }],
    ['a zero timeout', { url: 'mongodb://127.0.0.1', serverSelectionTimeoutMS: 0 }],
  ];
  for (const [what, opts] of refused) {
    const err = await openMongoAnnotationStore(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(err, { code: 'LOUPE_ERR_CONFIG_INVALID', details: { variable: 'LOUPE_MONGODB_URL' } }, what);
  }
  const withPassword = await openMongoAnnotationStore({ url: 'https://user:hunter2@example.org' }).then(
    () => undefined,
    (e: unknown) => e as LoupeError,
  );
  t.match(withPassword, { code: 'LOUPE_ERR_CONFIG_INVALID' });
  t.notMatch(JSON.stringify({ message: withPassword?.message, ...withPassword?.toJSON() }), /hunter2/, 'a refused URL is shown without its password');
});
