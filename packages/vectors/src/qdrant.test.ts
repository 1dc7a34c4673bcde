import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { QdrantClient, QdrantClientResourceExhaustedError, QdrantClientTimeoutError } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { VectorPayload, VectorPoint, VectorStore } from './port.js';
import { vectorStoreContract } from './vector-store.contract.js';
import {
  PAYLOAD_INDEXES,
  URL_NAMESPACE,
  assertCollectionPrefix,
  checkSpec,
  codeForStatus,
  collectionName,
  countRequest,
  createCollectionBody,
  decodeNamePart,
  decodePayload,
  describeCollection,
  encodeNamePart,
  encodePayload,
  fromQdrantHit,
  fromQdrantRecord,
  missingPayloadIndexes,
  openQdrantVectorStore,
  parseCollectionName,
  qdrantError,
  qdrantPointId,
  queryRequest,
  safeUrl,
  scrollRequest,
  searchParams,
  toQdrantFilter,
  toQdrantPoint,
  upsertBatches,
  uuidV5,
} from './qdrant/index.js';

// Expected UUIDs below come from Python's uuid module (an independent implementation), e.g.
// python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'https://example.org/iiif/coins/manifest/canvas/1#0'))"
const CANVAS_1 = 'https://example.org/iiif/coins/manifest/canvas/1#0';
const CANVAS_1_UUID = '6e2428d0-b377-56dd-bcc1-8f7ed290a250';
const CANVAS_1_IMAGE_1_UUID = '935b9ece-3393-5b48-8f8f-00140011d2c7';

const MANIFEST = 'https://example.org/iiif/coins/manifest';
const CC0 = 'https://creativecommons.org/publicdomain/zero/1.0/';

const payload: VectorPayload = {
  canvasId: 'https://example.org/iiif/coins/manifest/canvas/1',
  imageIndex: 0,
  manifestId: MANIFEST,
  collections: ['https://example.org/iiif/all', 'https://example.org/iiif/coins'],
  rights: CC0,
  concepts: ['http://vocab.getty.edu/aat/300037222'],
  phash: '00ff00ff00ff00ff',
  thumbnail: 'https://example.org/iiif/image/1/full/128,/0/default.jpg',
};

t.test('point ids: RFC 4122 version-5 UUIDs of the Loupe id', async (t) => {
  // The RFC's DNS namespace and the test vector every UUID library agrees on.
  t.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  t.equal(URL_NAMESPACE, '6ba7b811-9dad-11d1-80b4-00c04fd430c8');
  t.equal(qdrantPointId(CANVAS_1), CANVAS_1_UUID);
  t.equal(qdrantPointId('https://example.org/iiif/coins/manifest/canvas/1#1'), CANVAS_1_IMAGE_1_UUID, 'another image of the canvas, another point');
  t.equal(qdrantPointId('https://example.org/iiif/café/canvas/1#0'), 'b35320a0-97ed-5792-9010-8f58d6a3ac2d', 'the name is hashed as UTF-8');
  t.equal(qdrantPointId(''), '1b4db7eb-4057-5ddf-91e0-36dec72071f5');
  t.equal(qdrantPointId(CANVAS_1), qdrantPointId(CANVAS_1), 'deterministic');
  for (const id of [CANVAS_1_UUID, qdrantPointId('x')]) {
    t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'version 5, RFC 4122 variant');
  }
  t.throws(() => uuidV5('x', 'not-a-uuid'), TypeError);
});

