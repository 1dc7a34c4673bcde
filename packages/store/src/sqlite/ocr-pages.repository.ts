import type { OcrPage } from '@loupe/contracts';
import { checkKey, checkOcrPage, checkOcrPageFilter, checkText, setKeyOf } from '../annotation-checks.js';
import type { SqliteDatabase } from '../sqlite.database.js';
import type { OcrPageEntry, OcrPageFilter, ResultSetKey, StoredOcrPage } from '../store.js';
import { StatementCache } from './statement-cache.js';

interface OcrPageRow {
  manifest_id: string;
  canvas_id: string;
  image_index: number;
  stage: string;
  model_id: string;
  model_version: string;
  generated: string;
  page_json: string;
}

/** The text stages' pages, one per result set, kept as their JSON. */
export class SqliteOcrPagesRepository {
  readonly #queries: StatementCache;
  readonly #stmt;

  constructor(db: SqliteDatabase) {
    this.#queries = new StatementCache(db);
    this.#stmt = {
      put: db.prepare(
        `INSERT INTO ocr_pages (set_key, manifest_id, canvas_id, image_index, stage, model_id, model_version, generated, page_json)
         VALUES (@setKey, @manifestId, @canvasId, @imageIndex, @stage, @modelId, @modelVersion, @generated, @page)
         ON CONFLICT (set_key) DO UPDATE SET model_version = excluded.model_version, generated = excluded.generated, page_json = excluded.page_json`,
      ),
      remove: db.prepare<[string]>('DELETE FROM ocr_pages WHERE set_key = ?'),
    };
  }

  replaceOcrPage(key: ResultSetKey, modelVersion: string, page: OcrPage | undefined, generated: string): void {
    checkKey(key, modelVersion);
    checkOcrPage(page);
    checkText('generated', generated);
    const setKey = setKeyOf(key);
    if (page === undefined) {
      this.#stmt.remove.run(setKey);
      return;
    }
    const { manifestId, canvasId, imageIndex, stage, modelId } = key;
    this.#stmt.put.run({ setKey, manifestId, canvasId, imageIndex, stage, modelId, modelVersion, generated, page: JSON.stringify(page) });
  }

  ocrPages(filter: OcrPageFilter): StoredOcrPage[] {
    return this.#select(filter, 'page_json').map((row) => ({ ...entryOf(row), page: JSON.parse(row.page_json) as OcrPage }));
  }

  ocrPageEntries(filter: OcrPageFilter): OcrPageEntry[] {
    return this.#select(filter).map(entryOf);
  }

  #select(filter: OcrPageFilter, ...extra: 'page_json'[]): OcrPageRow[] {
    checkOcrPageFilter(filter);
    const clauses: string[] = [];
    const params: string[] = [];
    if (filter.manifestId !== undefined) {
      clauses.push('manifest_id = ?');
      params.push(filter.manifestId);
    }
    if (filter.canvasId !== undefined) {
      clauses.push('canvas_id = ?');
      params.push(filter.canvasId);
    }
    const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
    const columns = ['manifest_id', 'canvas_id', 'image_index', 'stage', 'model_id', 'model_version', 'generated', ...extra].join(', ');
    return this.#queries.prepared<OcrPageRow>(`SELECT ${columns} FROM ocr_pages ${where} ORDER BY canvas_id, image_index, stage, model_id`).all(...params);
  }
}

function entryOf(row: Omit<OcrPageRow, 'page_json'>): OcrPageEntry {
  return {
    key: { manifestId: row.manifest_id, canvasId: row.canvas_id, imageIndex: row.image_index, stage: row.stage, modelId: row.model_id },
    modelVersion: row.model_version,
    generated: row.generated,
  };
}
