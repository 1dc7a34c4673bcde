import { readFile, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoupeError } from '@loupe/contracts/core';
import { parseJsonDocument } from '../json-document.js';
import type { DocumentLoader } from '../types.js';
import type { Fetcher } from './fetcher.js';
import { FETCHER_DEFAULTS } from './fetcher-options.js';

export interface DocumentLoaderOptions {
  /** Directory that relative paths are resolved against; default the process's working directory. */
  readonly baseDir?: string;
  /** Largest file read from disk; default the fetcher's `maxJsonBytes`. */
  readonly maxBytes?: number;
  /**
   * Where local files may be read from: `'none'` (the default: only http and https URLs, what
   * a server offers its callers), `'any'` (a command's own argument on a person's own machine),
   * or the directories whose files (after symbolic links are resolved) may be read.
   */
  readonly files?: 'none' | 'any' | readonly string[];
}

/** A scheme of two letters or more, so that a Windows drive (`C:\...`) still reads as a path. */
const SCHEME = /^([a-z][a-z0-9+.-]+):/i;

/** True for an http or https URL: the only sources a server takes from its callers, and the ones the fetcher loads. */
export function isHttpSource(ref: string): boolean {
  const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
  return scheme === 'http' || scheme === 'https';
}

/**
 * Loads a manifest or collection from wherever the user points: http(s) URLs through the fetcher
 * (limits, retries, cache, egress policy) and, where `files` allows, `file:` URLs and plain paths
 * from disk. Both go through the same `parseJsonDocument`, so a bad file and a bad response fail
 * with the same codes, naming the document.
 *
 * A loader that reads no files refuses every other reference with LOUPE_ERR_SOURCE_UNSUPPORTED
 * before touching the disk, so an API caller learns nothing about which paths exist.
 */
export function createDocumentLoader(fetcher: Pick<Fetcher, 'getJson'> & Partial<Pick<Fetcher, 'options'>>, options: DocumentLoaderOptions = {}): DocumentLoader {
  const maxBytes = options.maxBytes ?? fetcher.options?.maxJsonBytes ?? FETCHER_DEFAULTS.maxJsonBytes;
  const files = options.files ?? 'none';
  const roots = Array.isArray(files) ? Promise.all(files.map((dir) => realpath(resolve(dir)).catch(() => resolve(dir)))) : undefined;
  return async (ref: string): Promise<unknown> => {
    if (isHttpSource(ref)) return fetcher.getJson(ref);
    const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
    if (files === 'none') throw unsupported(ref, scheme);
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
    if (roots !== undefined && !within(await realpath(path).catch(() => path), await roots)) throw outsideRoots(ref);
    return parseJsonDocument(await readDocument(path, maxBytes), path);
  };
}

/** True when `path` is one of `roots` or lies below one. */
function within(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep));
}

function unsupported(ref: string, scheme: string | undefined): LoupeError {
  // Neither the path nor anything about it is repeated: the message is the same for every file.
  const what = scheme === undefined ? 'a local path' : `a ${scheme}: URL`;
  return new LoupeError('LOUPE_ERR_SOURCE_UNSUPPORTED', `the source is ${what}; only http and https URLs are accepted here`, {
    details: { scheme: scheme ?? null },
  });
}

function outsideRoots(ref: string): LoupeError {
  return new LoupeError('LOUPE_ERR_SOURCE_UNSUPPORTED', `${ref}: outside the folders this command may read`, { details: { url: ref } });
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
