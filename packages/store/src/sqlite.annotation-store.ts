import { composeAnnotationStore } from './composed.annotation-store.js';
import { openDatabase, run } from './sqlite.database.js';
import { SqliteAnnotationsRepository } from './sqlite/annotations.repository.js';
import { SqliteCanvasesRepository } from './sqlite/canvases.repository.js';
import { SqliteDatasetsRepository } from './sqlite/datasets.repository.js';
import { SqliteOcrPagesRepository } from './sqlite/ocr-pages.repository.js';
import { SqliteReviewsRepository } from './sqlite/reviews.repository.js';
import { SqliteVocabulariesRepository } from './sqlite/vocabularies.repository.js';
import type { AnnotationStore } from './store.js';

/**
 * The embedded ground-truth store: one SQLite file (or memory), no server. One repository per
 * aggregate (sqlite/*.repository.ts), synchronous over one connection; better-sqlite3 runs each
 * call to completion, so concurrent callers never interleave inside a transaction.
 */
export function openSqliteAnnotationStore(opts: { path: string | ':memory:' }): AnnotationStore {
  const db = openDatabase(opts.path);
  let closed = false;
  const isClosed = (): boolean => closed;
  // Filters by dataset need the datasets: the repositories that filter annotations get them.
  const datasets = new SqliteDatasetsRepository(db);
  return composeAnnotationStore(
    {
      annotations: new SqliteAnnotationsRepository(db, datasets),
      reviews: new SqliteReviewsRepository(db, datasets),
      canvases: new SqliteCanvasesRepository(db, datasets),
      ocrPages: new SqliteOcrPagesRepository(db),
      vocabularies: new SqliteVocabulariesRepository(db),
      datasets,
    },
    {
      run: async (operation, fn) => run(operation, isClosed, fn),
      close: () => {
        if (!closed) {
          closed = true;
          db.close();
        }
        return Promise.resolve();
      },
    },
  );
}
