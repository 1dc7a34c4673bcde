import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { storedName } from '../cards/card.loader.js';
import { isEngineCard, type AnyCard, type EngineCard } from '../cards/engine-card.js';
import type { ModelCard, ModelFile, ModelTask } from '../cards/model-card.js';
import { openCardCatalog, type CardRecord, type InvalidCard } from './card-catalog.js';
import { fileLayout, sourceOf, type FileLayout, type FileState, type ModelFileStatus } from './file-layout.js';
import { downloadFile, type DownloadFetch, type DownloadProgress } from './model-download.js';
import { verifyFile } from './model-files.js';

/**
 * The cards that ship with Loupe: the offline pack (its files are inside npm packages installed
 * with it) and the models users pull when they have network. The folder sits two levels above
 * this module in src/ and in dist/ alike.
 */
export const BUILTIN_CARDS_DIR = fileURLToPath(new URL('../../cards/', import.meta.url));

export type InstallState = 'installed' | 'missing' | 'corrupt';
export type { FileState, ModelFileStatus };
export type { InvalidCard };

interface EntryBase {
  readonly id: string;
  /** Built-in cards ship with Loupe; installed ones were added to LOUPE_MODELS_DIR. */
  readonly origin: 'builtin' | 'installed';
  readonly cardPath: string;
  /** From a cheap check (presence and size; hashes only where this process already computed them). */
  readonly state: InstallState;
  readonly files: readonly ModelFileStatus[];
}

/** A model onnxruntime loads. */
export interface ModelEntry extends EntryBase {
  readonly kind: 'model';
  readonly card: ModelCard;
}

/** An engine (Tesseract): listed and verified like a model, never resolved for onnxruntime. */
export interface EngineEntry extends EntryBase {
  readonly kind: 'engine';
  readonly card: EngineCard;
}

export type RegistryEntry = ModelEntry | EngineEntry;

export interface ResolvedModel {
  readonly card: ModelCard;
  /** Verified local path of every file, by role. */
  readonly files: Readonly<Record<string, string>>;
}

export interface VerifyResult {
  readonly id: string;
  readonly state: InstallState;
  readonly files: readonly ModelFileStatus[];
}

export interface PullProgress extends DownloadProgress {
  readonly id: string;
  readonly role: string;
  readonly file: string;
}

