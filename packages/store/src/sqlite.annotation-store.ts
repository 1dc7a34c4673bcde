import { LoupeError, type Annotation, type ReviewState } from '@loupe/contracts';
import type { Statement } from 'better-sqlite3';
import {
  checkAnnotations,
  checkBulkReview,
  checkCanvas,
  checkCount,
  checkDatasetName,
  checkDescription,
  checkGroundTruth,
  checkKey,
  checkQuery,
  checkReview,
  checkText,
  checkUris,
  checkVocabulary,
  corrected,
  GROUND_TRUTH_STAGE,
  indexedBody,
  setKeyOf,
  withoutReview,
} from './annotation-checks.js';
import { nowIso, openDatabase, run, type SqliteDatabase } from './sqlite.database.js';
import type {
  AnnotationQuery,
  AnnotationStore,
  CanvasRecord,
  Concept,
  Dataset,
  GroundTruthInput,
  ReplaceResult,
  ResultSetKey,
  ReviewInput,
  Revision,
  Vocabulary,
  VocabularySummary,
} from './store.js';

/** The columns that make an annotation as the port returns it. */
interface AnnotationRow {
  id: string;
  review_state: ReviewState;
  reviewer: string | null;
  reviewed_at: string | null;
  created: string;
  generated: string | null;
  revision: number;
  body_json: string;
}

interface RevisionRow {
  revision: number;
  state: ReviewState;
  reviewer: string | null;
  at: string;
  note: string | null;
  body_json: string;
}

interface CanvasRow {
  canvas_id: string;
  manifest_id: string;
  label: string | null;
  width: number;
  height: number;
  image_json: string;
}

