import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import Database from 'better-sqlite3';
import type { OcrPage } from '@loupe/contracts';
import { contentSearchContract } from './content-search.contract.js';
import { openSqliteContentSearch } from './sqlite.content-search.js';
import { openSqliteAnnotationStore } from './sqlite.annotation-store.js';
import { MIGRATIONS, applyMigration } from './sqlite.database.js';

const dir = mkdtempSync(join(tmpdir(), 'loupe-search-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

contentSearchContract(t, 'sqlite file', async () => {
  const path = join(dir, `contract-${files++}.db`);
  const store = openSqliteAnnotationStore({ path });
  return { store, search: openSqliteContentSearch({ path }) };
});

t.test('an in-memory store cannot be searched from another connection', async (t) => {
  t.throws(() => openSqliteContentSearch({ path: ':memory:' }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('a store written before the index existed is indexed when it is opened', async (t) => {
  const path = join(dir, 'schema-7.db');
  const old = new Database(path);
  for (const step of MIGRATIONS.slice(0, 7)) applyMigration(old, step);
  old.pragma('user_version = 7');
  const page: OcrPage = {
    width: 1000,
    height: 1000,
    engine: { id: 'tesseract', version: '5' },
    languages: ['fra'],
    blocks: [{ box: { x: 0, y: 0, w: 1000, h: 1000 }, role: 'body', lines: [{ text: 'Vive la République', box: { x: 10, y: 10, w: 300, h: 20 }, confidence: 0.9, words: [] }] }],
  };
  old
    .prepare(
      `INSERT INTO ocr_pages (set_key, manifest_id, canvas_id, image_index, stage, model_id, model_version, generated, page_json)
       VALUES ('k', 'https://e.org/m', 'https://e.org/c1', 0, 'text', 'tesseract', '5', '2025-01-01T00:00:00Z', ?)`,
    )
    .run(JSON.stringify(page));
  const insert = old.prepare(
    `INSERT INTO annotations (id, manifest_id, canvas_id, image_index, stage, model_id, model_version, motivation, review_state, created, body_json, position)
     VALUES (?, 'https://e.org/m', 'https://e.org/c1', 0, 'detect', 'detr', '1', 'tagging', ?, '2025-01-01T00:00:00Z', ?, 0)`,
  );
  const body = (value: string): string => JSON.stringify({ id: value, type: 'Annotation', motivation: 'tagging', body: { type: 'TextualBody', value, purpose: 'tagging' }, target: 'https://e.org/c1' });
  insert.run('a1', 'accepted', body('Drapeau'));
  insert.run('a2', 'rejected', body('Drapeau tricolore'));
  old.close();

  const store = openSqliteAnnotationStore({ path });
  const search = openSqliteContentSearch({ path });
  t.teardown(async () => {
    await search.close();
    await store.close();
  });
  const found = await search.search({ manifestId: 'https://e.org/m', q: 'republique', limit: 10, offset: 0 });
  t.match(found, { total: 1, hits: [{ kind: 'ocr', matched: [], line: { text: 'Vive la République' } }] }, 'a line without words matches as a whole');
  t.match(await search.search({ manifestId: 'https://e.org/m', q: 'drapeau', limit: 10, offset: 0 }), { total: 1, hits: [{ annotationId: 'a1' }] }, 'the rejected one stays out');
});
