import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Past its budget, a sweep empties a folder down to this share of it, so that it does not sweep again at once. */
export const SWEEP_DOWN_TO = 0.9;

/** A write of this share of the budget since the last sweep sweeps again. */
const SWEEP_EVERY = 0.1;

export interface DiskBudgetOptions {
  /** Bytes the folder may hold. */
  readonly maxBytes: number;
  /**
   * Entries used less than this long ago stay whatever the total: a job in flight reads what it
   * wrote a moment before (its fetched image, its derived image) from the next stage.
   */
  readonly keepMs: number;
  /** The clock sweeps judge age by (milliseconds since the epoch); tests give their own. */
  readonly now?: () => number;
}

export interface SweepReport {
  /** Entries and bytes the folder held when the sweep began. */
  readonly entries: number;
  readonly bytes: number;
  /** What the sweep removed (leftover temporary files included). */
  readonly removed: number;
  readonly freed: number;
}

interface Entry {
  readonly files: { readonly path: string; readonly size: number }[];
  bytes: number;
  lastUsed: number;
}

/**
 * Keeps a folder of entries (`<dir>/<2 hex>/<stem>.<ext>`, several files a stem: a body and its
 * sidecar) under a byte budget, least recently used first. An entry's last use is the newest
 * modification time of its files: `touch` sets it when the entry is read, so an image every job
 * reads stays and one nobody has read for months goes. A sweep walks the folder (never
 * following links) and removes entries oldest first, sidecar first so that a reader finds either
 * the whole entry or none, until the folder holds SWEEP_DOWN_TO of the budget, never an entry used
 * within `keepMs`. Several processes may share the folder: each sweeps it, and a removal that
 * finds the file gone already is no error.
 */
export class DiskBudget {
  readonly #dir: string;
  readonly #opts: DiskBudgetOptions;
  readonly #now: () => number;
  #written = 0;
  #swept = false;
  #sweeping: Promise<SweepReport> | undefined;

  constructor(dir: string, opts: DiskBudgetOptions) {
    this.#dir = dir;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The sweep under way, if any: what a test or a shutdown waits for. */
  get sweeping(): Promise<SweepReport> | undefined {
    return this.#sweeping;
  }

  /**
   * Counts a write. The first write of a process sweeps (a folder may have been filled by an
   * earlier one), then every tenth of the budget written; one sweep at a time, in the background,
   * its failure reported to `onError` and never to the writer.
   */
  wrote(bytes: number, onError: (err: unknown) => void = () => {}): void {
    this.#written += bytes;
    if (this.#sweeping || (this.#swept && this.#written < this.#opts.maxBytes * SWEEP_EVERY)) return;
    this.#swept = true;
    this.#written = 0;
    this.#sweeping = this.sweep()
      .catch((err: unknown) => {
        onError(err);
        return { entries: 0, bytes: 0, removed: 0, freed: 0 };
      })
      .finally(() => {
        this.#sweeping = undefined;
      });
  }

  /** Marks the files of an entry used now. A file gone meanwhile is no error: the entry was swept. */
  async touch(paths: readonly string[]): Promise<void> {
    const now = new Date(this.#now());
    await Promise.all(paths.map((path) => utimes(path, now, now).catch(() => undefined)));
  }

  /** Sweeps now, once any sweep under way has ended (so that it sees every write made before the call). */
  async sweepNow(): Promise<SweepReport> {
    await this.#sweeping;
    return this.sweep();
  }

  async sweep(): Promise<SweepReport> {
    const entries = await this.#entries();
    const bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    const now = this.#now();
    let held = bytes;
    let removed = 0;
    let freed = 0;
    const target = this.#opts.maxBytes * SWEEP_DOWN_TO;
    for (const entry of entries.sort((a, b) => a.lastUsed - b.lastUsed)) {
      const leftover = entry.files.every((f) => f.path.endsWith('.tmp'));
      if (now - entry.lastUsed < this.#opts.keepMs) break;
      if (held <= target && !leftover) continue;
      // The sidecar (.json) first: a reader that finds no sidecar finds no entry.
      const order = [...entry.files].sort((a, b) => Number(b.path.endsWith('.json')) - Number(a.path.endsWith('.json')));
      // Read since the walk listed it: kept (the walk of a large folder takes a while).
      const latest = await stat(order[0]!.path).catch(() => undefined);
      if (latest && latest.mtimeMs > entry.lastUsed) continue;
      for (const file of order) await rm(file.path, { force: true });
      held -= entry.bytes;
      removed += 1;
      freed += entry.bytes;
    }
    return { entries: entries.length, bytes, removed, freed };
  }

  async #entries(): Promise<Entry[]> {
    const byStem = new Map<string, Entry>();
    for (const sub of await readdir(this.#dir, { withFileTypes: true }).catch(() => [])) {
      if (!sub.isDirectory() || !/^[0-9a-f]{2}$/.test(sub.name)) continue;
      for (const file of await readdir(join(this.#dir, sub.name), { withFileTypes: true }).catch(() => [])) {
        if (!file.isFile()) continue;
        const path = join(this.#dir, sub.name, file.name);
        const facts = await stat(path).catch(() => undefined);
        if (!facts) continue;
        // A temporary file (`<name>.<pid>.<random>.tmp`) is an entry of its own: a crash's leftover once old.
        const dot = file.name.indexOf('.');
        const stem = file.name.endsWith('.tmp') || dot < 0 ? file.name : file.name.slice(0, dot);
        const entry = byStem.get(stem) ?? { files: [], bytes: 0, lastUsed: 0 };
        entry.files.push({ path, size: facts.size });
        entry.bytes += facts.size;
        entry.lastUsed = Math.max(entry.lastUsed, facts.mtimeMs);
        byStem.set(stem, entry);
      }
    }
    return [...byStem.values()];
  }
}

const budgets = new Map<string, DiskBudget>();

/**
 * The one budget of a folder in this process, made with `opts` on first use: every fetcher and
 * derived-image store the process opens on the folder counts its writes into it, so the first
 * write sweeps once, not once per opener (`loupe run` opens the cache for its checks and again for
 * its run), and one sweep runs at a time.
 */
export function folderBudget(dir: string, opts: DiskBudgetOptions): DiskBudget {
  const key = resolve(dir);
  let budget = budgets.get(key);
  if (!budget) budgets.set(key, (budget = new DiskBudget(key, opts)));
  return budget;
}
