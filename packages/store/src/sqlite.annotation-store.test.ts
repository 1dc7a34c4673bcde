import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Annotation } from '@loupe/contracts';
import Database from 'better-sqlite3';
import { annotationStoreContract } from './annotation-store.contract.js';
import { indexedBody } from './annotation-checks.js';
import { annotationId } from './annotation-id.js';
import { openSqliteAnnotationStore } from './sqlite.annotation-store.js';
import { MIGRATIONS, SCHEMA_VERSION, applyMigration } from './sqlite.database.js';
import { openSqliteJobStore } from './sqlite.job-store.js';
import type { ResultSetKey } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'loupe-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

annotationStoreContract(t, 'sqlite :memory:', async () => openSqliteAnnotationStore({ path: ':memory:' }));
annotationStoreContract(t, 'sqlite file', async () => openSqliteAnnotationStore({ path: join(dir, `contract-${files++}.db`) }));

const key: ResultSetKey = { manifestId: 'https://example.org/m', canvasId: 'https://example.org/c/1', imageIndex: 0, stage: 'classify', modelId: 'clip' };
const cat: Annotation = {
  id: `https://loupe.example/v1/annotations/${annotationId(key, { motivation: 'tagging', target: key.canvasId, bodyText: 'cat' }, 0)}`,
  type: 'Annotation',
  motivation: 'tagging',
  body: { type: 'TextualBody', value: 'cat' },
  target: key.canvasId,
  created: '2025-01-01T00:00:00Z',
  generated: '2025-01-01T00:00:00Z',
  'loupe:confidence': 0.5,
};

t.test('a file keeps annotations and reviews across reopening', async (t) => {
  const path = join(dir, 'nested', 'folder', 'loupe.db');
  const first = openSqliteAnnotationStore({ path });
  await first.replaceResultSet(key, '1', [cat]);
  const reviewed = await first.setReviewState(cat.id, 'accepted', 'curator');
  await first.close();

  const second = openSqliteAnnotationStore({ path });
  t.teardown(() => second.close());
  t.same(await second.get(cat.id), reviewed);
  t.same(await second.replaceResultSet(key, '2', [cat]), { inserted: 0, kept: 1, removed: 0 });
  t.equal((await second.get(cat.id))?.['loupe:reviewState'], 'accepted');
});

t.test('the annotation store and the job store share one file', async (t) => {
  const path = join(dir, 'shared.db');
  const annotations = openSqliteAnnotationStore({ path });
  const jobs = openSqliteJobStore({ path });
  await Promise.all([
    annotations.replaceResultSet(key, '1', [cat]),
    jobs.create({ id: 'job-1', source: 'https://example.org/m', stages: ['classify'] }),
  ]);
  await annotations.close();
  await jobs.close();

  const [again, jobsAgain] = [openSqliteAnnotationStore({ path }), openSqliteJobStore({ path })];
  t.teardown(() => Promise.all([again.close(), jobsAgain.close()]));
  t.equal(await again.count({}), 1);
  t.equal((await jobsAgain.get('job-1'))?.source, 'https://example.org/m');
});

t.test('a database from a newer Loupe is refused, not damaged', async (t) => {
  const path = join(dir, 'future.db');
  const db = new Database(path);
  db.pragma('user_version = 999');
  db.close();
  t.throws(() => openSqliteAnnotationStore({ path }), { code: 'LOUPE_ERR_STORE', details: { schemaVersion: 999 } });
});

t.test('a path that cannot be opened is LOUPE_ERR_STORE', async (t) => {
  t.throws(() => openSqliteAnnotationStore({ path: join(dir, 'shared.db', 'inside-a-file.db') }), { code: 'LOUPE_ERR_STORE' });
});

