import { LoupeError } from '@loupe/contracts';

/**
 * Decodes and parses one JSON document (manifest, collection, info.json). `document` is its URL or
 * path, used only to name it in errors. The decode is strict: a Latin-1 file passed off as JSON
 * would otherwise parse into silently mangled labels. A leading BOM is accepted and dropped.
 */
export function parseJsonDocument(bytes: Uint8Array, document: string): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_UTF8', `${document} is not UTF-8: ${reason(err)}`, { cause: err, details: { document } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_JSON', `${document} is not JSON: ${reason(err)}`, { cause: err, details: { document } });
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
