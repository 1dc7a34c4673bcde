import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Annotation } from '@loupe/contracts';
import { annotationStoreContract } from './annotation-store.contract.js';
import { annotationId } from './annotation-id.js';
import { openSqliteAnnotationStore } from './sqlite.annotation-store.js';
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
  const { default: Database } = await import('better-sqlite3');
  const path = join(dir, 'future.db');
  const db = new Database(path);
  db.pragma('user_version = 999');
  db.close();
  t.throws(() => openSqliteAnnotationStore({ path }), { code: 'LOUPE_ERR_STORE', details: { schemaVersion: 999 } });
});

t.test('a path that cannot be opened is LOUPE_ERR_STORE', async (t) => {
  t.throws(() => openSqliteAnnotationStore({ path: join(dir, 'shared.db', 'inside-a-file.db') }), { code: 'LOUPE_ERR_STORE' });
});
