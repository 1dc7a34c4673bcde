import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { jobStoreContract } from './job-store.contract.js';
import { applyMigration, integrityCheck, MIGRATIONS } from './sqlite.database.js';
import { openSqliteJobStore } from './sqlite.job-store.js';

const dir = mkdtempSync(join(tmpdir(), 'loupe-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

jobStoreContract(t, 'sqlite :memory:', async () => openSqliteJobStore({ path: ':memory:' }));
jobStoreContract(t, 'sqlite file', async () => openSqliteJobStore({ path: join(dir, `contract-${files++}.db`) }));

t.test('a file keeps jobs and their progress across reopening', async (t) => {
  const path = join(dir, 'jobs.db');
  const first = openSqliteJobStore({ path });
  await first.create({ id: 'job-1', source: 'https://example.org/m', stages: ['classify'] });
  await first.addTasks('job-1', [{ key: 'c1#0', canvasId: 'https://example.org/c/1', canvasIndex: 0, imageIndex: 0 }]);
  await first.setState('job-1', 'running');
  await first.stageDone('job-1', 'c1#0', 'classify', 12);
  await first.taskDone('job-1', 'c1#0');
  const before = await first.get('job-1');
  await first.close();

  const second = openSqliteJobStore({ path });
  t.teardown(() => second.close());
  t.same(await second.get('job-1'), before);
  t.match(before, { state: 'done', tasks: { total: 1, done: 1, failed: 0 }, stages: { classify: { done: 1, ms: 12 } } });
});

/** A database file as an earlier Loupe left it: schema `version`, with job 'old' in `state`. */
function oldDatabase(version: number, state: string): { path: string; old: Database.Database } {
  const path = join(dir, `schema-${version}.db`);
  const old = new Database(path);
  for (const step of MIGRATIONS.slice(0, version)) applyMigration(old, step);
  old.pragma(`user_version = ${version}`);
  old.prepare(`INSERT INTO jobs (id, source, state, created, stages_json) VALUES ('old', 'https://example.org/m', ?, '2025-01-01T00:00:00Z', '["store"]')`).run(state);
  return { path, old };
}

t.test('a running job from schema 3 is listed as unfinished, without what a restart needs', async (t) => {
  const { path, old } = oldDatabase(3, 'running');
  old.prepare(`INSERT INTO job_tasks (job_id, key, canvas_id, canvas_index, image_index) VALUES ('old', 'c1#0', 'https://example.org/c/1', 0, 0)`).run();
  old.close();

  const store = openSqliteJobStore({ path });
  t.teardown(() => store.close());
  t.same(await store.unfinished(), [{ id: 'old', source: 'https://example.org/m', state: 'running', tasks: { total: 1, done: 0, failed: 0 } }]);
  const open = [];
  for await (const task of store.openTasks('old')) open.push(task);
  t.same(open, [{ key: 'c1#0' }]);
  t.same(integrityCheck(path), ['ok']);
});

t.test('a manifest harvested by schema 4 has no kept JSON: the job reads its source again', async (t) => {
  const { path, old } = oldDatabase(4, 'done');
  old.prepare(`INSERT INTO job_manifests (job_id, manifest_id) VALUES ('old', 'https://example.org/m')`).run();
  old.close();

  const store = openSqliteJobStore({ path });
  t.teardown(() => store.close());
  t.same((await store.get('old'))?.manifests, ['https://example.org/m']);
  t.equal(await store.keptManifest('old', 'https://example.org/m'), undefined);
  t.same(integrityCheck(path), ['ok']);
});

t.test('an exclusive store holds its file until it is closed', async (t) => {
  const path = join(dir, 'exclusive.db');
  const holder = openSqliteJobStore({ path, exclusive: true });
  await holder.create({ id: 'job-1', source: 'https://example.org/m', stages: ['store'] });
  t.throws(() => openSqliteJobStore({ path, exclusive: true }), { code: 'LOUPE_ERR_STORE', details: { inUse: true } }, 'a second exclusive open is refused at once');
  await holder.close();
  const next = openSqliteJobStore({ path, exclusive: true });
  t.teardown(() => next.close());
  t.equal((await next.get('job-1'))?.source, 'https://example.org/m', 'once closed, the next holder reads what was written');
});

t.test('integrityCheck: ok for a sound file, LOUPE_ERR_STORE for a missing one', async (t) => {
  const path = join(dir, 'sound.db');
  const store = openSqliteJobStore({ path });
  await store.create({ id: 'job-1', source: 'https://example.org/m', stages: ['store'] });
  t.same(integrityCheck(path), ['ok'], 'readable while the store has it open');
  await store.close();
  t.throws(() => integrityCheck(join(dir, 'missing.db')), { code: 'LOUPE_ERR_STORE' });
});
