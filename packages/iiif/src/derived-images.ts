import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoupeError, type DerivedImage } from '@loupe/contracts';
import { atomicWrite } from './fetch/disk.cache.js';
import { folderBudget, type DiskBudgetOptions } from './fetch/disk-budget.js';

/**
 * A derived image read within this long stays whatever the budget: the later stages of its job
 * read it from the queue, which may run hours behind on a busy installation.
 */
export const DERIVED_KEEP_MS = 24 * 3600_000;

/** A derived image's id: the sha256 of its PNG bytes, lower-case hex. Nothing else names a file. */
export const DERIVED_ID = /^[0-9a-f]{64}$/;

/**
 * Images Loupe made (enhanced, upscaled) kept on disk under $LOUPE_DATA_DIR/derived, each beside
 * its provenance: `<2 hex>/<id>.png` and `<id>.json`. Content-addressed, so the same pixels made
 * twice are one file, and a process sharing the data directory (a later stage, the gateway) reads
 * what another wrote by id alone. With a budget the folder is kept under it, the images least
 * recently read going first (DiskBudget); an image gone is LOUPE_ERR_NOT_FOUND, made again by
 * enhancing again.
 */
export interface DerivedImages {
  /** Keeps a PNG and its provenance (all but the id, which the bytes give); the same bytes again keep the first record. */
  put(png: Buffer, provenance: Omit<DerivedImage, 'id'>): Promise<DerivedImage>;
  /** The provenance of `id`; LOUPE_ERR_NOT_FOUND when there is none, LOUPE_ERR_VALIDATION for a malformed id. */
  provenance(id: string): Promise<DerivedImage>;
  /** The PNG bytes of `id`, with its provenance. */
  get(id: string): Promise<{ png: Buffer; provenance: DerivedImage }>;
}

export interface DerivedImagesOptions extends Partial<DiskBudgetOptions> {
  /** Where a background sweep's failure goes. */
  readonly onError?: (err: unknown) => void;
}

export function openDerivedImages(dir: string, opts: DerivedImagesOptions = {}): DerivedImages {
  const budget = opts.maxBytes === undefined ? undefined : folderBudget(dir, { maxBytes: opts.maxBytes, keepMs: opts.keepMs ?? DERIVED_KEEP_MS, ...(opts.now && { now: opts.now }) });
  const paths = (id: string): { dir: string; png: string; json: string } => {
    if (!DERIVED_ID.test(id)) throw new LoupeError('LOUPE_ERR_VALIDATION', 'a derived image id is 64 lower-case hex digits (the sha256 of its bytes)', { details: { id: id.slice(0, 80) } });
    const sub = join(dir, id.slice(0, 2));
    return { dir: sub, png: join(sub, `${id}.png`), json: join(sub, `${id}.json`) };
  };
  const notFound = (id: string, cause: unknown): LoupeError => new LoupeError('LOUPE_ERR_NOT_FOUND', `no derived image ${id}`, { cause, details: { id } });

  async function provenance(id: string): Promise<DerivedImage> {
    const at = paths(id);
    try {
      const record = JSON.parse(await readFile(at.json, 'utf8')) as DerivedImage;
      await budget?.touch([at.json, at.png]);
      return record;
    } catch (err) {
      throw notFound(id, err);
    }
  }

  return {
    async put(png, made) {
      const id = createHash('sha256').update(png).digest('hex');
      const existing = await provenance(id).catch(() => undefined);
      if (existing) return existing;
      const at = paths(id);
      const record: DerivedImage = { id, ...made };
      await mkdir(at.dir, { recursive: true });
      // The sidecar last: a reader that finds it finds the image whole.
      await atomicWrite(at.png, png);
      await atomicWrite(at.json, `${JSON.stringify(record, null, 2)}\n`);
      if (budget) {
        await budget.touch([at.png, at.json]);
        budget.wrote(png.length, opts.onError);
      }
      return record;
    },
    provenance,
    async get(id) {
      const record = await provenance(id);
      try {
        return { png: await readFile(paths(id).png), provenance: record };
      } catch (err) {
        throw notFound(id, err);
      }
    },
  };
}
