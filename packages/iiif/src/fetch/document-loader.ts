import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoupeError } from '@loupe/contracts';
import { parseJsonDocument } from '../json-document.js';
import type { DocumentLoader } from '../types.js';
import { FETCHER_DEFAULTS, type Fetcher } from './fetcher.js';

export interface DocumentLoaderOptions {
  /** Directory that relative paths are resolved against; default the process's working directory. */
  readonly baseDir?: string;
  /** Largest file read from disk; default the fetcher's `maxJsonBytes`. */
  readonly maxBytes?: number;
}

/** A scheme of two letters or more, so that a Windows drive (`C:\...`) still reads as a path. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/**
 * Loads a manifest or collection from wherever the user points: http(s) URLs through the fetcher
 * (limits, retries, cache), `file:` URLs and plain paths from disk. Both go through the same
 * `parseJsonDocument`, so a bad file and a bad response fail with the same codes, naming the document.
 */
export function createDocumentLoader(fetcher: Pick<Fetcher, 'getJson'> & Partial<Pick<Fetcher, 'options'>>, options: DocumentLoaderOptions = {}): DocumentLoader {
  const maxBytes = options.maxBytes ?? fetcher.options?.maxJsonBytes ?? FETCHER_DEFAULTS.maxJsonBytes;
  return async (ref: string): Promise<unknown> => {
    const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
    if (scheme === 'http' || scheme === 'https') return fetcher.getJson(ref);
    let path: string;
    if (scheme === 'file') {
      try {
        path = fileURLToPath(ref);
      } catch (err) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `${ref}: not a valid file URL`, { cause: err, details: { url: ref } });
      }
    } else if (scheme === undefined) {
      path = resolve(options.baseDir ?? process.cwd(), ref);
    } else {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `${ref}: unsupported scheme ${scheme}: (use http, https, file or a path)`, { details: { url: ref } });
    }
    return parseJsonDocument(await readDocument(path, maxBytes), path);
  };
}

async function readDocument(path: string, maxBytes: number): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${path}: not a file`, { details: { path } });
    if (info.size > maxBytes) {
      throw new LoupeError('LOUPE_ERR_FETCH_TOO_LARGE', `${path}: ${info.size} bytes, above the limit of ${maxBytes}`, { details: { path, maxBytes } });
    }
    return await readFile(path);
  } catch (err) {
    if (err instanceof LoupeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${path}: no such file`, { cause: err, details: { path } });
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${path}: cannot be read (${code ?? (err as Error).message})`, { cause: err, details: { path } });
  }
}
