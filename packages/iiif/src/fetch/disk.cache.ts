import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What the cache keeps beside each body. */
export interface CacheEntryMeta {
  /** The URL asked for (the key). */
  readonly url: string;
  /** The URL that answered, after redirects. */
  readonly finalUrl: string;
  readonly contentType: string | null;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** ISO time the entry was written. */
  readonly storedAt: string;
}

export interface CacheEntry {
  readonly meta: CacheEntryMeta;
  readonly body: Buffer;
}

/**
 * Response bodies on disk, keyed by sha256 of the URL: `<dir>/<2 hex>/<sha256>.body` and a `.json`
 * sidecar. Each file is written to a temporary name and renamed, and the sidecar goes last, so a
 * reader (another process included) sees either a complete entry or none.
 */
export class DiskCache {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #paths(url: string): { dir: string; body: string; meta: string } {
    const key = createHash('sha256').update(url).digest('hex');
    const dir = join(this.#dir, key.slice(0, 2));
    return { dir, body: join(dir, `${key}.body`), meta: join(dir, `${key}.json`) };
  }

  /** The entry for `url`, or undefined when there is none or it cannot be read whole. */
  async get(url: string): Promise<CacheEntry | undefined> {
    const paths = this.#paths(url);
    try {
      const meta = JSON.parse(await readFile(paths.meta, 'utf8')) as CacheEntryMeta;
      if (meta.url !== url) return undefined;
      return { meta, body: await readFile(paths.body) };
    } catch {
      return undefined;
    }
  }

  async put(url: string, body: Buffer, meta: Omit<CacheEntryMeta, 'url' | 'storedAt'>): Promise<void> {
    const paths = this.#paths(url);
    await mkdir(paths.dir, { recursive: true });
    const full: CacheEntryMeta = { url, ...meta, storedAt: new Date().toISOString() };
    await atomicWrite(paths.body, body);
    await atomicWrite(paths.meta, `${JSON.stringify(full, null, 2)}\n`);
  }

  /** Drops an entry that turned out unusable (a body that no longer decodes). */
  async delete(url: string): Promise<void> {
    const paths = this.#paths(url);
    await rm(paths.meta, { force: true });
    await rm(paths.body, { force: true });
  }
}

export async function atomicWrite(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
