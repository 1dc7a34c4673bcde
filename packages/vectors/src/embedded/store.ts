import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open as openFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import type { VectorCollectionSpec, VectorStore } from '../port.js';
import { storeError } from './checks.js';
import type { EmbeddedCollectionOptions } from './collection-parts.js';
import { EmbeddedCollection, type EmbeddedVectorCollection } from './collection.js';

/**
 * Options of the embedded vector store. The defaults were measured with bench/vectors.bench.ts
 * (1,000,000 clustered 512-d vectors on a 2-core machine: recall@10 ≥ 0.95, p95 well under 10 ms).
 */
export interface EmbeddedVectorStoreOptions {
  /** The folder the store keeps everything in; created when absent. */
  readonly dir: string;
  /** hnswlib M: graph links per node (16). More: better recall on hard data, more memory, slower build. */
  readonly m?: number;
  /** hnswlib efConstruction (100): the build-time candidate list; 200 doubles build time for little gain here. */
  readonly efConstruction?: number;
  /**
   * hnswlib ef of an unfiltered search (256); each search uses max(efSearch, limit + offset [+ excluded
   * ids]). Measured at 1,000,000 512-d points: ef 64 → recall@10 0.86, 200 → 0.95, 300 → 0.98,
   * each well under 2 ms; small collections reach 0.99 at any of these.
   */
  readonly efSearch?: number;
  /**
   * hnswlib ef of a search through the graph with a filter (32). Such a search explores far more of
   * the graph anyway (it goes on until ef candidates pass the filter): at a million points ef 32
   * gave recall@10 0.96-0.98 for 1-10 % filters, at half the time of ef 64.
   */
  readonly efFilteredSearch?: number;
  /** Collections with fewer live points than this (2,000) are searched exactly, by brute force. */
  readonly exactBelow?: number;
  /**
   * A filter selecting at most this many points is searched exactly over them; above it the graph
   * is searched with the filter applied to each candidate. Default: 12·√(live points), where the two
   * cost about the same (≈12,000 at a million: exact over 10,000 512-d points ~6 ms; the graph with
   * a 1 % filter ~10-14 ms, with a 10 % filter ~2 ms).
   */
  readonly exactFilteredBelow?: number;
  /** After this long without writes (30 s) a collection saves its index; 0: only on flush/close. */
  readonly autosaveMs?: number;
  /** SQLite `synchronous`: 'full' (default) makes each acknowledged write survive power loss; 'normal' only a process crash. */
  readonly synchronous?: 'full' | 'normal';
}

/** The defaults of EmbeddedVectorStoreOptions (exactFilteredBelow: 12·√n when not given). */
export const EMBEDDED_DEFAULTS = {
  m: 16,
  efConstruction: 100,
  efSearch: 256,
  efFilteredSearch: 32,
  exactBelow: 2000,
  autosaveMs: 30_000,
  synchronous: 'full',
} as const;

/** The embedded store: the port, with collections that also flush and report stats. */
export interface EmbeddedVectorStore extends VectorStore {
  readonly kind: 'embedded';
  collection(spec: VectorCollectionSpec): Promise<EmbeddedVectorCollection>;
}

interface ManifestEntry {
  readonly spec: VectorCollectionSpec;
  readonly folder: string;
}

/** manifest.json: which collections exist and where. Written whole, through a renamed temporary file. */
interface Manifest {
  readonly format: 1;
  readonly collections: ManifestEntry[];
}

const MANIFEST = 'manifest.json';
const key = (modelId: string, modelVersion: string) => `${modelId}\u0000${modelVersion}`;

/**
 * A folder name for a model and version that is safe on every file system: a readable slug plus a
 * hash of the exact strings, so that ids differing only in case or in characters the slug drops
 * (`a/b` and `a:b`) never share a folder.
 */
