import { LoupeError, type OcrLine } from '@loupe/contracts';
import {
  checkSearchQuery,
  matchedWords,
  queryTerms,
  type ContentSearchHit,
  type ContentSearchIndex,
  type ContentSearchPage,
  type ContentSearchQuery,
  type TermCount,
  type TermQuery,
} from './content-search.js';
import { openDatabase, run } from './sqlite.database.js';

interface EntryRow {
  canvas_id: string;
  annotation_id: string | null;
  image_index: number;
  model_id: string;
  motivation: string;
  text: string;
  line_json: string | null;
}

// An OCR line counts only in the newest reading of its canvas image (what ALTO and hOCR serve).
const NEWEST_READING = `(e.set_key IS NULL OR e.set_key = (
  SELECT p.set_key FROM ocr_pages p
   WHERE p.manifest_id = e.manifest_id AND p.canvas_id = e.canvas_id AND p.image_index = e.image_index
   ORDER BY p.generated DESC, p.set_key LIMIT 1))`;

// A motivation column holds one motivation, or a JSON array of several.
const MOTIVATION_IN = `(e.motivation IN (SELECT value FROM json_each(@motivations))
  OR (e.motivation LIKE '[%' AND EXISTS (SELECT 1 FROM json_each(e.motivation) m WHERE m.value IN (SELECT value FROM json_each(@motivations)))))`;

/**
 * The embedded store's full-text index (FTS5; schema step 8 builds it and its triggers keep it in
 * step with every write of the annotation store). Its own connection to the store's file, read
 * only in practice: WAL lets it read while the annotation store writes. An in-memory store is one
 * connection's own and cannot be searched from another: use a file.
 */
export function openSqliteContentSearch(opts: { path: string }): ContentSearchIndex {
  if (opts.path === ':memory:' || opts.path === '') {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'Content Search reads the store through a connection of its own: it needs a database file, not :memory:');
  }
  const db = openDatabase(opts.path);
  let closed = false;
  const isClosed = (): boolean => closed;
  const escape = (term: string): string => `"${term.replaceAll('"', '""')}"`;

  const search = (query: ContentSearchQuery): ContentSearchPage => {
    const terms = checkSearchQuery(query);
    const where = [
      'search_text MATCH @match',
      'e.manifest_id = @manifestId',
      NEWEST_READING,
      ...(query.motivations !== undefined ? [MOTIVATION_IN] : []),
    ].join(' AND ');
    const params = {
      match: terms.map(escape).join(' '),
      manifestId: query.manifestId,
      ...(query.motivations !== undefined && { motivations: JSON.stringify(query.motivations) }),
    };
    const from = 'FROM search_text JOIN search_entries e ON e.id = search_text.rowid';
    const total = (db.prepare(`SELECT count(*) AS n ${from} WHERE ${where}`).get(params) as { n: number }).n;
    const rows = db
      .prepare(
        `SELECT e.canvas_id, e.annotation_id, e.image_index, e.model_id, e.motivation, e.text, e.line_json ${from}
         WHERE ${where} ORDER BY e.canvas_id, e.annotation_id IS NOT NULL, e.id LIMIT @limit OFFSET @offset`,
      )
      .all({ ...params, limit: query.limit, offset: query.offset }) as EntryRow[];
    return { total, hits: rows.map((row) => hitOf(row, terms)) };
  };

  const terms = (query: TermQuery): TermCount[] => {
    const words = queryTerms(query.q);
    const prefix = words.at(-1)!;
    const before = words.slice(0, -1).join(' ');
    const rows = db
      .prepare(
        `SELECT v.term AS term, count(DISTINCT v.doc) AS n
           FROM search_terms v JOIN search_entries e ON e.id = v.doc
          WHERE v.term >= @lo AND v.term < @hi AND e.manifest_id = @manifestId AND ${NEWEST_READING}
          GROUP BY v.term HAVING n >= @min ORDER BY n DESC, v.term LIMIT @limit`,
      )
      .all({ lo: prefix, hi: prefix + String.fromCodePoint(0x10ffff), manifestId: query.manifestId, min: query.min ?? 1, limit: query.limit }) as {
      term: string;
      n: number;
    }[];
    return rows.map((row) => ({ term: before === '' ? row.term : `${before} ${row.term}`, count: row.n }));
  };

  return {
    search: (query) => run('search', isClosed, () => search(query)),
    terms: (query) => run('terms', isClosed, () => terms(query)),
    close: () => {
      if (!closed) {
        closed = true;
        db.close();
      }
      return Promise.resolve();
    },
  };
}

function hitOf(row: EntryRow, terms: readonly string[]): ContentSearchHit {
  if (row.line_json !== null) {
    const line = JSON.parse(row.line_json) as OcrLine;
    return { kind: 'ocr', canvasId: row.canvas_id, imageIndex: row.image_index, modelId: row.model_id, line, matched: matchedWords(line, terms) };
  }
  return { kind: 'annotation', canvasId: row.canvas_id, annotationId: row.annotation_id!, motivation: row.motivation, text: row.text };
}
