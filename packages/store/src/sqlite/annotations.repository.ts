import type { Annotation, ReviewState } from '@loupe/contracts';
import { checkAnnotations, checkCount, checkGroundTruth, checkKey, GROUND_TRUTH_STAGE, setKeyOf, withoutReview } from '../annotation-checks.js';
import { nowIso, type SqliteDatabase } from '../sqlite.database.js';
import type { AnnotationQuery, GroundTruthInput, ReplaceResult, ResultSetKey } from '../store.js';
import { whereOf } from './annotation-filter.js';
import { columnsOf, ORDER, ROW, toAnnotation, type AnnotationRow } from './annotation-rows.js';
import type { SqliteDatasetsRepository } from './datasets.repository.js';
import { StatementCache } from './statement-cache.js';

/** The result set an annotation belongs to: a re-run that produces it again sets them with `set_key`. */
const KEY_COLUMNS =
  'manifest_id = @manifestId, canvas_id = @canvasId, image_index = @imageIndex, stage = @stage, model_id = @modelId';

/** Annotations as models and importers write them, and the queries over them (reviews: reviews.repository.ts). */
export class SqliteAnnotationsRepository {
  readonly #db: SqliteDatabase;
  readonly #datasets: SqliteDatasetsRepository;
  readonly #queries: StatementCache;
  readonly #stmt;