t.test('a schema 2 database gains concept, label and revisions without losing a review', async (t) => {
  const path = join(dir, 'schema-2.db');
  const old = new Database(path);
  applyMigration(old, MIGRATIONS[0]!);
  applyMigration(old, MIGRATIONS[1]!);
  old.pragma('user_version = 2');
  // The insert schema 2's store made: the annotation without review fields in body_json.
  const insert = old.prepare(
    `INSERT INTO annotations (id, manifest_id, canvas_id, image_index, stage, model_id, model_version, motivation, confidence,
                              review_state, reviewer, reviewed_at, created, generated, body_json, set_key, position)
     VALUES (@id, @manifestId, @canvasId, 0, 'detect', 'detr', '1', @motivation, @confidence,
             @reviewState, @reviewer, @reviewedAt, @created, @generated, @body, @setKey, @position)`,
  );
  const CAT = 'https://vocab.example.org/concept/cat';
  const base = { type: 'Annotation' as const, target: key.canvasId, created: '2025-01-01T00:00:00Z', generated: '2025-01-02T00:00:00Z' };
  const rows: Annotation[] = [
    {
      ...base,
      id: 'detected',
      motivation: 'tagging',
      body: [
        { type: 'TextualBody', value: 'cat', purpose: 'tagging', language: 'en' },
        { type: 'SpecificResource', source: CAT, purpose: 'identifying' },
      ],
      'loupe:confidence': 0.9,
    },
    { ...base, id: 'classified', motivation: 'classifying', body: { type: 'TextualBody', value: 'dog', purpose: 'classifying' } },
    { ...base, id: 'concept-only', motivation: 'classifying', body: { type: 'SpecificResource', source: 'https://vocab.example.org/concept/owl' } },
    { ...base, id: 'ocr', motivation: 'supplementing', body: { type: 'TextualBody', value: 'cat', format: 'text/plain' } },
    {
      ...base,
      id: 'odd',
      motivation: ['describing', 'tagging'],
      body: ['plain text', { type: 'TextualBody', value: 'a cat on a mat', purpose: 'describing' }, { type: 'TextualBody', value: 'mat', purpose: 'identifying' }],
    } as unknown as Annotation,
    { ...base, id: 'reviewed', motivation: 'tagging', body: { type: 'TextualBody', value: 'fish', purpose: 'tagging' } },
  ];
  rows.forEach((a, position) =>
    insert.run({
      id: a.id,
      manifestId: key.manifestId,
      canvasId: key.canvasId,
      motivation: Array.isArray(a.motivation) ? JSON.stringify(a.motivation) : a.motivation,
      confidence: a['loupe:confidence'] ?? null,
      reviewState: a.id === 'reviewed' ? 'accepted' : 'unreviewed',
      reviewer: a.id === 'reviewed' ? 'ann' : null,
      reviewedAt: a.id === 'reviewed' ? '2025-01-03T00:00:00Z' : null,
      created: a.created,
      generated: a.generated,
      body: JSON.stringify(a),
      setKey: 'old-set',
      position,
    }),
  );
  old.close();

  const store = openSqliteAnnotationStore({ path });
  t.teardown(() => store.close());
  const found = async (concept: string): Promise<string[]> => (await store.query({ concept })).map((a) => a.id);
  t.same(await found(CAT), ['detected'], 'the concept of a body list');
  t.same(await found('cat'), ['detected'], 'a label, not the OCR line that reads the same');
  t.same(await found('dog'), ['classified'], 'the label of a single body');
  t.same(await found('https://vocab.example.org/concept/owl'), ['concept-only']);
  t.same(await found('mat'), ['odd'], 'a body list with a string and a description in it');
  t.same(await found('a cat on a mat'), [], 'a description is not a label');

  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const backfilled = check.prepare<[], { id: string; concept: string | null; label: string | null; body_json: string }>(
    'SELECT id, concept, label, body_json FROM annotations ORDER BY position',
  ).all();
  t.same(
    backfilled.map((r) => ({ id: r.id, concept: r.concept, label: r.label })),
    backfilled.map((r) => ({ id: r.id, ...indexedBody((JSON.parse(r.body_json) as Annotation).body) })),
    'the SQL backfill computes what the store computes on write',
  );

  const [detected] = await store.query({ ids: ['detected'] });
  t.same(await store.history('detected'), [
    { revision: 0, state: 'unreviewed', reviewer: null, at: '2025-01-02T00:00:00Z', annotation: { ...rows[0], 'loupe:reviewState': 'unreviewed', 'loupe:revision': 0 } },
  ]);
  t.same(detected, (await store.history('detected'))[0]!.annotation);
  t.match(await store.history('reviewed'), [{ revision: 0, state: 'accepted', reviewer: 'ann', at: '2025-01-03T00:00:00Z' }], 'a review made under schema 2 is revision 0');
  t.match(await store.get('reviewed'), { 'loupe:reviewState': 'accepted', 'loupe:revision': 0, modified: '2025-01-03T00:00:00Z' });

  const corrected = await store.review('detected', {
    state: 'corrected',
    reviewer: 'bob',
    correction: { body: { type: 'TextualBody', value: 'lynx', purpose: 'tagging' } },
  });
  t.match(corrected, { 'loupe:revision': 1, body: { value: 'lynx' } });
  t.same(await found('lynx'), ['detected']);
  t.same((await store.query({ ids: ['detected'], original: true }))[0]?.body, rows[0]!.body);
  t.same((await store.history('detected')).map((r) => r.revision), [0, 1]);
});

