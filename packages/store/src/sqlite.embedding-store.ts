import { LoupeError } from '@loupe/contracts';
import { nowIso, openDatabase, run, type SqliteDatabase } from './sqlite.database.js';
import type { EmbeddingQuery, EmbeddingRecord, EmbeddingStore } from './store.js';

interface EmbeddingRow {
  manifest_id: string;
  canvas_id: string;
  image_index: number;
  model_id: string;
  model_version: string;
  dims: number;
  vector: Buffer;
  phash: string;
  created: string;
}

const DEFAULT_LIMIT = 1000;

/** The embedded embedding store: one SQLite file (or memory), vectors as little-endian float32 blobs. */
export function openSqliteEmbeddingStore(opts: { path: string | ':memory:' }): EmbeddingStore {
  return new SqliteEmbeddingStore(openDatabase(opts.path));
}

function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function fromRow(r: EmbeddingRow): EmbeddingRecord {
  // Copied out: the driver's buffer may not be aligned for a Float32Array view.
  const vector = new Float32Array(r.dims);
  new Uint8Array(vector.buffer).set(r.vector.subarray(0, r.dims * 4));
  return {
    manifestId: r.manifest_id,
    canvasId: r.canvas_id,
    imageIndex: r.image_index,
    modelId: r.model_id,
    modelVersion: r.model_version,
    vector,
    phash: r.phash,
    created: r.created,
  };
}

function where(q: EmbeddingQuery): { sql: string; params: Record<string, unknown> } {
  const clauses: string[] = [];
  const params: Record<string, unknown> = {};
  if (q.modelId !== undefined) {
    clauses.push('model_id = @modelId');
    params.modelId = q.modelId;
  }
  if (q.manifestId !== undefined) {
    clauses.push('manifest_id = @manifestId');
    params.manifestId = q.manifestId;
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

class SqliteEmbeddingStore implements EmbeddingStore {
  readonly #db: SqliteDatabase;
  #closed = false;
  readonly #isClosed = (): boolean => this.#closed;
  readonly #stmt;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#stmt = {
      get: db.prepare<[string, number, string], EmbeddingRow>('SELECT * FROM embeddings WHERE canvas_id = ? AND image_index = ? AND model_id = ?'),
      upsert: db.prepare(
        `INSERT INTO embeddings (canvas_id, image_index, model_id, model_version, manifest_id, dims, vector, phash, created)
         VALUES (@canvasId, @imageIndex, @modelId, @modelVersion, @manifestId, @dims, @vector, @phash, @created)
         ON CONFLICT (canvas_id, image_index, model_id) DO UPDATE SET
           model_version = excluded.model_version, manifest_id = excluded.manifest_id, dims = excluded.dims,
           vector = excluded.vector, phash = excluded.phash, created = excluded.created`,
      ),
    };
  }

  put(record: EmbeddingRecord): Promise<'inserted' | 'replaced' | 'unchanged'> {
    return run('put embedding', this.#isClosed, () => {
      if (record.vector.length === 0 || !record.vector.every(Number.isFinite)) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `The embedding of ${record.canvasId} #${record.imageIndex} (${record.modelId}) is empty or not finite`);
      }
      if (!/^[0-9a-f]{16}$/.test(record.phash)) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `Perceptual hash ${JSON.stringify(record.phash)} is not 16 lower-case hex digits`);
      }
      const vector = toBlob(record.vector);
      return this.#db.transaction((): 'inserted' | 'replaced' | 'unchanged' => {
        const before = this.#stmt.get.get(record.canvasId, record.imageIndex, record.modelId);
        if (
          before &&
          before.model_version === record.modelVersion &&
          before.manifest_id === record.manifestId &&
          before.phash === record.phash &&
          Buffer.compare(before.vector, vector) === 0
        ) {
          return 'unchanged';
        }
        this.#stmt.upsert.run({ ...record, dims: record.vector.length, vector, created: nowIso() });
        return before ? 'replaced' : 'inserted';
      }).immediate();
    });
  }

  get(key: { canvasId: string; imageIndex: number; modelId: string }): Promise<EmbeddingRecord | undefined> {
    return run('get embedding', this.#isClosed, () => {
      const row = this.#stmt.get.get(key.canvasId, key.imageIndex, key.modelId);
      return row && fromRow(row);
    });
  }

  query(q: EmbeddingQuery): Promise<EmbeddingRecord[]> {
    return run('query embeddings', this.#isClosed, () => {
      const { sql, params } = where(q);
      const limit = Math.max(0, Math.min(q.limit ?? DEFAULT_LIMIT, 100_000));
      const offset = Math.max(0, q.offset ?? 0);
      const rows = this.#db
        .prepare<Record<string, unknown>, EmbeddingRow>(`SELECT * FROM embeddings ${sql} ORDER BY model_id, canvas_id, image_index LIMIT @limit OFFSET @offset`)
        .all({ ...params, limit, offset });
      return rows.map(fromRow);
    });
  }

  count(q: Omit<EmbeddingQuery, 'limit' | 'offset'>): Promise<number> {
    return run('count embeddings', this.#isClosed, () => {
      const { sql, params } = where(q);
      return this.#db.prepare<Record<string, unknown>, { n: number }>(`SELECT count(*) AS n FROM embeddings ${sql}`).get(params)!.n;
    });
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }
}
