/**
 * CSV as RFC 4180 writes it: fields separated by commas, records ended by CRLF, and a field that
 * holds a comma, a double quote, CR or LF enclosed in double quotes with its quotes doubled.
 * Identifiers here are URIs, which may hold commas (IIIF region parameters) and, from careless
 * sources, quotes or line breaks: quoting keeps every row one record.
 */
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