export function collectionFolder(modelId: string, modelVersion: string): string {
  const slug = `${modelId}@${modelVersion}`
    .toLowerCase()
    .replace(/[^a-z0-9._@-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60);
  const hash = createHash('sha256').update(key(modelId, modelVersion)).digest('hex').slice(0, 10);
  return `${slug || 'collection'}-${hash}`;
}

function checkSpec(spec: VectorCollectionSpec): void {
  const bad = (message: string) => new LoupeError('LOUPE_ERR_VALIDATION', message, { details: { spec } });
  if (typeof spec?.modelId !== 'string' || spec.modelId === '') throw bad('A collection needs a modelId');
  if (typeof spec.modelVersion !== 'string' || spec.modelVersion === '') throw bad('A collection needs a modelVersion');
  if (!Number.isInteger(spec.dims) || spec.dims < 1 || spec.dims > 65_536) throw bad(`dims must be an integer from 1 to 65536, not ${spec.dims}`);
}

class Store implements EmbeddedVectorStore {
  readonly kind = 'embedded' as const;
  private readonly open = new Map<string, Promise<EmbeddedCollection>>();
  private closed = false;
  private manifestWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly manifest: Manifest,
    private readonly opts: EmbeddedCollectionOptions,
  ) {}

  private entry(modelId: string, modelVersion: string): ManifestEntry | undefined {
    return this.manifest.collections.find((c) => c.spec.modelId === modelId && c.spec.modelVersion === modelVersion);
  }

  async collection(spec: VectorCollectionSpec): Promise<EmbeddedVectorCollection> {
    if (this.closed) throw new LoupeError('LOUPE_ERR_STORE', 'The vector store is closed');
    checkSpec(spec);
    const k = key(spec.modelId, spec.modelVersion);
    let entry = this.entry(spec.modelId, spec.modelVersion);
    if (entry && entry.spec.dims !== spec.dims) {
      throw new LoupeError(
        'LOUPE_ERR_VALIDATION',
        `Collection ${spec.modelId}@${spec.modelVersion} has ${entry.spec.dims} dimensions; asked for ${spec.dims} (a model version has one size)`,
        { details: { modelId: spec.modelId, modelVersion: spec.modelVersion, expected: entry.spec.dims, actual: spec.dims } },
      );
    }
    let opening = this.open.get(k);
    if (!opening) {
      let registered = Promise.resolve();
      if (!entry) {
        // Registered before its folder exists: a crash in between leaves an empty collection, never an unlisted one.
        const added: ManifestEntry = {
          spec: { modelId: spec.modelId, modelVersion: spec.modelVersion, dims: spec.dims, ...(spec.quantization ? { quantization: spec.quantization } : {}) },
          folder: collectionFolder(spec.modelId, spec.modelVersion),
        };
        this.manifest.collections.push(added);
        registered = this.saveManifest().catch((err: unknown) => {
          this.manifest.collections.splice(this.manifest.collections.indexOf(added), 1);
          throw err;
        });
        entry = added;
      }
      const { folder, spec: stored } = entry;
      // Set before any await: a second caller asking meanwhile shares this opening.
      opening = registered.then(() => EmbeddedCollection.open(join(this.dir, folder), stored, this.opts));
      this.open.set(k, opening);
      opening.catch(() => this.open.delete(k));
    }
    return opening;
  }

  collections(): Promise<VectorCollectionSpec[]> {
    return Promise.resolve(this.manifest.collections.map((c) => ({ ...c.spec })));
  }

  private saveManifest(): Promise<void> {
    const text = `${JSON.stringify(this.manifest, null, 2)}\n`;
    const write = async () => {
      const file = join(this.dir, MANIFEST);
      const tmp = `${file}.tmp`;
      try {
        const fh = await openFile(tmp, 'w');
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, file);
      } catch (err) {
        throw storeError('write manifest', err, { file });
      }
    };
    // Writes go one after another so an older manifest never lands after a newer one.
    const next = this.manifestWrite.then(write, write);
    this.manifestWrite = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const cols = await Promise.allSettled(this.open.values());
    const results = await Promise.allSettled(cols.map((c) => (c.status === 'fulfilled' ? c.value.close() : Promise.resolve())));
    this.open.clear();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw storeError('close', failed.reason);
  }
}

/**
 * Opens the embedded vector store under `opts.dir`: one folder per collection (see
 * collectionFolder), each with its SQLite file of points and its hnswlib index (collection.ts
 * tells how they stay consistent), and manifest.json listing the collections. One process at a
 * time: the store does not lock the folder against a second one.
 */
export async function openEmbeddedVectorStore(opts: EmbeddedVectorStoreOptions): Promise<EmbeddedVectorStore> {
  const positive = (name: string, v: number | undefined, dflt: number, min = 1): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || v < min) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${name} must be an integer ≥ ${min}`, { details: { [name]: v } });
    return v;
  };
  const collectionOpts: EmbeddedCollectionOptions = {
    m: positive('m', opts.m, EMBEDDED_DEFAULTS.m, 2),
    efConstruction: positive('efConstruction', opts.efConstruction, EMBEDDED_DEFAULTS.efConstruction),
    efSearch: positive('efSearch', opts.efSearch, EMBEDDED_DEFAULTS.efSearch),
    efFilteredSearch: positive('efFilteredSearch', opts.efFilteredSearch, EMBEDDED_DEFAULTS.efFilteredSearch),
    exactBelow: positive('exactBelow', opts.exactBelow, EMBEDDED_DEFAULTS.exactBelow, 0),
    exactFilteredBelow: opts.exactFilteredBelow === undefined ? undefined : positive('exactFilteredBelow', opts.exactFilteredBelow, 0, 0),
    autosaveMs: positive('autosaveMs', opts.autosaveMs, EMBEDDED_DEFAULTS.autosaveMs, 0),
    synchronous: opts.synchronous ?? EMBEDDED_DEFAULTS.synchronous,
  };
  let manifest: Manifest;
  try {
    mkdirSync(opts.dir, { recursive: true });
    let text: string | undefined;
    try {
      text = readFileSync(join(opts.dir, MANIFEST), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    manifest = text === undefined ? { format: 1, collections: [] } : (JSON.parse(text) as Manifest);
    if (manifest.format !== 1 || !Array.isArray(manifest.collections)) throw new LoupeError('LOUPE_ERR_STORE', `${MANIFEST} is not a Loupe vector-store manifest (format 1)`);
  } catch (err) {
    throw storeError('open', err, { dir: opts.dir });
  }
  return new Store(opts.dir, manifest, collectionOpts);
}