t.test('reopening a migrated file applies nothing twice', async (t) => {
  const path = join(dir, 'twice.db');
  const first = openSqliteAnnotationStore({ path });
  await first.createDataset({ name: 'kept' });
  await first.close();
  const second = openSqliteAnnotationStore({ path });
  t.teardown(() => second.close());
  t.match(await second.listDatasets(), [{ name: 'kept' }]);
});

t.test('a schema 6 database keeps its annotations under their keys, without the public URL', async (t) => {
  const path = join(dir, 'schema-6.db');
  const old = new Database(path);
  for (const step of MIGRATIONS.slice(0, 6)) applyMigration(old, step);
  old.pragma('user_version = 6');
  const insert = old.prepare(
    `INSERT INTO annotations (id, manifest_id, canvas_id, image_index, stage, model_id, model_version, motivation, review_state,
                              reviewer, reviewed_at, created, generated, body_json, set_key, position, revision)
     VALUES (@id, 'https://example.org/m', 'https://example.org/c/1', 0, 'classify', 'clip', '1', 'tagging', @state,
             @reviewer, @at, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', @body, 'set', @position, @revision)`,
  );
  const made = (base: string, id: string, value: string): Annotation => ({
    id: `${base}/v1/annotations/${id}`,
    type: 'Annotation',
    motivation: 'tagging',
    body: { type: 'TextualBody', value, purpose: 'tagging' },
    target: 'https://example.org/c/1',
    generator: { id: `${base}/v1/models/clip/1`, type: 'Software', name: 'clip 1', 'loupe:model': 'clip', 'loupe:version': '1' },
  });
  const row = (a: Annotation, position: number, reviewed = false) =>
    insert.run({ id: a.id, state: reviewed ? 'accepted' : 'unreviewed', reviewer: reviewed ? 'ann' : null, at: reviewed ? '2025-01-02T00:00:00Z' : null, body: JSON.stringify(a), position, revision: reviewed ? 1 : 0 });
  const run = made('http://localhost:8080', 'k1', 'cat');
  const served = made('https://loupe.example.org/prefix', 'k1', 'cat');
  const other = made('http://localhost:8080', 'k2', 'dog');
  const imported = { ...made('', 'x', 'owl'), id: 'urn:uuid:0d4a7f43-5d37-4b0b-8f1f-1a8a4a0f7a11' };
  row(run, 0);
  row(served, 1, true); // the same annotation, written again under another URL and reviewed there
  row(other, 2);
  row(imported, 3);
  const revision = old.prepare('INSERT INTO annotation_revisions (annotation_id, revision, state, reviewer, at, body_json) VALUES (?, ?, ?, ?, ?, ?)');
  revision.run(served.id, 0, 'unreviewed', null, '2025-01-01T00:00:00Z', JSON.stringify(served));
  revision.run(served.id, 1, 'accepted', 'ann', '2025-01-02T00:00:00Z', JSON.stringify(served));
  old.prepare("INSERT INTO datasets (name, created) VALUES ('set-a', '2025-01-01T00:00:00Z'), ('set-b', '2025-01-01T00:00:00Z')").run();
  old.prepare('INSERT INTO dataset_members (name, annotation_id) VALUES (?, ?)').run('set-a', run.id);
  old.prepare('INSERT INTO dataset_members (name, annotation_id) VALUES (?, ?)').run('set-b', other.id);
  old.close();

  const store = openSqliteAnnotationStore({ path });
  t.teardown(() => store.close());
  t.same((await store.query({})).map((a) => a.id), ['k1', 'k2', imported.id], 'keys; one copy of the annotation served twice; an id not Loupe\'s kept');
  t.match(await store.get('k1'), { 'loupe:reviewState': 'accepted', 'loupe:revision': 1, generator: { id: '/v1/models/clip/1' } }, 'the reviewed copy kept');
  t.same((await store.history('k1')).map((r) => [r.revision, r.annotation.id, r.annotation.generator?.id]), [
    [0, 'k1', '/v1/models/clip/1'],
    [1, 'k1', '/v1/models/clip/1'],
  ]);
  t.same((await store.query({ dataset: 'set-a' })).map((a) => a.id), ['k1'], "the dropped copy's membership moved to the kept one");
  t.same((await store.query({ dataset: 'set-b' })).map((a) => a.id), ['k2']);
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.same(check.pragma('foreign_key_check'), [], 'no revision or membership left pointing at an old id');
});