const ROW = 'a.id, a.review_state, a.reviewer, a.reviewed_at, a.created, a.generated, a.revision, a.body_json';
const ORDER = 'ORDER BY a.canvas_id, a.image_index, a.stage, a.model_id, a.position, a.id';
/** The result set an annotation belongs to: a re-run that produces it again sets them with `set_key`. */
const KEY_COLUMNS =
  'manifest_id = @manifestId, canvas_id = @canvasId, image_index = @imageIndex, stage = @stage, model_id = @modelId';

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
      nextGroundTruthPosition: db.prepare<[string, string], { next: number }>(
        `SELECT COALESCE(MAX(position), -1) + 1 AS next FROM annotations
         WHERE canvas_id = ? AND image_index = 0 AND stage = '${GROUND_TRUTH_STAGE}' AND model_id = ?`,
      ),
      putCanvas: db.prepare(
        `INSERT INTO canvases (canvas_id, manifest_id, label, width, height, image_json)
         VALUES (@canvasId, @manifestId, @label, @width, @height, @image)
         ON CONFLICT (canvas_id) DO UPDATE SET manifest_id = excluded.manifest_id, label = excluded.label,
                width = excluded.width, height = excluded.height, image_json = excluded.image_json`,
      ),
      getCanvas: db.prepare<[string], CanvasRow>('SELECT canvas_id, manifest_id, label, width, height, image_json FROM canvases WHERE canvas_id = ?'),
      putVocabulary: db.prepare<[string, string | null]>(
        'INSERT INTO vocabularies (id, label) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET label = excluded.label',
      ),
      // concept_matches follow by ON DELETE CASCADE.
      clearConcepts: db.prepare<[string]>('DELETE FROM concepts WHERE vocabulary_id = ?'),
      insertConcept: db.prepare<[string, string, string]>('INSERT INTO concepts (vocabulary_id, uri, json) VALUES (?, ?, ?)'),
      insertMatch: db.prepare<[string, string, string]>('INSERT INTO concept_matches (uri, vocabulary_id, concept_uri) VALUES (?, ?, ?)'),
      getVocabulary: db.prepare<[string], { id: string; label: string | null }>('SELECT id, label FROM vocabularies WHERE id = ?'),
      concepts: db.prepare<[string], { json: string }>('SELECT json FROM concepts WHERE vocabulary_id = ? ORDER BY rowid'),
      listVocabularies: db.prepare<[], { id: string; label: string | null; n: number }>(
        `SELECT v.id, v.label, COUNT(c.uri) AS n FROM vocabularies v LEFT JOIN concepts c ON c.vocabulary_id = v.id
         GROUP BY v.id ORDER BY v.id`,
      ),
      conceptByUri: db.prepare<[string], { vocabulary_id: string; json: string }>(
        'SELECT vocabulary_id, json FROM concepts WHERE uri = ? ORDER BY vocabulary_id LIMIT 1',
      ),
      conceptByMatch: db.prepare<[string], { vocabulary_id: string; json: string }>(
        `SELECT c.vocabulary_id, c.json FROM concept_matches m
         JOIN concepts c ON c.vocabulary_id = m.vocabulary_id AND c.uri = m.concept_uri
         WHERE m.uri = ? ORDER BY c.vocabulary_id, c.rowid LIMIT 1`,
      ),
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

  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult> {
    return run('replaceResultSet', this.#isClosed, () => {
      checkKey(key, modelVersion);
      const ids = checkAnnotations(annotations);
      const setKey = setKeyOf(key);
      const keyColumns = { manifestId: key.manifestId, canvasId: key.canvasId, imageIndex: key.imageIndex, stage: key.stage, modelId: key.modelId };
      const now = nowIso();
      return this.#db.transaction((): ReplaceResult => {
        let inserted = 0;
        let kept = 0;
        let removed = 0;
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
      const { sql, params } = this.#where(q);
      const limit = checkCount('limit', q.limit) ?? -1;
      const offset = checkCount('offset', q.offset) ?? 0;
      // Filters match the current revision; `original` swaps in revision 0's body, which has a row
      // of its own only once the annotation was reviewed (before that the current body is it).
      const select = q.original
        ? `SELECT a.id, a.review_state, a.reviewer, a.reviewed_at, a.created, a.generated, a.revision,
                  COALESCE(r.body_json, a.body_json) AS body_json
           FROM annotations a LEFT JOIN annotation_revisions r ON r.annotation_id = a.id AND r.revision = 0`
        : `SELECT ${ROW} FROM annotations a`;
      const rows = this.#prepared<AnnotationRow>(`${select} ${sql} ${ORDER} LIMIT ? OFFSET ?`).all(...params, limit, offset);
      return rows.map(toAnnotation);
    });
  }

  count(q: AnnotationQuery): Promise<number> {
    return run('count', this.#isClosed, () => {
      const { sql, params } = this.#where(q);
      return this.#prepared<{ n: number }>(`SELECT COUNT(*) AS n FROM annotations a ${sql}`).get(...params)?.n ?? 0;
    });
  }

  get(id: string): Promise<Annotation | undefined> {
    return run('get', this.#isClosed, () => {
      const row = this.#stmt.get.get(id);
      return row && toAnnotation(row);
    });
  }

  setReviewState(id: string, state: ReviewState, reviewer: string): Promise<Annotation> {
    return this.#reviewOne('setReviewState', id, { state, reviewer });
  }

  review(id: string, input: ReviewInput): Promise<Annotation> {
    return this.#reviewOne('review', id, input);
  }

  #reviewOne(operation: string, id: string, input: ReviewInput): Promise<Annotation> {
    return run(operation, this.#isClosed, () => {
      checkReview(input);
      return this.#db.transaction(() => {
        const row = this.#stmt.get.get(id);
        if (!row) throw notFound(id);
        this.#applyReview(row, input, nowIso());
        return toAnnotation(this.#stmt.get.get(id)!);
      })();
    });
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

  history(id: string): Promise<Revision[]> {
    return run('history', this.#isClosed, () => {
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
    });
  }

  reviewMany(filter: AnnotationQuery, input: Omit<ReviewInput, 'correction'>): Promise<{ updated: number }> {
    return run('reviewMany', this.#isClosed, () => {
      checkBulkReview(input);
      const { sql, params } = this.#where(filter);
      const notYet = `${sql === '' ? 'WHERE' : `${sql} AND`} a.review_state <> ?`;
      return this.#db.transaction(() => {
        const rows = this.#prepared<AnnotationRow>(`SELECT ${ROW} FROM annotations a ${notYet}`).all(...params, input.state);
        const at = nowIso();
        for (const row of rows) this.#applyReview(row, input, at);
        return { updated: rows.length };
      })();
    });
  }

  putGroundTruth(
    items: readonly GroundTruthInput[],
    opts: { readonly source: string; readonly reviewer: string },
  ): Promise<{ inserted: number; kept: number }> {
    return run('putGroundTruth', this.#isClosed, () => {
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
    });
  }

  putCanvas(canvas: CanvasRecord): Promise<void> {
    return run('putCanvas', this.#isClosed, () => {
      checkCanvas(canvas);
      this.#stmt.putCanvas.run({
        canvasId: canvas.canvasId,
        manifestId: canvas.manifestId,
        label: canvas.label ?? null,
        width: canvas.width,
        height: canvas.height,
        image: JSON.stringify(canvas.image),
      });
    });
  }

  getCanvas(canvasId: string): Promise<CanvasRecord | undefined> {
    return run('getCanvas', this.#isClosed, () => {
      const row = this.#stmt.getCanvas.get(canvasId);
      return row && toCanvas(row);
    });
  }

  canvases(filter: AnnotationQuery): Promise<{ canvas: CanvasRecord; annotations: number }[]> {
    return run('canvases', this.#isClosed, () => {
      const { sql, params } = this.#where(filter);
      const limit = checkCount('limit', filter.limit) ?? -1;
      const offset = checkCount('offset', filter.offset) ?? 0;
      const rows = this.#prepared<CanvasRow & { annotated_manifest: string; n: number; recorded: string | null }>(
        `SELECT g.canvas_id, g.n, g.annotated_manifest, c.canvas_id AS recorded, c.manifest_id, c.label, c.width, c.height, c.image_json
         FROM (SELECT a.canvas_id, MIN(a.manifest_id) AS annotated_manifest, COUNT(*) AS n FROM annotations a ${sql}
               GROUP BY a.canvas_id ORDER BY a.canvas_id LIMIT ? OFFSET ?) g
         LEFT JOIN canvases c ON c.canvas_id = g.canvas_id
         ORDER BY g.canvas_id`,
      ).all(...params, limit, offset);
      return rows.map((row) => ({
        canvas:
          row.recorded === null
            ? { canvasId: row.canvas_id, manifestId: row.annotated_manifest, width: 0, height: 0, image: { id: '' } }
            : toCanvas(row),
        annotations: row.n,
      }));
    });
  }

  putVocabulary(vocabulary: Vocabulary): Promise<{ concepts: number }> {
    return run('putVocabulary', this.#isClosed, () => {
      checkVocabulary(vocabulary);
      return this.#db.transaction(() => {
        this.#stmt.putVocabulary.run(vocabulary.id, vocabulary.label ?? null);
        this.#stmt.clearConcepts.run(vocabulary.id);
        for (const concept of vocabulary.concepts) {
          this.#stmt.insertConcept.run(vocabulary.id, concept.uri, JSON.stringify(concept));
          for (const match of new Set(concept.exactMatch ?? [])) this.#stmt.insertMatch.run(match, vocabulary.id, concept.uri);
        }
        return { concepts: vocabulary.concepts.length };
      })();
    });
  }

  getVocabulary(id: string): Promise<Vocabulary | undefined> {
    return run('getVocabulary', this.#isClosed, () => {
      const row = this.#stmt.getVocabulary.get(id);
      if (!row) return undefined;
      const concepts = this.#stmt.concepts.all(id).map((c) => JSON.parse(c.json) as Concept);
      return { id: row.id, ...(row.label !== null && { label: row.label }), concepts };
    });
  }

  listVocabularies(): Promise<VocabularySummary[]> {
    return run('listVocabularies', this.#isClosed, () =>
      this.#stmt.listVocabularies.all().map((row) => ({ id: row.id, ...(row.label !== null && { label: row.label }), concepts: row.n })),
    );
  }

  findConcept(uri: string): Promise<(Concept & { readonly vocabulary: string }) | undefined> {
    return run('findConcept', this.#isClosed, () => {
      checkText('uri', uri);
      const row = this.#stmt.conceptByUri.get(uri) ?? this.#stmt.conceptByMatch.get(uri);
      return row && { ...(JSON.parse(row.json) as Concept), vocabulary: row.vocabulary_id };
    });
  }

  createDataset(input: { readonly name: string; readonly description?: string }): Promise<Dataset> {
    return run('createDataset', this.#isClosed, () => {
      const name = checkDatasetName(input?.name);
      checkDescription(input.description);
      return this.#db.transaction(() => {
        this.#stmt.createDataset.run(name, input.description ?? null, nowIso());
        return this.#dataset(name)!;
      })();
    });
  }

  getDataset(name: string): Promise<Dataset | undefined> {
    return run('getDataset', this.#isClosed, () => this.#dataset(checkDatasetName(name)));
  }

  listDatasets(): Promise<Dataset[]> {
    return run('listDatasets', this.#isClosed, () =>
      this.#db.transaction(() => this.#stmt.datasetNames.all().map((row) => this.#dataset(row.name)!))(),
    );
  }

  addDatasetSources(name: string, sources: readonly string[]): Promise<{ added: number }> {
    return run('addDatasetSources', this.#isClosed, () => {
      checkDatasetName(name);
      checkUris('Dataset sources', sources);
      return this.#db.transaction(() => {
        this.#requireDataset(name);
        let added = 0;
        for (const source of sources) added += this.#stmt.addSource.run(name, source).changes;
        return { added };
      })();
    });
  }

  addDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ added: number }> {
    return run('addDatasetMembers', this.#isClosed, () => {
      checkDatasetName(name);
      checkUris('Annotation ids', annotationIds);
      return this.#db.transaction(() => {
        this.#requireDataset(name);
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
    });
  }

  removeDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ removed: number }> {
    return run('removeDatasetMembers', this.#isClosed, () => {
      checkDatasetName(name);
      checkUris('Annotation ids', annotationIds);
      return this.#db.transaction(() => {
        this.#requireDataset(name);
        let removed = 0;
        for (const id of annotationIds) removed += this.#stmt.removeMember.run(name, id).changes;
        return { removed };
      })();
    });
  }

  deleteDataset(name: string): Promise<boolean> {
    return run('deleteDataset', this.#isClosed, () => this.#stmt.deleteDataset.run(checkDatasetName(name)).changes > 0);
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

  #requireDataset(name: string): void {
    if (!this.#stmt.getDataset.get(name)) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No dataset named ${name}`, { details: { dataset: name } });
    }
  }

  /** The WHERE clause of a query over `annotations a` (filters only: paging is the caller's). */
  #where(q: AnnotationQuery): { sql: string; params: unknown[] } {
    checkQuery(q);
    const clauses: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]): void => {
      clauses.push(clause);
      params.push(...values);
    };
    if (q.canvasId !== undefined) {
      if (typeof q.canvasId === 'string') add('a.canvas_id = ?', q.canvasId);
      else add('a.canvas_id IN (SELECT value FROM json_each(?))', JSON.stringify(q.canvasId));
    }
    if (q.manifestId !== undefined) add('a.manifest_id = ?', q.manifestId);
    if (q.modelId !== undefined) add('a.model_id = ?', q.modelId);
    if (q.reviewState !== undefined) {
      if (typeof q.reviewState === 'string') add('a.review_state = ?', q.reviewState);
      else add('a.review_state IN (SELECT value FROM json_each(?))', JSON.stringify(q.reviewState));
    }
    if (q.motivation !== undefined) {
      add(
        `(a.motivation = ? OR (substr(a.motivation, 1, 1) = '[' AND EXISTS (SELECT 1 FROM json_each(a.motivation) WHERE value = ?)))`,
        q.motivation,
        q.motivation,
      );
    }
    if (q.concept !== undefined) add('(a.concept = ? OR a.label = ?)', q.concept, q.concept);
    if (q.minConfidence !== undefined) add('a.confidence >= ?', q.minConfidence);
    if (q.maxConfidence !== undefined) add('a.confidence <= ?', q.maxConfidence);
    if (q.ids !== undefined) add('a.id IN (SELECT value FROM json_each(?))', JSON.stringify(q.ids));
    if (q.dataset !== undefined) {
      this.#requireDataset(q.dataset);
      // Annotations only know their manifest: a collection source matches once its manifests are sources too.
      add(
        `(a.id IN (SELECT annotation_id FROM dataset_members WHERE name = ?)
          OR a.manifest_id IN (SELECT source FROM dataset_sources WHERE name = ?))`,
        q.dataset,
        q.dataset,
      );
    }
    return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
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

