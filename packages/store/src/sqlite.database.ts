import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LoupeError } from '@loupe/contracts';
import { stripPublicUrls } from './sqlite/public-url.migration.js';
import { SEARCH_INDEX_MIGRATION } from './sqlite/search-index.migration.js';

export type SqliteDatabase = Database.Database;

/** A schema step: SQL, or a function for what SQL alone cannot say (it runs in the same transaction). */
export type Migration = string | ((db: SqliteDatabase) => void);

/**
 * One schema for the whole Loupe database file, because both stores may share a file and
 * `PRAGMA user_version` is one number per file. Append only: a released step never changes.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1: the ground-truth store.
  `CREATE TABLE annotations (
     id            TEXT PRIMARY KEY,
     manifest_id   TEXT NOT NULL,
     canvas_id     TEXT NOT NULL,
     image_index   INTEGER NOT NULL,
     stage         TEXT NOT NULL,
     model_id      TEXT NOT NULL,
     model_version TEXT NOT NULL,
     motivation    TEXT NOT NULL,
     confidence    REAL,
     review_state  TEXT NOT NULL DEFAULT 'unreviewed'
                   CHECK (review_state IN ('unreviewed', 'accepted', 'rejected', 'corrected')),
     reviewer      TEXT,
     reviewed_at   TEXT,
     created       TEXT NOT NULL,
     generated     TEXT,
     body_json     TEXT NOT NULL,
     set_key       TEXT,
     position      INTEGER NOT NULL
   );
   CREATE INDEX annotations_canvas ON annotations (canvas_id, image_index, stage, model_id, position);
   CREATE INDEX annotations_manifest ON annotations (manifest_id);
   CREATE INDEX annotations_model ON annotations (model_id);
   CREATE INDEX annotations_review_state ON annotations (review_state);
   CREATE INDEX annotations_set ON annotations (set_key);`,
  // 2: jobs and their progress.
  `CREATE TABLE jobs (
     id          TEXT PRIMARY KEY,
     source      TEXT NOT NULL,
     state       TEXT NOT NULL CHECK (state IN ('queued', 'harvesting', 'running', 'done', 'failed')),
     created     TEXT NOT NULL,
     finished    TEXT,
     stages_json TEXT NOT NULL
   );
   CREATE INDEX jobs_created ON jobs (created);
   CREATE TABLE job_manifests (
     job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     manifest_id TEXT NOT NULL,
     PRIMARY KEY (job_id, manifest_id)
   );
   CREATE TABLE job_tasks (
     job_id       TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     key          TEXT NOT NULL,
     canvas_id    TEXT NOT NULL,
     canvas_index INTEGER NOT NULL,
     image_index  INTEGER NOT NULL,
     state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
     PRIMARY KEY (job_id, key)
   );
   CREATE INDEX job_tasks_state ON job_tasks (job_id, state);
   CREATE TABLE job_stage_events (
     job_id TEXT NOT NULL,
     key    TEXT NOT NULL,
     stage  TEXT NOT NULL,
     ms     REAL NOT NULL,
     PRIMARY KEY (job_id, key, stage),
     FOREIGN KEY (job_id, key) REFERENCES job_tasks (job_id, key) ON DELETE CASCADE
   );
   CREATE TABLE job_failures (
     job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
     key     TEXT,
     canvas  TEXT,
     stage   TEXT NOT NULL,
     code    TEXT NOT NULL,
     message TEXT NOT NULL,
     -- The task key, or for a failure without a task its canvas and message: what makes a
     -- redelivered failure the same failure (a NULL key would never collide in a UNIQUE).
     dedup   TEXT NOT NULL,
     UNIQUE (job_id, dedup, stage, code)
   );`,
  // 3: curation. `concept` and `label` mirror the body (first SpecificResource source; first
  // TextualBody value with purpose tagging, classifying or identifying) so that filters use an
  // index; the backfill below and `indexedBody` in annotation-checks.ts compute the same.
  // Paths go through `fullkey` so that a body element that is not an object yields NULL instead
  // of a malformed-JSON error. Revision rows are written lazily, at an annotation's first review:
  // until then the row itself is revision 0 (a review recorded by schema 2 shows as revision 0's
  // state and reviewer).
  `ALTER TABLE annotations ADD COLUMN concept TEXT;
   ALTER TABLE annotations ADD COLUMN label TEXT;
   ALTER TABLE annotations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
   UPDATE annotations SET
     concept = CASE json_type(body_json, '$.body')
       WHEN 'array' THEN (
         SELECT json_extract(annotations.body_json, b.fullkey || '.source') FROM json_each(annotations.body_json, '$.body') AS b
          WHERE json_extract(annotations.body_json, b.fullkey || '.type') = 'SpecificResource'
            AND json_type(annotations.body_json, b.fullkey || '.source') = 'text'
          ORDER BY b.key LIMIT 1)
       WHEN 'object' THEN CASE
         WHEN json_extract(body_json, '$.body.type') = 'SpecificResource' AND json_type(body_json, '$.body.source') = 'text'
         THEN json_extract(body_json, '$.body.source') END
     END,
     label = CASE json_type(body_json, '$.body')
       WHEN 'array' THEN (
         SELECT json_extract(annotations.body_json, b.fullkey || '.value') FROM json_each(annotations.body_json, '$.body') AS b
          WHERE json_extract(annotations.body_json, b.fullkey || '.type') = 'TextualBody'
            AND json_type(annotations.body_json, b.fullkey || '.value') = 'text'
            AND json_extract(annotations.body_json, b.fullkey || '.purpose') IN ('tagging', 'classifying', 'identifying')
          ORDER BY b.key LIMIT 1)
       WHEN 'object' THEN CASE
         WHEN json_extract(body_json, '$.body.type') = 'TextualBody' AND json_type(body_json, '$.body.value') = 'text'
          AND json_extract(body_json, '$.body.purpose') IN ('tagging', 'classifying', 'identifying')
         THEN json_extract(body_json, '$.body.value') END
     END;
   CREATE INDEX annotations_concept ON annotations (concept);
   CREATE INDEX annotations_label ON annotations (label);
   CREATE INDEX annotations_confidence ON annotations (confidence);
   CREATE INDEX annotations_review_model ON annotations (review_state, model_id);
   DROP INDEX annotations_review_state; -- a prefix of annotations_review_model
   CREATE TABLE annotation_revisions (
     annotation_id TEXT NOT NULL REFERENCES annotations (id) ON DELETE CASCADE,
     revision      INTEGER NOT NULL,
     state         TEXT NOT NULL CHECK (state IN ('unreviewed', 'accepted', 'rejected', 'corrected')),
     reviewer      TEXT,
     at            TEXT NOT NULL,
     note          TEXT,
     -- The whole annotation at this revision, without its review fields.
     body_json     TEXT NOT NULL,
     PRIMARY KEY (annotation_id, revision)
   );
   CREATE TABLE canvases (
     canvas_id   TEXT PRIMARY KEY,
     manifest_id TEXT NOT NULL,
     label       TEXT,
     width       INTEGER NOT NULL,
     height      INTEGER NOT NULL,
     image_json  TEXT NOT NULL
   );
   CREATE TABLE vocabularies (
     id    TEXT PRIMARY KEY,
     label TEXT
   );
   CREATE TABLE concepts (
     vocabulary_id TEXT NOT NULL REFERENCES vocabularies (id) ON DELETE CASCADE,
     uri           TEXT NOT NULL,
     json          TEXT NOT NULL,
     PRIMARY KEY (vocabulary_id, uri)
   );
   CREATE INDEX concepts_uri ON concepts (uri);
   CREATE TABLE concept_matches (
     uri           TEXT NOT NULL,
     vocabulary_id TEXT NOT NULL,
     concept_uri   TEXT NOT NULL,
     FOREIGN KEY (vocabulary_id, concept_uri) REFERENCES concepts (vocabulary_id, uri) ON DELETE CASCADE
   );
   CREATE INDEX concept_matches_uri ON concept_matches (uri);
   CREATE INDEX concept_matches_concept ON concept_matches (vocabulary_id, concept_uri);
   CREATE TABLE datasets (
     name        TEXT PRIMARY KEY,
     description TEXT,
     created     TEXT NOT NULL
   );
   CREATE TABLE dataset_sources (
     name   TEXT NOT NULL REFERENCES datasets (name) ON DELETE CASCADE,
     source TEXT NOT NULL,
     PRIMARY KEY (name, source)
   );
   CREATE INDEX dataset_sources_source ON dataset_sources (source);
   CREATE TABLE dataset_members (
     name          TEXT NOT NULL REFERENCES datasets (name) ON DELETE CASCADE,
     annotation_id TEXT NOT NULL REFERENCES annotations (id) ON DELETE CASCADE,
     PRIMARY KEY (name, annotation_id)
   );
   CREATE INDEX dataset_members_annotation ON dataset_members (annotation_id);`,
  // 4: what a restart needs to resume a job without its source: how it was asked for, and each
  // task as it was queued. NULL for jobs from before: those cannot be resumed, only failed.
  `ALTER TABLE jobs ADD COLUMN spec_json TEXT;
   ALTER TABLE job_tasks ADD COLUMN task_json TEXT;
   CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN ('queued', 'harvesting', 'running');`,
  // 5: each manifest's JSON as harvested (brotli), so that the enriched manifest never reads the
  // source again. NULL for jobs from before, and for manifests not kept: those are read again.
  `ALTER TABLE job_manifests ADD COLUMN document TEXT;
   ALTER TABLE job_manifests ADD COLUMN json_br BLOB;`,
  // 6: a text stage's page as the engine laid it out, one per result set (what ALTO and hOCR are
  // written from). Its own table, not a column of annotations: a set may have a page and no
  // annotation, and the page is replaced with the set, never reviewed.
  `CREATE TABLE ocr_pages (
     set_key       TEXT PRIMARY KEY,
     manifest_id   TEXT NOT NULL,
     canvas_id     TEXT NOT NULL,
     image_index   INTEGER NOT NULL,
     stage         TEXT NOT NULL,
     model_id      TEXT NOT NULL,
     model_version TEXT NOT NULL,
     generated     TEXT NOT NULL,
     page_json     TEXT NOT NULL
   );
   CREATE INDEX ocr_pages_canvas ON ocr_pages (canvas_id, image_index, stage, model_id);
   CREATE INDEX ocr_pages_manifest ON ocr_pages (manifest_id);`,
  // 7: annotation ids without the public URL (`<key>`, not `<url>/v1/annotations/<key>`), so a
  // store can be served under another URL; the URL is put back when an annotation is read.
  stripPublicUrls,
  // 8: the full-text index of IIIF Content Search, kept in step by triggers (see the file).
  SEARCH_INDEX_MIGRATION,
  // 9: a layer's canvases (a manifest's annotations of one model in one review state, by canvas),
  // read from the index alone: a layer page asks for them each time a viewer turns a page.
  `CREATE INDEX annotations_layer ON annotations (manifest_id, model_id, review_state, canvas_id);`,
  // 10: each canvas's place in its manifest, as harvested: a layer's pages follow it.
  `ALTER TABLE canvases ADD COLUMN canvas_index INTEGER;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface OpenDatabaseOptions {
  /**
   * Hold the file for as long as it is open: another process (or connection) opening it fails
   * with LOUPE_ERR_STORE and `details.inUse`. The operating system drops the lock when the
   * process dies, even by SIGKILL, so a crashed holder never leaves the file locked.
   */
  readonly exclusive?: boolean;
}

