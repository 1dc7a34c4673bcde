import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { folderBudget, type DiskBudget, type DiskBudgetOptions } from './disk-budget.js';

/** What the cache keeps beside each body. */
export interface CacheEntryMeta {
  /** The URL asked for (the key). */
  readonly url: string;
  /** The URL that answered, after redirects. */
  readonly finalUrl: string;
  readonly contentType: string | null;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** ISO time the entry was written, or last confirmed unchanged by its server (a 304). */
  readonly storedAt: string;
}

export interface DiskCacheOptions {
  /** Keep the folder under a byte budget (folderBudget: one per folder in a process); without one it grows as it is filled. */
  readonly budget?: Omit<DiskBudgetOptions, 'now'>;
  /** The clock entries are dated by (milliseconds since the epoch). */
  readonly now?: () => number;
  /** Where a background sweep's failure goes. */
  readonly onError?: (err: unknown) => void;
}

export interface CacheEntry {
  readonly meta: CacheEntryMeta;
  readonly body: Buffer;
}

/**
 * Response bodies on disk, keyed by sha256 of the URL: `<dir>/<2 hex>/<sha256>.body` and a `.json`
 * sidecar. Each file is written to a temporary name and renamed, and the sidecar goes last, so a
 * reader (another process included) sees either a complete entry or none. With a budget, the
 * folder is kept under it least recently used first (DiskBudget): a hit marks its entry used.
 */
export class DiskCache {
  readonly #dir: string;
  readonly #budget: DiskBudget | undefined;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;

  constructor(dir: string, opts: DiskCacheOptions = {}) {
    this.#dir = dir;
    this.#now = opts.now ?? Date.now;
    this.#budget = opts.budget && folderBudget(dir, { ...opts.budget, now: this.#now });
    this.#onError = opts.onError ?? (() => {});
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
      const entry = { meta, body: await readFile(paths.body) };
      await this.#budget?.touch([paths.meta, paths.body]);
      return entry;
    } catch {
      return undefined;
    }
  }

  async put(url: string, body: Buffer, meta: Omit<CacheEntryMeta, 'url' | 'storedAt'>): Promise<void> {
    const paths = this.#paths(url);
    await mkdir(paths.dir, { recursive: true });
    const full: CacheEntryMeta = { url, ...meta, storedAt: new Date(this.#now()).toISOString() };
    await atomicWrite(paths.body, body);
    await atomicWrite(paths.meta, `${JSON.stringify(full, null, 2)}\n`);
    if (this.#budget) {
      // Dated by the cache's clock, as reads are: a sweep compares the two.
      await this.#budget.touch([paths.body, paths.meta]);
      this.#budget.wrote(body.length, this.#onError);
    }
  }

  /** Records that the server confirmed the entry unchanged (a 304) now: its storedAt moves on, its body stays. */
  async confirmed(entry: CacheEntry): Promise<void> {
    const paths = this.#paths(entry.meta.url);
    await atomicWrite(paths.meta, `${JSON.stringify({ ...entry.meta, storedAt: new Date(this.#now()).toISOString() }, null, 2)}\n`);
  }

  /** How long ago the entry was stored or last confirmed, in milliseconds. */
  age(entry: CacheEntry): number {
    return this.#now() - Date.parse(entry.meta.storedAt);
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
