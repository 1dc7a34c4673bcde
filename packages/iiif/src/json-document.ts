import { LoupeError } from '@loupe/contracts/core';

/**
 * Decodes and parses one JSON document (manifest, collection, info.json). `document` is its URL or
 * path, used only to name it in errors. The decode is strict: a Latin-1 file passed off as JSON
 * would otherwise parse into silently mangled labels. A leading BOM is accepted and dropped.
 *
 * Errors say where the document stopped being JSON, never what it holds: V8's own message quotes
 * the text ("Unexpected token 'r', "root:x:0:0"... is not valid JSON"), and a caller who can make
 * Loupe load a document it should not see (a file, an internal URL) would read it back that way.
 */
export function parseJsonDocument(bytes: Uint8Array, document: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_UTF8', `${document} is not UTF-8: expected a JSON document in UTF-8`, { cause: err, details: { document } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_JSON', `${document} is not JSON: ${syntaxProblem(err, text.length)}`, { cause: err, details: { document } });
  }
}

/** Where the parse failed, in words that carry none of the document's characters. */
function syntaxProblem(err: unknown, length: number): string {
  const message = err instanceof Error ? err.message : '';
  if (length === 0 || /end of JSON input/i.test(message)) return 'expected a JSON document, the text ends too early';
  const position = /at position (\d+)/.exec(message)?.[1];
  return `expected a JSON document, a syntax error ${position === undefined ? 'was found' : `at character ${position}`}`;
}