/**
 * Opens (creating if needed) a Loupe database and brings its schema up to date. WAL lets the
 * annotation store and the job store hold separate connections to one file; NORMAL is durable
 * across application crashes under WAL and only an OS crash can lose the last commits.
 */
export function openDatabase(path: string, opts: OpenDatabaseOptions = {}): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
    // An exclusive open that finds the file held should say so at once, not after a wait.
    db = new Database(path, opts.exclusive ? { timeout: 0 } : {});
    // Before the first access: in WAL mode the lock is then taken by the first read and kept.
    if (opts.exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new LoupeError('LOUPE_ERR_STORE', `The database ${path} is in use by another process`, { cause: err, details: { path, inUse: true } });
    }
    throw storeError('open', err, { path });
  }
}

/**
 * SQLite's own consistency check of a database file (`PRAGMA integrity_check`): `['ok']` when the
 * file is sound, else each problem it found. Read-only; for operators and crash tests.
 */
export function integrityCheck(path: string): string[] {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((row) => row.integrity_check);
  } catch (err) {
    throw storeError('integrityCheck', err, { path });
  } finally {
    db?.close();
  }
}

/** Runs one schema step (tests build databases of an earlier schema with it). */
export function applyMigration(db: SqliteDatabase, step: Migration): void {
  if (typeof step === 'string') db.exec(step);
  else step(db);
}

