import { LoupeError, REVIEW_STATES, type Annotation, type ReviewState } from '@loupe/contracts';
import type { Statement } from 'better-sqlite3';
import { nowIso, openDatabase, run, type SqliteDatabase } from './sqlite.database.js';
import type { AnnotationQuery, AnnotationStore, ReplaceResult, ResultSetKey } from './store.js';

interface AnnotationRow {
  id: string;
  review_state: ReviewState;
  reviewed_at: string | null;
  created: string;
  body_json: string;
}

/** The embedded ground-truth store: one SQLite file (or memory), no server. */
export function openSqliteAnnotationStore(opts: { path: string | ':memory:' }): AnnotationStore {
  return new SqliteAnnotationStore(openDatabase(opts.path));
}

class SqliteAnnotationStore implements AnnotationStore {
  readonly #db: SqliteDatabase;
  #closed = false;
  readonly #isClosed = (): boolean => this.#closed;
  readonly #stmt;
  readonly #queries = new Map<string, Statement<unknown[], unknown>>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#stmt = {
      setIds: db.prepare<[string], { id: string; review_state: ReviewState }>('SELECT id, review_state FROM annotations WHERE set_key = ?'),
      exists: db.prepare<[string], { id: string }>('SELECT id FROM annotations WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO annotations (id, manifest_id, canvas_id, image_index, stage, model_id, model_version, motivation, confidence,
                                  review_state, created, generated, body_json, set_key, position)
         VALUES (@id, @manifestId, @canvasId, @imageIndex, @stage, @modelId, @modelVersion, @motivation, @confidence,
                 @reviewState, @created, @generated, @body, @setKey, @position)`,
      ),
      // Review state, reviewer and `created` are the curator's and the first run's: not touched.
      update: db.prepare(
        `UPDATE annotations SET manifest_id = @manifestId, canvas_id = @canvasId, image_index = @imageIndex, stage = @stage,
                model_id = @modelId, model_version = @modelVersion, motivation = @motivation, confidence = @confidence,
                generated = @generated, body_json = @body, set_key = @setKey, position = @position
         WHERE id = @id`,
      ),
      remove: db.prepare<[string]>('DELETE FROM annotations WHERE id = ?'),
      detach: db.prepare<[string]>('UPDATE annotations SET set_key = NULL WHERE id = ?'),
      get: db.prepare<[string], AnnotationRow>('SELECT id, review_state, reviewed_at, created, body_json FROM annotations WHERE id = ?'),
      review: db.prepare<[ReviewState, string, string, string]>(
        'UPDATE annotations SET review_state = ?, reviewer = ?, reviewed_at = ? WHERE id = ?',
      ),
    };
  }

  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult> {
    return run('replaceResultSet', this.#isClosed, () => {
      checkKey(key, modelVersion);
      const ids = checkAnnotations(annotations);
      const setKey = JSON.stringify([key.manifestId, key.canvasId, key.imageIndex, key.stage, key.modelId]);
      const now = nowIso();
      return this.#db.transaction((): ReplaceResult => {
        let inserted = 0;
        let kept = 0;
        let removed = 0;
        annotations.forEach((annotation, position) => {
          const row = {
            id: annotation.id,
            manifestId: key.manifestId,
            canvasId: key.canvasId,
            imageIndex: key.imageIndex,
            stage: key.stage,
            modelId: key.modelId,
            modelVersion,
            motivation: motivationColumn(annotation.motivation),
            confidence: annotation['loupe:confidence'] ?? null,
            generated: annotation.generated ?? null,
            body: JSON.stringify(withoutReview(annotation)),
            setKey,
            position,
          };
          if (this.#stmt.exists.get(annotation.id)) {
            this.#stmt.update.run(row);
            kept += 1;
          } else {
            this.#stmt.insert.run({ ...row, reviewState: annotation['loupe:reviewState'] ?? 'unreviewed', created: annotation.created ?? now });
            inserted += 1;
          }
        });
        for (const stale of this.#stmt.setIds.all(setKey)) {
          if (ids.has(stale.id)) continue;
          if (stale.review_state === 'unreviewed') {
            this.#stmt.remove.run(stale.id);
            removed += 1;
          } else {
            // A curator's judgement is ground truth even when the model stops saying it.
            this.#stmt.detach.run(stale.id);
            kept += 1;
          }
        }
        return { inserted, kept, removed };
      })();
    });
  }

  query(q: AnnotationQuery): Promise<Annotation[]> {
    return run('query', this.#isClosed, () => {
      const { sql, params } = whereOf(q);
      const limit = checkCount('limit', q.limit) ?? -1;
      const offset = checkCount('offset', q.offset) ?? 0;
      const rows = this.#prepared<AnnotationRow>(
        `SELECT id, review_state, reviewed_at, created, body_json FROM annotations ${sql}
         ORDER BY canvas_id, image_index, stage, model_id, position, id LIMIT ? OFFSET ?`,
      ).all(...params, limit, offset);
      return rows.map(toAnnotation);
    });
  }

  count(q: AnnotationQuery): Promise<number> {
    return run('count', this.#isClosed, () => {
      const { sql, params } = whereOf(q);
      const row = this.#prepared<{ n: number }>(`SELECT COUNT(*) AS n FROM annotations ${sql}`).get(...params);
      return row?.n ?? 0;
    });
  }

  get(id: string): Promise<Annotation | undefined> {
    return run('get', this.#isClosed, () => {
      const row = this.#stmt.get.get(id);
      return row && toAnnotation(row);
    });
  }

  setReviewState(id: string, state: ReviewState, reviewer: string): Promise<Annotation> {
    return run('setReviewState', this.#isClosed, () => {
      if (!REVIEW_STATES.includes(state)) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `Unknown review state ${JSON.stringify(state)}`, { details: { allowed: REVIEW_STATES } });
      }
      if (typeof reviewer !== 'string' || reviewer === '') throw new LoupeError('LOUPE_ERR_VALIDATION', 'A review needs a reviewer');
      return this.#db.transaction(() => {
        if (this.#stmt.review.run(state, reviewer, nowIso(), id).changes === 0) {
          throw new LoupeError('LOUPE_ERR_NOT_FOUND', 'No annotation with this id', { details: { id } });
        }
        return toAnnotation(this.#stmt.get.get(id)!);
      })();
    });
  }

  /** Query statements differ only by which filters are set: a handful of shapes, each prepared once. */
  #prepared<Row>(sql: string): Statement<unknown[], Row> {
    let statement = this.#queries.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#queries.set(sql, statement);
    }
    return statement as Statement<unknown[], Row>;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }
}

/** The stored body carries no review fields: those live in columns and are merged on read. */
function withoutReview(annotation: Annotation): Annotation {
  const { 'loupe:reviewState': _state, modified: _modified, ...rest } = annotation as Annotation & { modified?: string };
  return rest as Annotation;
}

function toAnnotation(row: AnnotationRow): Annotation {
  const annotation = JSON.parse(row.body_json) as Annotation & { modified?: string };
  annotation.created = row.created;
  annotation['loupe:reviewState'] = row.review_state;
  if (row.reviewed_at !== null) annotation.modified = row.reviewed_at;
  return annotation;
}

/** A list of motivations is kept as its JSON array; a single one as itself (none starts with '['). */
function motivationColumn(motivation: Annotation['motivation']): string {
  return Array.isArray(motivation) ? JSON.stringify(motivation) : motivation;
}

function whereOf(q: AnnotationQuery): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const eq = (column: string, value: string | undefined): void => {
    if (value === undefined) return;
    clauses.push(`${column} = ?`);
    params.push(value);
  };
  eq('canvas_id', q.canvasId);
  eq('manifest_id', q.manifestId);
  eq('model_id', q.modelId);
  if (q.reviewState !== undefined && !REVIEW_STATES.includes(q.reviewState)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Unknown review state ${JSON.stringify(q.reviewState)}`, { details: { allowed: REVIEW_STATES } });
  }
  eq('review_state', q.reviewState);
  if (q.motivation !== undefined) {
    clauses.push(
      `(motivation = ? OR (substr(motivation, 1, 1) = '[' AND EXISTS (SELECT 1 FROM json_each(annotations.motivation) WHERE value = ?)))`,
    );
    params.push(q.motivation, q.motivation);
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function checkCount(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${name} must be a non-negative integer`, { details: { [name]: value } });
  }
  return value;
}

function checkKey(key: ResultSetKey, modelVersion: string): void {
  const bad: string[] = (['manifestId', 'canvasId', 'stage', 'modelId'] as const).filter((f) => typeof key[f] !== 'string' || key[f] === '');
  if (!Number.isSafeInteger(key.imageIndex) || key.imageIndex < 0) bad.push('imageIndex');
  if (typeof modelVersion !== 'string' || modelVersion === '') bad.push('modelVersion');
  if (bad.length > 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `Invalid result set key: ${bad.join(', ')}`, { details: { fields: bad } });
}

function checkAnnotations(annotations: readonly Annotation[]): Set<string> {
  const ids = new Set<string>();
  for (const annotation of annotations) {
    if (typeof annotation.id !== 'string' || annotation.id === '') {
      throw new LoupeError('LOUPE_ERR_VALIDATION', 'Every annotation of a result set needs an id');
    }
    // Two annotations with one id would silently overwrite each other: the caller's occurrence count is wrong.
    if (ids.has(annotation.id)) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', 'The result set repeats an annotation id', { details: { id: annotation.id } });
    }
    const state = annotation['loupe:reviewState'];
    if (state !== undefined && !REVIEW_STATES.includes(state)) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `Unknown review state ${JSON.stringify(state)}`, { details: { id: annotation.id } });
    }
    ids.add(annotation.id);
  }
  return ids;
}
