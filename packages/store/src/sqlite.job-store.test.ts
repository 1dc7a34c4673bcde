import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { jobStoreContract } from './job-store.contract.js';
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