function migrate(db: SqliteDatabase): void {
  // IMMEDIATE takes the write lock before reading the version, so two processes opening a new
  // file at once cannot both apply the same step.
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new LoupeError('LOUPE_ERR_STORE', `The database has schema version ${current}; this Loupe knows up to ${SCHEMA_VERSION}`, {
        details: { schemaVersion: current, supported: SCHEMA_VERSION },
      });
    }
    for (const step of MIGRATIONS.slice(current)) applyMigration(db, step);
    if (current < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** Driver errors stop here: callers see LOUPE_ERR_STORE with the driver error as its cause. */
export function storeError(operation: string, err: unknown, details?: Record<string, unknown>): LoupeError {
  if (err instanceof LoupeError) return err;
  return new LoupeError('LOUPE_ERR_STORE', `The store failed (${operation})`, { cause: err, details: { operation, ...details } });
}

/**
 * Runs a synchronous store operation as a promise, mapping failures. The ports are async because
 * server-grade adapters are; better-sqlite3 is synchronous, so each call runs to completion
 * before another starts and concurrent callers never interleave inside a transaction.
 */
export function run<T>(operation: string, isClosed: () => boolean, fn: () => T): Promise<T> {
  try {
    if (isClosed()) throw new LoupeError('LOUPE_ERR_STORE', 'The store is closed', { details: { operation } });
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(storeError(operation, err));
  }
}

export function nowIso(): string {
  return new Date().toISOString();
}
