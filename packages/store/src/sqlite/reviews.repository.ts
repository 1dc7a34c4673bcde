import type { Annotation } from '@loupe/contracts';
import { checkBulkReview, checkReview, corrected } from '../annotation-checks.js';
import { nowIso, type SqliteDatabase } from '../sqlite.database.js';
import type { AnnotationQuery, ReviewInput, Revision } from '../store.js';
import { whereOf } from './annotation-filter.js';
import { columnsOf, notFound, revisionZeroOf, ROW, toAnnotation, type AnnotationRow, type RevisionRow } from './annotation-rows.js';
import type { SqliteDatasetsRepository } from './datasets.repository.js';
import { StatementCache } from './statement-cache.js';

/**
 * The annotations' revisions: each review appends one, and the annotation row holds the current
 * one. Revision 0 gets a row of its own only at the first review (until then the row is it).
 */
export class SqliteReviewsRepository {
  readonly #db: SqliteDatabase;
  readonly #datasets: SqliteDatasetsRepository;
  readonly #queries: StatementCache;
  readonly #stmt;

  constructor(db: SqliteDatabase, datasets: SqliteDatasetsRepository) {
    this.#db = db;
    this.#datasets = datasets;
    this.#queries = new StatementCache(db);
    this.#stmt = {
      get: db.prepare<[string], AnnotationRow>(`SELECT ${ROW} FROM annotations a WHERE a.id = ?`),
      insertRevision: db.prepare(
        `INSERT INTO annotation_revisions (annotation_id, revision, state, reviewer, at, note, body_json)
         VALUES (@id, @revision, @state, @reviewer, @at, @note, @body)`,
      ),
      review: db.prepare(
        `UPDATE annotations SET review_state = @state, reviewer = @reviewer, reviewed_at = @at, revision = @revision,
                body_json = @body, motivation = @motivation, concept = @concept, label = @label
         WHERE id = @id`,
      ),
      revisions: db.prepare<[string], RevisionRow>(
        'SELECT revision, state, reviewer, at, note, body_json FROM annotation_revisions WHERE annotation_id = ? ORDER BY revision',
      ),
    };
  }

  review(id: string, input: ReviewInput): Annotation {
    checkReview(input);
    return this.#db.transaction(() => {
      const row = this.#stmt.get.get(id);
      if (!row) throw notFound(id);
      this.#applyReview(row, input, nowIso());
      return toAnnotation(this.#stmt.get.get(id)!);
    })();
  }

  /** Appends one revision: revision 0 gets its row first if this is the annotation's first review. */
  #applyReview(row: AnnotationRow, input: ReviewInput, at: string): void {
    if (row.revision === 0) {
      this.#stmt.insertRevision.run({ ...revisionZeroOf(row), id: row.id, note: null, body: row.body_json });
    }
    const next = corrected(JSON.parse(row.body_json) as Annotation, input.correction);
    const revision = row.revision + 1;
    const body = input.correction ? JSON.stringify(next) : row.body_json;
    this.#stmt.insertRevision.run({ id: row.id, revision, state: input.state, reviewer: input.reviewer, at, note: input.note ?? null, body });
    this.#stmt.review.run({
      ...columnsOf(next),
      id: row.id,
      state: input.state,
      reviewer: input.reviewer,
      at,
      revision,
      body,
    });
  }

  history(id: string): Revision[] {
    const row = this.#stmt.get.get(id);
    if (!row) throw notFound(id);
    const rows = this.#stmt.revisions.all(id);
    if (rows.length === 0) {
      // Never reviewed: the annotation as it stands is revision 0.
      const { state, reviewer, at } = revisionZeroOf(row);
      return [{ revision: 0, state, reviewer, at, annotation: toAnnotation(row) }];
    }
    return rows.map((r) => ({
      revision: r.revision,
      state: r.state,
      reviewer: r.reviewer,
      at: r.at,
      ...(r.note !== null && { note: r.note }),
      annotation: toAnnotation({
        ...row,
        review_state: r.state,
        reviewer: r.reviewer,
        reviewed_at: r.reviewer === null ? null : r.at,
        revision: r.revision,
        body_json: r.body_json,
      }),
    }));
  }

  reviewMany(filter: AnnotationQuery, input: Omit<ReviewInput, 'correction'>): { updated: number } {
    checkBulkReview(input);
    const { sql, params } = whereOf(filter, this.#datasets);
    const notYet = `${sql === '' ? 'WHERE' : `${sql} AND`} a.review_state <> ?`;
    return this.#db.transaction(() => {
      const rows = this.#queries.prepared<AnnotationRow>(`SELECT ${ROW} FROM annotations a ${notYet}`).all(...params, input.state);
      const at = nowIso();
      for (const row of rows) this.#applyReview(row, input, at);
      return { updated: rows.length };
    })();
  }
}
