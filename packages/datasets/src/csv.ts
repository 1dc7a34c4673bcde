/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, and a field that
 * holds a comma, a double quote, CR or LF enclosed in double quotes with its quotes doubled.
 * Identifiers here are URIs, which may hold commas (IIIF region parameters) and, from careless
 * sources, quotes or line breaks: quoting keeps every row one record.
 *
 * The reader is lenient where spreadsheets and pandas are sloppy (any line ending, a BOM, stray
 * whitespace, unnamed index columns) and strict where data would silently shift (an unterminated
 * quote, values beyond the header, a required column missing).
 */
import { LoupeError } from '@loupe/contracts';

export type CsvValue = string | number | boolean | null | undefined;

/**
 * One field, quoted only when it has to be. null and undefined are empty fields. A text (never a
 * number) that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or CR) gets a
 * leading apostrophe: these reports are opened in spreadsheets, and identifiers come from
 * manifests Loupe does not control.
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A whole document: the header record, then one record per row, each ended by CRLF. */
export function toCsv(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) lines.push(row.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}

export interface CsvParseOptions {
  /** The file's name, for error messages. */
  readonly source?: string;
}

interface RawRecord {
  /** 1-based line on which the record starts (a quoted field may carry it over several lines). */
  readonly line: number;
  readonly fields: string[];
}

function sourceName(source: string | undefined): string {
  return source ?? 'the CSV';
}

function readRecords(text: string, source: string | undefined): RawRecord[] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: RawRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  // A record exists once anything was read since the last record end: distinguishes a final
  // newline (no further record) from a last line holding one empty field.
  let started = false;
  let i = 0;
  const endRecord = (): void => {
    fields.push(field);
    records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    started = false;
  };
  while (i < input.length) {
    const c = input[i]!;
    if (!started) {
      started = true;
      recordLine = line;
    }
    if (c === '"' && field.length === 0) {
      // A quoted field: runs to the next quote not followed by another quote.
      const openedAt = line;
      i++;
      for (;;) {
        if (i >= input.length) {
          throw new LoupeError('LOUPE_ERR_VALIDATION', `${sourceName(source)}: a quoted field opened on line ${openedAt} is never closed`, {
            details: { source, line: openedAt },
          });
        }
        const q = input[i]!;
        if (q === '"') {
          if (input[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\r' || q === '\n') {
          // Count CRLF once.
          if (!(q === '\n' && input[i - 1] === '\r')) line++;
        }
        field += q;
        i++;
      }
      // Text between the closing quote and the next separator is kept, as spreadsheets do.
      continue;
    }
    if (c === ',') {
      fields.push(field);
      field = '';
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && input[i + 1] === '\n' ? 2 : 1;
      line++;
      continue;
    }
    field += c;
    i++;
  }
  if (started) endRecord();
  // Blank lines at the end of a file are padding, not records of one empty field.
  while (records.length > 0 && records.at(-1)!.fields.length === 1 && records.at(-1)!.fields[0] === '') records.pop();
  return records;
}

/**
 * Every record as its fields, untouched (no trimming). A BOM is dropped; CRLF, LF and CR all end a
 * record, and line breaks inside quotes belong to the field. Empty lines at the end are dropped; an
 * empty line elsewhere is a record of one empty field.
 */
export function parseCsv(text: string, options: CsvParseOptions = {}): string[][] {
  return readRecords(text, options.source).map((r) => r.fields);
}

export interface CsvRecordsOptions extends CsvParseOptions {
  /** Columns that must be in the header (by name, after trimming). */
  readonly required?: readonly string[];
}

export interface CsvRecords {
  /** The named columns, trimmed, in file order; blank and pandas' 'Unnamed: N' columns left out. */
  readonly header: readonly string[];
  /** One per non-blank row, keyed by column name, values trimmed; a short row's missing fields are ''. */
  readonly records: readonly Readonly<Record<string, string>>[];
  /** The line each record starts on (1-based, the header is line 1), parallel to `records`. */
  readonly lines: readonly number[];
}

/** Index columns a spreadsheet or pandas wrote without a name: they carry no data of ours. */
function isUnnamed(name: string): boolean {
  return name === '' || /^Unnamed: \d+$/.test(name);
}

/**
 * Records keyed by header name, so files whose columns come in any order (or with extra ones)
 * read the same. Values are trimmed: exported cells often carry trailing spaces or a line break
 * inside their quotes. Rows whose every field is empty are skipped (spreadsheets pad files with
 * them). A row longer than the header is accepted only when its extra fields are empty, since
 * anything there means the columns shifted.
 */
export function csvRecords(text: string, options: CsvRecordsOptions = {}): CsvRecords {
  const { source } = options;
  const raw = readRecords(text, source);
  const headerRecord = raw[0];
  const names = (headerRecord?.fields ?? []).map((f) => f.trim());
  const columns: { readonly name: string; readonly index: number }[] = [];
  const seen = new Set<string>();
  names.forEach((name, index) => {
    if (isUnnamed(name)) return;
    if (seen.has(name)) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `${sourceName(source)}: the column '${name}' appears twice in the header`, {
        details: { source, column: name, columns: names },
      });
    }
    seen.add(name);
    columns.push({ name, index });
  });
  const header = columns.map((c) => c.name);
  const missing = (options.required ?? []).filter((name) => !seen.has(name));
  if (missing.length > 0) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `${sourceName(source)} has no column ${missing.map((m) => `'${m}'`).join(', ')} (columns found: ${header.length ? header.join(', ') : 'none'})`,
      { details: { source, missing, columns: header } },
    );
  }
  const records: Record<string, string>[] = [];
  const lines: number[] = [];
  for (const { line, fields } of raw.slice(1)) {
    if (fields.every((f) => f.trim() === '')) continue;
    const extra = fields.slice(names.length).findIndex((f) => f.trim() !== '');
    if (extra >= 0) {
      throw new LoupeError(
        'LOUPE_ERR_VALIDATION',
        `${sourceName(source)} line ${line}: ${fields.length} fields but the header names ${names.length} columns (field ${names.length + extra + 1} holds '${fields[names.length + extra]!.trim()}')`,
        { details: { source, line, fields: fields.length, columns: names.length } },
      );
    }
    const record: Record<string, string> = {};
    for (const { name, index } of columns) record[name] = (fields[index] ?? '').trim();
    records.push(record);
    lines.push(line);
  }
  return { header, records, lines };
}
