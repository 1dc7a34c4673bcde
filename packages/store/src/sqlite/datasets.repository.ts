import { LoupeError } from '@loupe/contracts';
import { checkDatasetName, checkDescription, checkUris } from '../annotation-checks.js';
import { nowIso, type SqliteDatabase } from '../sqlite.database.js';
import type { Dataset } from '../store.js';

/** Datasets with their sources and members. Members are annotation ids, so adding them checks the annotations. */
export class SqliteDatasetsRepository {
  readonly #db: SqliteDatabase;
  readonly #stmt;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#stmt = {
      createDataset: db.prepare<[string, string | null, string]>(
        `INSERT INTO datasets (name, description, created) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET description = COALESCE(excluded.description, datasets.description)`,
      ),
      getDataset: db.prepare<[string], { name: string; description: string | null; created: string }>(
        'SELECT name, description, created FROM datasets WHERE name = ?',
      ),
      datasetNames: db.prepare<[], { name: string }>('SELECT name FROM datasets ORDER BY name'),
      datasetSources: db.prepare<[string], { source: string }>('SELECT source FROM dataset_sources WHERE name = ? ORDER BY rowid'),
      datasetMemberCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM dataset_members WHERE name = ?'),
      addSource: db.prepare<[string, string]>('INSERT OR IGNORE INTO dataset_sources (name, source) VALUES (?, ?)'),
      exists: db.prepare<[string], { id: string }>('SELECT id FROM annotations WHERE id = ?'),
      addMember: db.prepare<[string, string]>('INSERT OR IGNORE INTO dataset_members (name, annotation_id) VALUES (?, ?)'),
      removeMember: db.prepare<[string, string]>('DELETE FROM dataset_members WHERE name = ? AND annotation_id = ?'),
      deleteDataset: db.prepare<[string]>('DELETE FROM datasets WHERE name = ?'),
    };
  }

  createDataset(input: { readonly name: string; readonly description?: string }): Dataset {
    const name = checkDatasetName(input?.name);
    checkDescription(input.description);
    return this.#db.transaction(() => {
      this.#stmt.createDataset.run(name, input.description ?? null, nowIso());
      return this.#dataset(name)!;
    })();
  }

  getDataset(name: string): Dataset | undefined {
    return this.#dataset(checkDatasetName(name));
  }

  listDatasets(): Dataset[] {
    return this.#db.transaction(() => this.#stmt.datasetNames.all().map((row) => this.#dataset(row.name)!))();
  }

  addDatasetSources(name: string, sources: readonly string[]): { added: number } {
    checkDatasetName(name);
    checkUris('Dataset sources', sources);
    return this.#db.transaction(() => {
      this.requireDataset(name);
      let added = 0;
      for (const source of sources) added += this.#stmt.addSource.run(name, source).changes;
      return { added };
    })();
  }

  addDatasetMembers(name: string, annotationIds: readonly string[]): { added: number } {
    checkDatasetName(name);
    checkUris('Annotation ids', annotationIds);
    return this.#db.transaction(() => {
      this.requireDataset(name);
      const unknown = [...new Set(annotationIds)].filter((id) => !this.#stmt.exists.get(id));
      if (unknown.length > 0) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${unknown.length} annotation id(s) are not in the store, first ${unknown[0]}; nothing was added`, {
          details: { dataset: name, unknown: unknown.slice(0, 20), count: unknown.length },
        });
      }
      let added = 0;
      for (const id of annotationIds) added += this.#stmt.addMember.run(name, id).changes;
      return { added };
    })();
  }

  removeDatasetMembers(name: string, annotationIds: readonly string[]): { removed: number } {
    checkDatasetName(name);
    checkUris('Annotation ids', annotationIds);
    return this.#db.transaction(() => {
      this.requireDataset(name);
      let removed = 0;
      for (const id of annotationIds) removed += this.#stmt.removeMember.run(name, id).changes;
      return { removed };
    })();
  }

  deleteDataset(name: string): boolean {
    return this.#stmt.deleteDataset.run(checkDatasetName(name)).changes > 0;
  }

  /** An unknown dataset is LOUPE_ERR_NOT_FOUND: a typo in a filter must not look like an empty dataset. */
  requireDataset(name: string): void {
    if (!this.#stmt.getDataset.get(name)) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No dataset named ${name}`, { details: { dataset: name } });
    }
  }

  #dataset(name: string): Dataset | undefined {
    const row = this.#stmt.getDataset.get(name);
    if (!row) return undefined;
    return {
      name: row.name,
      ...(row.description !== null && { description: row.description }),
      created: row.created,
      sources: this.#stmt.datasetSources.all(name).map((s) => s.source),
      members: this.#stmt.datasetMemberCount.get(name)!.n,
    };
  }
}
