import { LoupeError, type OcrLine } from '@loupe/contracts';

/*
 * The full-text index behind IIIF Content Search: a port beside the annotation store, kept in step
 * with it by the store's own writes (SQLite: triggers in the same transaction; MongoDB: the
 * entries the repositories write, see mongo.content-search.ts). It holds, per manifest:
 * - every line of every OCR page (with its words and their boxes, in canvas coordinates), and
 * - the text bodies of annotations that are not transcriptions: tags and labels (purpose tagging,
 *   classifying, identifying: TextualBody values and SpecificResource labels), captions and
 *   descriptions, comments, of the current revision, rejected annotations left out.
 * Transcriptions are searched through their OCR page, where each word has a box.
 */

/** What a hit is: a line an OCR engine read, or an annotation's text. */
export type ContentSearchHit = OcrLineHit | AnnotationTextHit;

export interface OcrLineHit {
  readonly kind: 'ocr';
  readonly canvasId: string;
  readonly imageIndex: number;
  readonly modelId: string;
  readonly line: OcrLine;
  /** Indexes into `line.words` of the words that hold a query term (empty when the line has no words). */
  readonly matched: readonly number[];
}

export interface AnnotationTextHit {
  readonly kind: 'annotation';
  readonly canvasId: string;
  /** As the store keeps it (the key, without the public URL). */
  readonly annotationId: string;
  /** The annotation's motivation as stored: one, or a JSON array of several. */
  readonly motivation: string;
  /** The body text that matched. */
  readonly text: string;
}

export interface ContentSearchQuery {
  readonly manifestId: string;
  /** Words; a hit holds every one (after case and diacritic folding, see searchTerms). */
  readonly q: string;
  /** Only hits of these motivations; OCR lines count as 'supplementing'. Absent: every motivation. */
  readonly motivations?: readonly string[];
  readonly limit: number;
  readonly offset: number;
}

export interface ContentSearchPage {
  /** How many hits the query has without limit and offset. */
  readonly total: number;
  /** Ordered by canvas id, then OCR lines in reading order, then annotations in the store's order. */
  readonly hits: readonly ContentSearchHit[];
}

export interface TermQuery {
  readonly manifestId: string;
  /** The start of a word (folded like the index); earlier words in it are kept in front of each term. */
  readonly q: string;
  /** Only terms with at least this many hits. Default 1. */
  readonly min?: number;
  readonly limit: number;
}

export interface TermCount {
  /** The folded word, what a search for it matches (with the query's earlier words in front). */
  readonly term: string;
  /** How many hits a search for it would return. */
  readonly count: number;
}

/**
 * Where a manifest's text is searched. Only the newest reading of a canvas image counts (as the
 * ALTO and hOCR documents serve it): a canvas read by two OCR models gives one hit per line, not two.
 */
export interface ContentSearchIndex {
  /** A `q` without any word (letters or digits) is LOUPE_ERR_VALIDATION. */
  search(query: ContentSearchQuery): Promise<ContentSearchPage>;
  /** Words of the manifest's text starting with the query's last word, most hits first. */
  terms(query: TermQuery): Promise<TermCount[]>;
  close(): Promise<void>;
}

/**
 * The words of a text as the index compares them: Unicode letters and digits, lower case,
 * diacritics removed ("Café" -> "cafe"). SQLite's FTS5 `unicode61 remove_diacritics 2` tokenizer
 * folds the same way for Latin script; this is what picks the matched words inside a hit line and
 * what the MongoDB adapter compares with.
 */
export function searchTerms(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '');
}

/** The query's words, refusing a query that has none. */
export function queryTerms(q: string): string[] {
  const terms = searchTerms(q);
  if (terms.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `The query ${JSON.stringify(q)} has no word to search for`, { details: { q } });
  return terms;
}

/** The words of `line` that hold one of `terms`. */
export function matchedWords(line: OcrLine, terms: readonly string[]): number[] {
  const wanted = new Set(terms);
  const matched: number[] = [];
  line.words.forEach((word, i) => {
    if (searchTerms(word.text).some((term) => wanted.has(term))) matched.push(i);
  });
  return matched;
}

/** Whether every term is among the text's words: what a hit is, for adapters that check it themselves. */
export function holdsAll(text: string, terms: readonly string[]): boolean {
  const words = new Set(searchTerms(text));
  return terms.every((term) => words.has(term));
}

export function checkSearchQuery(query: ContentSearchQuery): string[] {
  if (query.manifestId === '') throw new LoupeError('LOUPE_ERR_VALIDATION', 'A search needs a manifest id');
  if (!Number.isInteger(query.limit) || query.limit < 1 || !Number.isInteger(query.offset) || query.offset < 0) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'limit must be a positive integer and offset a non-negative one', { details: { limit: query.limit, offset: query.offset } });
  }
  return queryTerms(query.q);
}
