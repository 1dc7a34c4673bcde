import type { Annotation } from '@loupe/contracts';
import type { SqliteDatabase } from '../sqlite.database.js';
import { localAnnotation, localAnnotationId } from '../public-url.annotation-store.js';

const localBody = (json: string): string => JSON.stringify(localAnnotation(JSON.parse(json) as Annotation));

/**
 * Schema 7: annotations written before Loupe kept ids without its public URL get their key as id
 * (and their generator a URL-free id), in the row, its revisions and its dataset memberships.
 * Runs inside the migration's transaction. A store served under two URLs may hold one annotation
 * twice: the copy with more revisions (the one curators reviewed) is kept, with both copies'
 * dataset memberships.
 */
export function stripPublicUrls(db: SqliteDatabase): void {
  // A row's id changes before its revisions' and memberships' do: checked at commit instead.
  db.pragma('defer_foreign_keys = ON');
  const urls = db.prepare<[], { id: string }>("SELECT id FROM annotations WHERE id LIKE 'http%'").all();
  const row = db.prepare<[string], { revision: number; body_json: string }>('SELECT revision, body_json FROM annotations WHERE id = ?');
  const revisions = db.prepare<[string], { revision: number; body_json: string }>('SELECT revision, body_json FROM annotation_revisions WHERE annotation_id = ?');
  const renameRow = db.prepare<[string, string, string]>('UPDATE annotations SET id = ?, body_json = ? WHERE id = ?');
  const renameRevision = db.prepare<[string, string, string, number]>(
    'UPDATE annotation_revisions SET annotation_id = ?, body_json = ? WHERE annotation_id = ? AND revision = ?',
  );
  const copyMembers = db.prepare<[string, string]>('INSERT OR IGNORE INTO dataset_members (name, annotation_id) SELECT name, ? FROM dataset_members WHERE annotation_id = ?');
  const dropMembers = db.prepare<[string]>('DELETE FROM dataset_members WHERE annotation_id = ?');
  const drop = db.prepare<[string]>('DELETE FROM annotations WHERE id = ?');

  for (const { id } of urls) {
    const key = localAnnotationId(id);
    if (key === id) continue; // someone else's annotation URL (an import): not Loupe's to change
    const old = row.get(id)!;
    const twin = row.get(key);
    if (twin && twin.revision >= old.revision) {
      copyMembers.run(key, id);
      drop.run(id);
      continue;
    }
    if (twin) {
      copyMembers.run(id, key);
      drop.run(key);
    }
    for (const r of revisions.all(id)) renameRevision.run(key, localBody(r.body_json), id, r.revision);
    copyMembers.run(key, id);
    dropMembers.run(id);
    renameRow.run(key, localBody(old.body_json), id);
  }
}