export interface PullOptions {
  readonly onProgress?: ((p: PullProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Further attempts per file after a cut connection (default 5). */
  readonly retries?: number | undefined;
  readonly idleTimeoutMs?: number | undefined;
  readonly retryDelayMs?: number | undefined;
}

export interface PullResult {
  readonly id: string;
  readonly files: readonly { role: string; path: string; action: 'downloaded' | 'resumed' | 'present' | 'builtin' }[];
}

export interface RegistryOptions {
  /** LOUPE_MODELS_DIR: one folder per model id, holding its card.json (added cards) and its downloaded files. */
  readonly modelsDir: string;
  readonly builtinCardsDir?: string | undefined;
  /** Where files joined from chunks are written once (default: <modelsDir>/.cache). */
  readonly cacheDir?: string | undefined;
  /** How pulls reach the network: the process's egress policy's `fetch` (`createEgressPolicy(config.egress).fetch`). */
  readonly fetch?: DownloadFetch | undefined;
}

export interface Registry {
  readonly modelsDir: string;
  readonly builtinCardsDir: string;
  /** Built-in and installed models and the built-in engines, each with its state; `task` narrows the list. */
  list(filter?: { task?: ModelTask }): RegistryEntry[];
  /** Cards in LOUPE_MODELS_DIR that were skipped because they are invalid. */
  invalidCards(): InvalidCard[];
  get(id: string): RegistryEntry | undefined;
  /**
   * Local paths of the model's files, each checked against its sha256 and size first, for
   * onnxruntime: an engine's id is refused (LOUPE_ERR_MODEL_LOAD), as nothing here can load it.
   */
  resolve(id: string): Promise<ResolvedModel>;
  /** Hashes every file of one model (or of all) and reports, without throwing on a bad file. */
  verify(id?: string): Promise<VerifyResult[]>;
  /** Validates a card file and installs it as <modelsDir>/<id>/card.json. */
  add(cardPath: string): Promise<ModelEntry>;
  /** Downloads the model's URL files into <modelsDir>/<id>/, resuming and checking each. */
  pull(id: string, opts?: PullOptions): Promise<PullResult>;
}

export function openRegistry(opts: RegistryOptions): Registry {
  const modelsDir = opts.modelsDir;
  const builtinCardsDir = opts.builtinCardsDir ?? BUILTIN_CARDS_DIR;
  const catalog = openCardCatalog(modelsDir, builtinCardsDir);
  const layout = fileLayout(modelsDir, opts.cacheDir ?? join(modelsDir, '.cache'));

  const entryOf = (r: CardRecord): RegistryEntry => {
    const files = Object.entries(r.card.files).map(([role, file]) => layout.quickStatus(r.card, role, file));
    const base = { id: r.card.id, origin: r.origin, cardPath: r.cardPath, state: modelState(files), files };
    return isEngineCard(r.card) ? { ...base, kind: 'engine', card: r.card } : { ...base, kind: 'model', card: r.card };
  };

  return {
    modelsDir,
    builtinCardsDir,
    list(filter = {}) {
      return catalog
        .records()
        .filter((r) => filter.task === undefined || r.card.task === filter.task)
        .map(entryOf);
    },
    invalidCards: () => catalog.invalid(),
    get(id) {
      const r = catalog.record(id);
      return r && entryOf(r);
    },
    async resolve(id) {
      const { card } = catalog.require(id);
      if (isEngineCard(card)) {
        throw new LoupeError(
          'LOUPE_ERR_MODEL_LOAD',
          `${id} is an engine card (run by ${card.engine.runtime}), not an ONNX model: onnxruntime cannot load it; its files are checked by loupe models verify ${id}`,
          { details: { model: id, runtime: card.engine.runtime } },
        );
      }
      const files: Record<string, string> = {};
      for (const [role, file] of Object.entries(card.files)) files[role] = await layout.ensureFile(card, role, file);
      return { card, files };
    },
    async verify(id) {
      const targets = id === undefined ? catalog.records() : [catalog.require(id)];
      const results: VerifyResult[] = [];
      for (const { card } of targets) {
        const files: ModelFileStatus[] = [];
        for (const [role, file] of Object.entries(card.files)) files.push(await verifyOne(layout, card, role, file));
        results.push({ id: card.id, state: modelState(files), files });
      }
      return results;
    },
    add: async (cardPath) => entryOf(await catalog.add(cardPath)) as ModelEntry,
    async pull(id, pullOpts = {}) {
      const { card } = catalog.require(id);
      const done: PullResult['files'][number][] = [];
      for (const [role, file] of Object.entries(card.files)) done.push(await pullFile({ layout, modelsDir, fetch: opts.fetch }, card, role, file, pullOpts));
      return { id: card.id, files: done };
    },
  };
}

/** Hashes one file (making it first when Loupe derives it) and says what is wrong, without throwing. */
async function verifyOne(layout: FileLayout, card: AnyCard, role: string, file: ModelFile): Promise<ModelFileStatus> {
  const base = { role, source: sourceOf(file), expectedSha256: file.sha256 };
  let path = '';
  try {
    path = layout.localPath(card, file);
    await layout.ensureFile(card, role, file);
    return { ...base, path, state: 'ok', actualSha256: file.sha256 };
  } catch (err) {
    const e = toLoupeError(err);
    const corrupt = e.code === 'LOUPE_ERR_MODEL_CHECKSUM';
    return {
      ...base,
      path: (e.details?.['path'] as string | undefined) ?? path,
      state: corrupt ? 'corrupt' : 'missing',
      actualSha256: corrupt ? (e.details?.['actualSha256'] as string | undefined) : undefined,
      problem: e.message,
    };
  }
}

interface PullContext {
  readonly layout: FileLayout;
  readonly modelsDir: string;
  readonly fetch: DownloadFetch | undefined;
}

/** One file of a pull: a packaged file is made ready, a good download kept, a bad one replaced, a cut one resumed. */
async function pullFile(ctx: PullContext, card: AnyCard, role: string, file: ModelFile, pullOpts: PullOptions): Promise<PullResult['files'][number]> {
  if (!file.url) return { role, path: await ctx.layout.ensureFile(card, role, file), action: 'builtin' };
  const path = ctx.layout.localPath(card, file);
  const label = `${card.id}/${role} (${storedName(file)})`;
  try {
    await verifyFile(path, file, label);
    return { role, path, action: 'present' };
  } catch (err) {
    const code = toLoupeError(err).code;
    if (code === 'LOUPE_ERR_MODEL_CHECKSUM') await rm(path, { force: true });
    else if (code !== 'LOUPE_ERR_MODEL_NOT_INSTALLED') throw err;
  }
  await mkdir(join(ctx.modelsDir, card.id), { recursive: true });
  const result = await downloadFile({
    url: file.url,
    target: path,
    expected: file,
    label,
    signal: pullOpts.signal,
    retries: pullOpts.retries,
    idleTimeoutMs: pullOpts.idleTimeoutMs,
    retryDelayMs: pullOpts.retryDelayMs,
    fetch: ctx.fetch,
    onProgress: pullOpts.onProgress && ((p) => pullOpts.onProgress!({ ...p, id: card.id, role, file: storedName(file)! })),
  });
  await verifyFile(path, file, label); // primes the hash cache for the resolve that follows
  return { role, path, action: result.resumed ? 'resumed' : 'downloaded' };
}

function modelState(files: readonly ModelFileStatus[]): InstallState {
  if (files.some((f) => f.state === 'missing')) return 'missing';
  if (files.some((f) => f.state === 'corrupt')) return 'corrupt';
  return 'installed';
}