  constructor(db: SqliteDatabase, datasets: SqliteDatasetsRepository) {
    this.#db = db;
    this.#datasets = datasets;
    this.#queries = new StatementCache(db);
    this.#stmt = {
      setIds: db.prepare<[string], { id: string; review_state: ReviewState }>('SELECT id, review_state FROM annotations WHERE set_key = ?'),
      current: db.prepare<[string], { review_state: ReviewState; revision: number; body_json: string }>(
        'SELECT review_state, revision, body_json FROM annotations WHERE id = ?',
      ),
      insert: db.prepare(
        `INSERT INTO annotations (id, manifest_id, canvas_id, image_index, stage, model_id, model_version, motivation, confidence,
                                  review_state, reviewer, reviewed_at, created, generated, body_json, set_key, position, concept, label)
         VALUES (@id, @manifestId, @canvasId, @imageIndex, @stage, @modelId, @modelVersion, @motivation, @confidence,
                 @reviewState, @reviewer, @reviewedAt, @created, @generated, @body, @setKey, @position, @concept, @label)`,
      ),
      // Review fields, revisions and `created` are the curator's and the first run's: not touched.
      updateUnreviewed: db.prepare(
        `UPDATE annotations SET ${KEY_COLUMNS}, model_version = @modelVersion, motivation = @motivation, confidence = @confidence,
                generated = @generated, body_json = @body, set_key = @setKey, position = @position, concept = @concept, label = @label
         WHERE id = @id`,
      ),
      // A reviewed annotation's current revision is the curator's: only the run's provenance moves.
      updateReviewed: db.prepare(
        `UPDATE annotations SET ${KEY_COLUMNS}, model_version = @modelVersion, generated = @generated, body_json = @body,
                set_key = @setKey, position = @position
         WHERE id = @id`,
      ),
      replaceRevisionZero: db.prepare<[string, string, string]>(
        'UPDATE annotation_revisions SET body_json = ?, at = ? WHERE annotation_id = ? AND revision = 0',
      ),
      remove: db.prepare<[string]>('DELETE FROM annotations WHERE id = ?'),
      detach: db.prepare<[string]>('UPDATE annotations SET set_key = NULL WHERE id = ?'),
      get: db.prepare<[string], AnnotationRow>(`SELECT ${ROW} FROM annotations a WHERE a.id = ?`),
      exists: db.prepare<[string], { id: string }>('SELECT id FROM annotations WHERE id = ?'),
      nextGroundTruthPosition: db.prepare<[string, string], { next: number }>(
        `SELECT COALESCE(MAX(position), -1) + 1 AS next FROM annotations
         WHERE canvas_id = ? AND image_index = 0 AND stage = '${GROUND_TRUTH_STAGE}' AND model_id = ?`,
      ),
    };
  }

  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): ReplaceResult {
    checkKey(key, modelVersion);
    const ids = checkAnnotations(annotations);
    const setKey = setKeyOf(key);
    const keyColumns = { manifestId: key.manifestId, canvasId: key.canvasId, imageIndex: key.imageIndex, stage: key.stage, modelId: key.modelId };
    const now = nowIso();
    return this.#db.transaction((): ReplaceResult => {
      let inserted = 0;
      let kept = 0;
      annotations.forEach((annotation, position) => {
        const stored = withoutReview(annotation);
        const body = JSON.stringify(stored);
        const generated = annotation.generated ?? null;
        const current = this.#stmt.current.get(annotation.id);
        if (!current) {
          this.#stmt.insert.run({
            ...columnsOf(stored),
            ...keyColumns,
            id: annotation.id,
            modelVersion,
            reviewState: annotation['loupe:reviewState'] ?? 'unreviewed',
            reviewer: null,
            reviewedAt: null,
            created: annotation.created ?? now,
            generated,
            body,
            setKey,
            position,
          });
          inserted += 1;
          return;
        }
        kept += 1;
        const placed = { ...keyColumns, id: annotation.id, modelVersion, generated, setKey, position };
        if (current.review_state === 'unreviewed') {
          this.#stmt.updateUnreviewed.run({ ...columnsOf(stored), ...placed, body });
          // Revision 0 is what the model says; a curator's later revisions stay in the history as they were.
          if (current.revision > 0) this.#stmt.replaceRevisionZero.run(body, generated ?? now, annotation.id);
        } else {
          const reviewed = JSON.parse(current.body_json) as Record<string, unknown>;
          if (generated === null) delete reviewed.generated;
          else reviewed.generated = generated;
          this.#stmt.updateReviewed.run({ ...placed, body: JSON.stringify(reviewed) });
        }
      });
      const { removed, detached } = this.#dropStale(setKey, ids);
      return { inserted, kept: kept + detached, removed };
    })();
  }

  /** The set's annotations the run no longer produced: unreviewed ones go, reviewed ones are detached. */
  #dropStale(setKey: string, produced: ReadonlySet<string>): { removed: number; detached: number } {
    let removed = 0;
    let detached = 0;
    for (const stale of this.#stmt.setIds.all(setKey)) {
      if (produced.has(stale.id)) continue;
      if (stale.review_state === 'unreviewed') {
        this.#stmt.remove.run(stale.id);
        removed += 1;
      } else {
        // A curator's judgement is ground truth even when the model stops saying it.
        this.#stmt.detach.run(stale.id);
        detached += 1;
      }
    }
    return { removed, detached };
  }

  query(q: AnnotationQuery): Annotation[] {
    const { sql, params } = whereOf(q, this.#datasets);
    const limit = checkCount('limit', q.limit) ?? -1;
    const offset = checkCount('offset', q.offset) ?? 0;
    // Filters match the current revision; `original` swaps in revision 0's body, which has a row
    // of its own only once the annotation was reviewed (before that the current body is it).
    const select = q.original
      ? `SELECT a.id, a.review_state, a.reviewer, a.reviewed_at, a.created, a.generated, a.revision,
                COALESCE(r.body_json, a.body_json) AS body_json
         FROM annotations a LEFT JOIN annotation_revisions r ON r.annotation_id = a.id AND r.revision = 0`
      : `SELECT ${ROW} FROM annotations a`;
    const rows = this.#queries.prepared<AnnotationRow>(`${select} ${sql} ${ORDER} LIMIT ? OFFSET ?`).all(...params, limit, offset);
    return rows.map(toAnnotation);
  }

  count(q: AnnotationQuery): number {
    const { sql, params } = whereOf(q, this.#datasets);
    return this.#queries.prepared<{ n: number }>(`SELECT COUNT(*) AS n FROM annotations a ${sql}`).get(...params)?.n ?? 0;
  }

  get(id: string): Annotation | undefined {
    const row = this.#stmt.get.get(id);
    return row && toAnnotation(row);
  }

  putGroundTruth(items: readonly GroundTruthInput[], opts: { readonly source: string; readonly reviewer: string }): { inserted: number; kept: number } {
    checkGroundTruth(items, opts);
    const now = nowIso();
    return this.#db.transaction(() => {
      let inserted = 0;
      let kept = 0;
      for (const { manifestId, canvasId, annotation } of items) {
        if (this.#stmt.exists.get(annotation.id)) {
          kept += 1;
          continue;
        }
        const stored = withoutReview(annotation);
        this.#stmt.insert.run({
          ...columnsOf(stored),
          id: annotation.id,
          manifestId,
          canvasId,
          imageIndex: 0,
          stage: GROUND_TRUTH_STAGE,
          modelId: opts.source,
          modelVersion: '1',
          reviewState: 'accepted',
          reviewer: opts.reviewer,
          reviewedAt: now,
          created: annotation.created ?? now,
          generated: annotation.generated ?? null,
          body: JSON.stringify(stored),
          // Not a model's result set: no re-run may remove or detach it.
          setKey: null,
          position: this.#stmt.nextGroundTruthPosition.get(canvasId, opts.source)!.next,
        });
        inserted += 1;
      }
      return { inserted, kept };
    })();
  }
}
