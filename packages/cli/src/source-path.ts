import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A manifest or collection given as a local file is read from disk; anything with a scheme is a URL. */
export const isUrl = (source: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(source);

/** A command's source argument as the loader takes it: a URL as given, a file URL or a path made absolute. */
export function resolveSource(source: string): string {
  if (/^file:/i.test(source)) return fileURLToPath(source);
  return isUrl(source) ? source : path.resolve(source);
}
