import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { embeddingStoreContract } from './embedding-store.contract.js';
import { openSqliteEmbeddingStore } from './sqlite.embedding-store.js';

const dir = mkdtempSync(join(tmpdir(), 'loupe-embeddings-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

embeddingStoreContract(t, 'sqlite :memory:', async () => openSqliteEmbeddingStore({ path: ':memory:' }));
embeddingStoreContract(t, 'sqlite file', async () => openSqliteEmbeddingStore({ path: join(dir, `contract-${files++}.db`) }));

t.test('vectors survive reopening the file', async (t) => {
  const path = join(dir, 'reopen.db');
  const first = openSqliteEmbeddingStore({ path });
  const vector = Float32Array.from({ length: 1280 }, (_, i) => Math.sin(i) / 25);
  await first.put({ manifestId: 'm', canvasId: 'c', imageIndex: 0, modelId: 'x', modelVersion: '1', vector, phash: '00ff00ff00ff00ff' });
  await first.close();
  const second = openSqliteEmbeddingStore({ path });
  t.teardown(() => second.close());
  const got = await second.get({ canvasId: 'c', imageIndex: 0, modelId: 'x' });
  t.same(Array.from(got!.vector), Array.from(vector));
});