function notFound(id: string): LoupeError {
  return new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation with the id ${id}`, { details: { id } });
}

/** The columns derived from an annotation's content, recomputed whenever its body changes. */
function columnsOf(annotation: Annotation): { motivation: string; confidence: number | null; concept: string | null; label: string | null } {
  return {
    motivation: motivationColumn(annotation.motivation),
    confidence: annotation['loupe:confidence'] ?? null,
    ...indexedBody(annotation.body),
  };
}

/**
 * Revision 0 as the row holds it before any review: its state and reviewer are the producer's
 * (unreviewed with no reviewer for a model; accepted by the importer for ground truth).
 */
function revisionZeroOf(row: AnnotationRow): { revision: 0; state: ReviewState; reviewer: string | null; at: string } {
  return { revision: 0, state: row.review_state, reviewer: row.reviewer, at: row.reviewed_at ?? row.generated ?? row.created };
}

function toAnnotation(row: AnnotationRow): Annotation {
  const annotation = JSON.parse(row.body_json) as Annotation & { modified?: string; 'loupe:revision'?: number };
  annotation.created = row.created;
  annotation['loupe:reviewState'] = row.review_state;
  annotation['loupe:revision'] = row.revision;
  if (row.reviewed_at !== null) annotation.modified = row.reviewed_at;
  return annotation;
}

function toCanvas(row: CanvasRow): CanvasRecord {
  return {
    canvasId: row.canvas_id,
    manifestId: row.manifest_id,
    ...(row.label !== null && { label: row.label }),
    width: row.width,
    height: row.height,
    image: JSON.parse(row.image_json) as CanvasRecord['image'],
  };
}

/** A list of motivations is kept as its JSON array; a single one as itself (none starts with '['). */
function motivationColumn(motivation: Annotation['motivation']): string {
  return Array.isArray(motivation) ? JSON.stringify(motivation) : motivation;
}