t.test('collection names: prefix, model and version, escaped, reversible', async (t) => {
  t.equal(collectionName('loupe', 'mobilenet-v2-features', '4.2.1'), 'loupe__mobilenet-v2-features__4_2e2_2e1');
  t.equal(collectionName('loupe', 'clip-vit-b32-image', '1'), 'loupe__clip-vit-b32-image__1');
  t.equal(collectionName('loupe_prod', 'CLIP_ViT', 'v1.0+cpu'), 'loupe_prod___43_4c_49_50_5f_56i_54__v1_2e0_2bcpu');
  t.same(parseCollectionName('loupe_prod', 'loupe_prod___43_4c_49_50_5f_56i_54__v1_2e0_2bcpu'), { modelId: 'CLIP_ViT', modelVersion: 'v1.0+cpu' });
  t.equal(encodeNamePart('CLIP_ViT'), '_43_4c_49_50_5f_56i_54', 'upper case and _ are escaped');
  t.equal(encodeNamePart('modèle/1'), 'mod_c3_a8le_2f1', 'UTF-8 bytes, / escaped');
  t.equal(encodeNamePart('a b'), 'a_20b');

  // Pairs a plain slug would merge stay apart.
  const pairs: [string, string][] = [
    ['a_b', 'c'],
    ['a', 'b_c'],
    ['a', '_b__c'],
    ['a.b', 'c'],
    ['a-b', 'c'],
    ['A', '1'],
    ['a', '1'],
    ['a', '1.0'],
    ['a', '1-0'],
    ['a', '1_0'],
    ['a__b', 'c'],
    ['a', 'b__c'],
    ['mod_c3_a8le', '1'],
    ['modèle', '1'],
  ];
  const names = pairs.map(([m, v]) => collectionName('loupe', m, v));
  t.equal(new Set(names).size, pairs.length, 'collision-free');
  t.equal(new Set(names.map((n) => n.toLowerCase())).size, pairs.length, 'even on a case-insensitive file system');
  for (const [i, name] of names.entries()) {
    t.match(name, /^[a-zA-Z0-9_-]+$/, `${name}: Qdrant-safe characters`);
    t.same(parseCollectionName('loupe', name), { modelId: pairs[i]![0], modelVersion: pairs[i]![1] }, `${name} reads back`);
  }

  t.equal(parseCollectionName('loupe', 'loupe-test__a__1'), undefined, 'another prefix');
  t.equal(parseCollectionName('loupe-test', 'loupe__a__1'), undefined, 'another prefix');
  t.equal(parseCollectionName('loupe', 'loupe__a'), undefined, 'no version');
  t.equal(parseCollectionName('loupe', 'loupe__a__'), undefined, 'empty version');
  t.equal(parseCollectionName('loupe', 'loupe__A__1'), undefined, 'unescaped upper case is not ours');
  t.equal(parseCollectionName('loupe', 'loupe__a__1_2E0'), undefined, 'upper-case hex is not canonical');
  t.equal(decodeNamePart('_61'), undefined, 'an escaped a is not canonical');
  t.equal(decodeNamePart('_ff'), undefined, 'not UTF-8');
  t.equal(decodeNamePart('a_2'), undefined, 'a cut escape');
  t.equal(decodeNamePart('v1_2e0'), 'v1.0');
  t.equal(parseCollectionName('loupe', 'something_else'), undefined);

  for (const ok of ['loupe', 'loupe_prod', 'Loupe-Test-1', 'a_b-c_d']) t.doesNotThrow(() => assertCollectionPrefix(ok), ok);
  for (const bad of ['', 'a__b', '_a', 'a_', 'a/b', 'a.b', 'naïve']) {
    t.throws(() => assertCollectionPrefix(bad), { code: 'LOUPE_ERR_CONFIG_INVALID' }, JSON.stringify(bad));
  }
  t.throws(() => collectionName('loupe', 'm'.repeat(200), '1.0.0'.repeat(10)), { code: 'LOUPE_ERR_VALIDATION', message: /more than 255/ });
});

t.test('filters: must conditions with match.value / match.any; excluded ids as must_not has_id', async (t) => {
  t.equal(toQdrantFilter(undefined), undefined);
  t.equal(toQdrantFilter({}), undefined);
  t.equal(toQdrantFilter({ manifestId: undefined }, []), undefined);
  t.strictSame(toQdrantFilter({ manifestId: MANIFEST }), { must: [{ key: 'manifestId', match: { value: MANIFEST } }] });
  t.strictSame(
    toQdrantFilter(
      {
        concept: ['http://vocab.getty.edu/aat/300037222', 'http://vocab.getty.edu/aat/300046300'],
        rights: CC0,
        collection: 'https://example.org/iiif/all',
        manifestId: [MANIFEST, 'https://example.org/iiif/maps/manifest'],
      },
      [CANVAS_1, 'https://example.org/iiif/coins/manifest/canvas/1#1'],
    ),
    {
      must: [
        { key: 'manifestId', match: { any: [MANIFEST, 'https://example.org/iiif/maps/manifest'] } },
        { key: 'collections', match: { value: 'https://example.org/iiif/all' } },
        { key: 'rights', match: { value: CC0 } },
        { key: 'concepts', match: { any: ['http://vocab.getty.edu/aat/300037222', 'http://vocab.getty.edu/aat/300046300'] } },
      ],
      must_not: [{ has_id: [CANVAS_1_UUID, CANVAS_1_IMAGE_1_UUID] }],
    },
  );
  t.strictSame(toQdrantFilter(undefined, [CANVAS_1]), { must_not: [{ has_id: [CANVAS_1_UUID] }] });
  t.strictSame(toQdrantFilter({ rights: [CC0] }), { must: [{ key: 'rights', match: { any: [CC0] } }] }, 'a list of one is still any-of');
  t.equal(toQdrantFilter({ rights: CC0, concept: [] }), null, 'any of no values: nothing matches');
  t.throws(() => toQdrantFilter({ right: CC0 } as never), { code: 'LOUPE_ERR_VALIDATION', message: /Unknown vector filter field "right"/ });
  t.throws(() => toQdrantFilter({ manifestId: 42 } as never), { code: 'LOUPE_ERR_VALIDATION', message: /manifestId/ });
  t.throws(() => toQdrantFilter({ concept: ['a', 1] } as never), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => toQdrantFilter(undefined, 'x' as never), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('payloads: the VectorPayload as it is, plus the Loupe id', async (t) => {
  const stored = encodePayload(CANVAS_1, payload);
  t.strictSame(stored, {
    canvasId: 'https://example.org/iiif/coins/manifest/canvas/1',
    imageIndex: 0,
    manifestId: MANIFEST,
    collections: ['https://example.org/iiif/all', 'https://example.org/iiif/coins'],
    rights: CC0,
    concepts: ['http://vocab.getty.edu/aat/300037222'],
    phash: '00ff00ff00ff00ff',
    thumbnail: 'https://example.org/iiif/image/1/full/128,/0/default.jpg',
    loupeId: CANVAS_1,
  });
  t.strictSame(encodePayload('x#0', { canvasId: 'x', imageIndex: 2, manifestId: 'm', rights: undefined, concepts: [] }), {
    canvasId: 'x',
    imageIndex: 2,
    manifestId: 'm',
    concepts: [],
    loupeId: 'x#0',
  }, 'undefined fields left out, empty lists kept');
  t.strictSame(decodePayload(stored, { collection: 'c', pointId: CANVAS_1_UUID }), { id: CANVAS_1, payload });
  t.throws(() => decodePayload({ canvasId: 'x', imageIndex: 0, manifestId: 'm' }, { collection: 'c', pointId: 7 }), { code: 'LOUPE_ERR_INTERNAL', message: /7 in Qdrant collection c has no Loupe payload/ });
  t.throws(() => decodePayload(null, { collection: 'c', pointId: 7 }), { code: 'LOUPE_ERR_INTERNAL' });

  const vector = Float32Array.of(0.6, -0.8, 0.1);
  const point = toQdrantPoint({ id: CANVAS_1, vector, payload });
  t.strictSame(point, { id: CANVAS_1_UUID, vector: [0.6000000238418579, -0.800000011920929, 0.10000000149011612], payload: stored }, 'float32 values written exactly');
  const back = fromQdrantRecord({ id: CANVAS_1_UUID, payload: stored, vector: point.vector as number[] }, 'c');
  t.equal(back.id, CANVAS_1);
  t.ok(back.vector instanceof Float32Array);
  t.strictSame(Array.from(back.vector), Array.from(vector));
  t.strictSame(back.payload, payload);
  t.throws(() => fromQdrantRecord({ id: CANVAS_1_UUID, payload: stored, vector: { image: [1, 2] } }, 'c'), { code: 'LOUPE_ERR_INTERNAL' });
  t.strictSame(fromQdrantHit({ id: CANVAS_1_UUID, version: 3, score: 0.875, payload: stored }, 'c'), { id: CANVAS_1, score: 0.875, payload });
});

t.test('collection bodies: size, Cosine, optional int8 scalar quantisation; keyword payload indexes', async (t) => {
  t.strictSame(createCollectionBody({ dims: 1280 }), { vectors: { size: 1280, distance: 'Cosine' } });
  t.strictSame(createCollectionBody({ dims: 1280, quantization: 'none' }), { vectors: { size: 1280, distance: 'Cosine' } });
  t.strictSame(createCollectionBody({ dims: 512, quantization: 'int8' }), {
    vectors: { size: 512, distance: 'Cosine' },
    quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } },
  });
  t.strictSame(PAYLOAD_INDEXES, [
    { field_name: 'manifestId', field_schema: 'keyword' },
    { field_name: 'collections', field_schema: 'keyword' },
    { field_name: 'rights', field_schema: 'keyword' },
    { field_name: 'concepts', field_schema: 'keyword' },
  ]);
  t.strictSame(missingPayloadIndexes({ manifestId: { data_type: 'keyword', points: 3 }, rights: { data_type: 'keyword', points: 3 } }), [
    { field_name: 'collections', field_schema: 'keyword' },
    { field_name: 'concepts', field_schema: 'keyword' },
  ]);
  t.strictSame(missingPayloadIndexes(undefined), PAYLOAD_INDEXES);
  t.strictSame(searchParams(true), { quantization: { rescore: true } });
  t.equal(searchParams(false), undefined);

  // Collection information as GET /collections/{name} answers it (the parts read).
  t.strictSame(describeCollection({ config: { params: { vectors: { size: 16, distance: 'Cosine' } }, quantization_config: null } }), { dims: 16, quantization: 'none', quantized: false });
  t.strictSame(
    describeCollection({ config: { params: { vectors: { size: 512, distance: 'Cosine' } }, quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } } } }),
    { dims: 512, quantization: 'int8', quantized: true },
  );
  t.strictSame(
    describeCollection({ config: { params: { vectors: { size: 512, distance: 'Cosine', quantization_config: { binary: { always_ram: true } } } } } }),
    { dims: 512, quantization: 'none', quantized: true },
    'another kind of quantisation, set by an operator: not int8, but searches rescore',
  );
  t.match(describeCollection({ config: { params: { vectors: { image: { size: 512, distance: 'Cosine' } } } } }), /named vectors/);
  t.match(describeCollection({ config: { params: { vectors: { size: 512, distance: 'Dot' } } } }), /Dot, not Cosine/);

  t.doesNotThrow(() => checkSpec({ modelId: 'm', modelVersion: '1', dims: 8, quantization: 'int8' }));
  t.throws(() => checkSpec({ modelId: '', modelVersion: '1', dims: 8 }), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => checkSpec({ modelId: 'm', modelVersion: '', dims: 8 }), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => checkSpec({ modelId: 'm', modelVersion: '1', dims: 8.5 }), { code: 'LOUPE_ERR_VALIDATION', message: /8\.5/ });
  t.throws(() => checkSpec({ modelId: 'm', modelVersion: '1', dims: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => checkSpec({ modelId: 'm', modelVersion: '1', dims: 8, quantization: 'pq' as never }), { code: 'LOUPE_ERR_VALIDATION', message: /pq/ });
});

t.test('requests: query, count and scroll bodies; checks before anything is sent', async (t) => {
  const target = { name: 'loupe__m__1', dims: 3, quantized: false };
  const q = Float32Array.of(0.6, 0.8, 0);
  t.strictSame(queryRequest(q, undefined, target), { query: [0.6000000238418579, 0.800000011920929, 0], limit: 10, with_payload: true, with_vector: false });
  t.strictSame(queryRequest(q, { limit: 5, offset: 20, minScore: 0.5, filter: { rights: CC0 }, excludeIds: [CANVAS_1] }, { ...target, quantized: true }), {
    query: [0.6000000238418579, 0.800000011920929, 0],
    limit: 5,
    with_payload: true,
    with_vector: false,
    offset: 20,
    filter: { must: [{ key: 'rights', match: { value: CC0 } }], must_not: [{ has_id: [CANVAS_1_UUID] }] },
    score_threshold: 0.5,
    params: { quantization: { rescore: true } },
  });
  t.equal(queryRequest(q, { filter: { manifestId: [] } }, target), null);
  t.throws(() => queryRequest(Float32Array.of(1, 0), undefined, target), { code: 'LOUPE_ERR_VALIDATION', message: /has 2 dimensions; Qdrant collection loupe__m__1 holds 3-dimensional/ });
  t.throws(() => queryRequest(Float32Array.of(1, Number.NaN, 0), undefined, target), { code: 'LOUPE_ERR_VALIDATION', message: /finite/ });
  t.throws(() => queryRequest(q, { limit: 0 }, target), { code: 'LOUPE_ERR_VALIDATION', message: /limit/ });
  t.throws(() => queryRequest(q, { limit: 1001 }, target), { code: 'LOUPE_ERR_VALIDATION', message: /limit/ });
  t.throws(() => queryRequest(q, { limit: 1000, offset: 9001 }, target), { code: 'LOUPE_ERR_VALIDATION', message: /10000/ });
  t.throws(() => queryRequest(q, { offset: -1 }, target), { code: 'LOUPE_ERR_VALIDATION', message: /offset/ });
  t.throws(() => queryRequest(q, { minScore: Number.NaN }, target), { code: 'LOUPE_ERR_VALIDATION', message: /minScore/ });

  t.strictSame(countRequest(), { exact: true });
  t.strictSame(countRequest({ manifestId: MANIFEST }), { filter: { must: [{ key: 'manifestId', match: { value: MANIFEST } }] }, exact: true });
  t.equal(countRequest({ concept: [] }), null);

  t.strictSame(scrollRequest(undefined), { limit: 256, with_payload: true, with_vector: true });
  t.strictSame(scrollRequest({ batch: 10, filter: { manifestId: MANIFEST } }, CANVAS_1_UUID), {
    limit: 10,
    with_payload: true,
    with_vector: true,
    filter: { must: [{ key: 'manifestId', match: { value: MANIFEST } }] },
    offset: CANVAS_1_UUID,
  });
  t.equal(scrollRequest({ filter: { rights: [] } }), null);
  t.throws(() => scrollRequest({ batch: 0 }), { code: 'LOUPE_ERR_VALIDATION', message: /batch/ });

  const points: VectorPoint[] = Array.from({ length: 600 }, (_, i) => ({ id: `c/${i}#0`, vector: Float32Array.of(1, 0, 0), payload: { canvasId: `c/${i}`, imageIndex: 0, manifestId: 'm' } }));
  const batches = upsertBatches(points, target);
  t.same(batches.map((b) => b.length), [256, 256, 88]);
  t.equal(batches[2]![87]!.id, qdrantPointId('c/599#0'));
  t.strictSame(upsertBatches([], target), []);
  const bad = [...points.slice(0, 300), { ...points[300]!, vector: Float32Array.of(1, 0, 0, 0) }];
  t.throws(() => upsertBatches(bad, target), { code: 'LOUPE_ERR_VALIDATION', message: /Point c\/300#0 has 4 dimensions.*3-dimensional/ }, 'one bad point refuses the whole call');
  t.throws(() => upsertBatches([{ ...points[0]!, id: '' }], target), { code: 'LOUPE_ERR_VALIDATION', message: /id/ });
});

t.test('errors: the server, the operation, and a code a queue can act on', async (t) => {
  t.equal(codeForStatus(400), 'LOUPE_ERR_VALIDATION');
  t.equal(codeForStatus(422), 'LOUPE_ERR_VALIDATION');
  t.equal(codeForStatus(413), 'LOUPE_ERR_VALIDATION');
  t.equal(codeForStatus(401), 'LOUPE_ERR_CONFIG_INVALID');
  t.equal(codeForStatus(403), 'LOUPE_ERR_CONFIG_INVALID');
  t.equal(codeForStatus(404), 'LOUPE_ERR_NOT_FOUND');
  t.equal(codeForStatus(409), 'LOUPE_ERR_STORE');
  t.equal(codeForStatus(429), 'LOUPE_ERR_STORE');
  t.equal(codeForStatus(500), 'LOUPE_ERR_STORE');
  t.equal(codeForStatus(503), 'LOUPE_ERR_STORE');

  t.equal(safeUrl('https://user:secret@qdrant.example.org:6333/base/?x=1'), 'https://qdrant.example.org:6333/base/');
  t.equal(safeUrl('http://localhost:6333'), 'http://localhost:6333');

  const ctx = { url: 'http://localhost:6333', operation: 'upsert', collection: 'loupe__m__1', timeoutMs: 30_000 };
  // The shape the client's HTTP layer throws for a refused request: status, statusText, Qdrant's JSON body.
  const refused = Object.assign(new Error('Bad Request'), { status: 400, statusText: 'Bad Request', data: { status: { error: 'Wrong input: Vector dimension error: expected dim: 8, got 16' }, time: 0 } });
  const e400 = qdrantError(refused, ctx);
  t.equal(e400.code, 'LOUPE_ERR_VALIDATION');
  t.equal(e400.retryable, false);
  t.equal(e400.message, 'Qdrant at http://localhost:6333 refused upsert on collection loupe__m__1: HTTP 400: Wrong input: Vector dimension error: expected dim: 8, got 16');
  t.same(e400.details, { url: 'http://localhost:6333', operation: 'upsert', collection: 'loupe__m__1', status: 400 });
  const e503 = qdrantError(Object.assign(new Error('Service Unavailable'), { status: 503, data: 'overloaded' }), ctx);
  t.equal(e503.code, 'LOUPE_ERR_STORE');
  t.equal(e503.retryable, true);
  t.match(e503.message, /HTTP 503: overloaded/);
  const timeout = qdrantError(new QdrantClientTimeoutError('This operation was aborted'), ctx);
  t.equal(timeout.code, 'LOUPE_ERR_STORE');
  t.equal(timeout.message, 'Qdrant at http://localhost:6333 did not answer upsert on collection loupe__m__1 within 30000 ms');
  const limited = qdrantError(new QdrantClientResourceExhaustedError('Too Many Requests', '2'), ctx);
  t.equal(limited.code, 'LOUPE_ERR_STORE');
  t.equal(limited.details?.status, 429);
  const own = new LoupeError('LOUPE_ERR_VALIDATION', 'mine');
  t.equal(qdrantError(own, ctx), own, 'a LoupeError passes through');
});

t.test('opening: bad options are refused before any request; an unreachable server is LOUPE_ERR_STORE', async (t) => {
  await t.rejects(openQdrantVectorStore({ url: 'not a url' }), { code: 'LOUPE_ERR_CONFIG_INVALID' });
  await t.rejects(openQdrantVectorStore({ url: 'ftp://localhost:6333' }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /http or https/ });
  await t.rejects(openQdrantVectorStore({ url: 'http://localhost:6333', collectionPrefix: 'a__b' }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /prefix/ });
  await t.rejects(openQdrantVectorStore({ url: 'http://localhost:6333', timeoutMs: 0 }), { code: 'LOUPE_ERR_CONFIG_INVALID', message: /timeoutMs/ });

  // A real refused connection: a port that was just free and is closed again.
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const err = await openQdrantVectorStore({ url, timeoutMs: 5_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof LoupeError, 'a LoupeError');
  const e = err as LoupeError;
  t.equal(e.code, 'LOUPE_ERR_STORE');
  t.equal(e.retryable, true);
  t.match(e.message, new RegExp(`^Qdrant at http://127\\.0\\.0\\.1:${port} cannot be reached \\(ECONNREFUSED\\) for (list collections|read the server version)$`));
  t.match(e.details, { url, network: 'ECONNREFUSED' });
});

/**
 * A stand-in for the few Qdrant endpoints that opening a store and a collection touch, on a real
 * HTTP server, recording every request: it shows how many round trips the adapter makes, not what
 * Qdrant does (the contract suite below checks that against a real server).
 */
async function qdrantStandIn(): Promise<{ url: string; requests: string[]; drop(name: string): void; close(): Promise<void> }> {
  const collections = new Map<string, { size: number; indexes: Set<string> }>();
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const ok = (result: unknown) => answer(200, { result, status: 'ok', time: 0 });
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (path === '/') return answer(200, { title: 'qdrant - vector search engine', version: '1.12.0' });
      if (path === '/collections') return ok({ collections: [...collections.keys()].map((name) => ({ name })) });
      const [, name, rest] = /^\/collections\/([^/]+)(\/.*)?$/.exec(path) ?? [];
      const col = name === undefined ? undefined : collections.get(name);
      if (name !== undefined && req.method === 'PUT' && rest === undefined) {
        collections.set(name, { size: (body['vectors'] as { size: number }).size, indexes: new Set() });
        return ok(true);
      }
      if (!col) return answer(404, { status: { error: `Not found: Collection \`${name}\` doesn't exist!` }, time: 0 });
      if (req.method === 'GET' && rest === undefined) {
        const payload_schema = Object.fromEntries([...col.indexes].map((f) => [f, { data_type: 'keyword', points: 0 }]));
        return ok({ status: 'green', config: { params: { vectors: { size: col.size, distance: 'Cosine' } }, quantization_config: null }, payload_schema });
      }
      if (req.method === 'PUT' && rest === '/index') {
        col.indexes.add(body['field_name'] as string);
        return ok({ operation_id: 1, status: 'completed' });
      }
      if (req.method === 'POST' && rest === '/points/count') return ok({ count: 0 });
      return answer(400, { status: { error: `the stand-in does not answer ${req.method} ${path}` }, time: 0 });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    drop: (name) => void collections.delete(name),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

t.test('collection handles are kept: a round trip on the first ask only; a collection gone from the server is made again', async (t) => {
  const qdrant = await qdrantStandIn();
  t.teardown(() => qdrant.close());
  const store = await openQdrantVectorStore({ url: qdrant.url });
  const spec = { modelId: 'mobilenet-v2-features', modelVersion: '4.2.1', dims: 4 };
  const name = 'loupe__mobilenet-v2-features__4_2e2_2e1';

  qdrant.requests.length = 0;
  const [first, second] = await Promise.all([store.collection(spec), store.collection(spec)]);
  t.equal(first, second, 'two asks at once share one opening');
  t.strictSame(qdrant.requests, [
    `GET /collections/${name}`,
    `PUT /collections/${name}`,
    `GET /collections/${name}`,
    ...PAYLOAD_INDEXES.map(() => `PUT /collections/${name}/index`),
  ]);

  qdrant.requests.length = 0;
  for (let i = 0; i < 3; i++) t.equal(await store.collection(spec), first, 'the kept handle');
  await t.rejects(store.collection({ ...spec, dims: 8 }), { code: 'LOUPE_ERR_VALIDATION', message: /has 4-dimensional vectors .* not 8/ });
  t.strictSame(qdrant.requests, [], 'no request for a collection already open');
  t.equal(await first.count(), 0);

  qdrant.drop(name);
  await t.rejects(first.count(), { code: 'LOUPE_ERR_NOT_FOUND', message: new RegExp(name) }, 'a collection deleted under the handle');
  qdrant.requests.length = 0;
  const again = await store.collection(spec);
  t.not(again, first, 'a new handle');
  t.ok(qdrant.requests.includes(`PUT /collections/${name}`), 'the collection is made again');
  t.equal(await again.count(), 0);

  await store.close();
  await t.rejects(store.collection(spec), { code: 'LOUPE_ERR_STORE', message: /closed/ });
});

// ---------------------------------------------------------------------------------------------
// Against a real Qdrant, when there is one.

const QDRANT_URL = process.env.LOUPE_QDRANT_URL;
const QDRANT_API_KEY = process.env.LOUPE_QDRANT_API_KEY || undefined;
const SKIP = "LOUPE_QDRANT_URL is not set: the Qdrant adapter's contract tests need a running Qdrant (docker run -p 6333:6333 qdrant/qdrant)";

/** A client of the test's own, to look at and clean up what the adapter made. */
function adminClient(url: string): QdrantClient {
  const u = new URL(url);
  const prefix = u.pathname.replace(/\/+$/, '');
  return new QdrantClient({ url: u.origin, port: null, ...(prefix && { prefix }), ...(QDRANT_API_KEY && { apiKey: QDRANT_API_KEY }), checkCompatibility: false });
}

if (QDRANT_URL) {
  const url = QDRANT_URL;
  const admin = adminClient(url);
  // Unique per run and per open, so every open() sees an empty store and runs never meet.
  const run = `loupe-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  let opened = 0;
  const prefixes = new WeakMap<VectorStore, string>();
  const open = async (prefix = `${run}-${++opened}`): Promise<VectorStore> => {
    const store = await openQdrantVectorStore({ url, ...(QDRANT_API_KEY && { apiKey: QDRANT_API_KEY }), collectionPrefix: prefix });
    prefixes.set(store, prefix);
    return store;
  };

  // close() keeps the data (it is a server's), so the test removes what it made itself.
  t.teardown(async () => {
    const { collections } = await admin.getCollections();
    await Promise.all(collections.filter((c) => c.name.startsWith(`${run}-`)).map((c) => admin.deleteCollection(c.name)));
  });

  vectorStoreContract(t, 'qdrant', () => open(), {
    reopen: async (store) => {
      const prefix = prefixes.get(store)!;
      await store.close();
      return open(prefix);
    },
  });

  t.test('qdrant: what lands on the server', async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    const prefix = prefixes.get(store)!;
    const col = await store.collection({ modelId: 'mobilenet-v2-features', modelVersion: '4.2.1', dims: 4 });
    const name = `${prefix}__mobilenet-v2-features__4_2e2_2e1`;
    const info = await admin.getCollection(name);
    t.match(info.config.params.vectors, { size: 4, distance: 'Cosine' });
    t.strictSame(Object.keys(info.payload_schema).sort(), ['collections', 'concepts', 'manifestId', 'rights']);
    t.ok(Object.values(info.payload_schema).every((i) => i?.data_type === 'keyword'), 'keyword indexes');

    await col.upsert([{ id: CANVAS_1, vector: Float32Array.of(0.6, 0.8, 0, 0), payload }]);
    const [record] = await admin.retrieve(name, { ids: [CANVAS_1_UUID], with_payload: true, with_vector: true });
    t.ok(record, 'the point is under its UUID');
    t.strictSame(record!.payload, encodePayload(CANVAS_1, payload), 'the payload as encoded');

    await t.rejects(col.upsert([{ id: 'x#0', vector: Float32Array.of(1, 0, 0), payload }]), { code: 'LOUPE_ERR_VALIDATION' });
    await admin.deleteCollection(name);
    await t.rejects(col.count(), { code: 'LOUPE_ERR_NOT_FOUND', message: new RegExp(name) }, 'a collection deleted under the handle');
    await store.close();
    await t.rejects(store.collections(), { code: 'LOUPE_ERR_STORE', message: /closed/ });
  });

  t.test('qdrant: int8 quantisation keeps exact cosine scores', async (t: Test) => {
    const store = await open();
    t.teardown(() => store.close());
    const col = await store.collection({ modelId: 'clip-vit-b32-image', modelVersion: '1', dims: 8, quantization: 'int8' });
    t.equal(col.spec.quantization, 'int8');
    const points: VectorPoint[] = Array.from({ length: 50 }, (_, i) => {
      const v = Float32Array.from({ length: 8 }, (_, j) => Math.sin(i * 8 + j + 1));
      const n = Math.hypot(...v);
      return { id: `c/${i}#0`, vector: v.map((x) => x / n), payload: { canvasId: `c/${i}`, imageIndex: 0, manifestId: 'm' } };
    });
    await col.upsert(points);
    const q = points[3]!.vector;
    const hits = await col.search(q, { limit: 5 });
    t.equal(hits[0]!.id, 'c/3#0');
    for (const h of hits) {
      const p = points.find((x) => x.id === h.id)!;
      const cosine = p.vector.reduce((s, v, i) => s + v * q[i]!, 0);
      t.ok(Math.abs(h.score - cosine) < 1e-4, `${h.id}: ${h.score} is the cosine ${cosine}`);
    }
    const again = await store.collection({ modelId: 'clip-vit-b32-image', modelVersion: '1', dims: 8 });
    t.equal(again.spec.quantization, 'int8', 'the collection keeps the quantisation it was made with');
    t.same(await store.collections(), [{ modelId: 'clip-vit-b32-image', modelVersion: '1', dims: 8, quantization: 'int8' }]);
  });
} else if (process.env.LOUPE_REQUIRE_QDRANT === '1') {
  t.fail(`Qdrant is required (LOUPE_REQUIRE_QDRANT=1): ${SKIP}`);
} else {
  process.stderr.write(`*** Qdrant contract tests SKIPPED: ${SKIP} ***\n`);
  t.test('VectorStore contract: qdrant', { skip: SKIP }, async () => {});
}
