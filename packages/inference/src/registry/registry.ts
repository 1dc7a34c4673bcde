import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { loadCardSync, parseCard, storedName, type CardProblem } from '../cards/card.loader.js';
import type { ModelCard, ModelFile, ModelTask } from '../cards/model-card.js';
import { downloadFile, type DownloadFetch, type DownloadProgress } from './model-download.js';
import { chunksPresent, convertFromPackage, joinChunks, knownSha256, packageDir, verifyFile } from './model-files.js';

/**
 * The cards that ship with Loupe: the offline pack (its files are inside npm packages installed
 * with it) and the models users pull when they have network. The folder sits two levels above
 * this module in src/ and in dist/ alike.
 */
export const BUILTIN_CARDS_DIR = fileURLToPath(new URL('../../cards/', import.meta.url));

export type InstallState = 'installed' | 'missing' | 'corrupt';
export type FileState = 'ok' | 'unverified' | 'missing' | 'corrupt';

export interface ModelFileStatus {
  readonly role: string;
  /** Where the file is (or will be) on this machine. */
  readonly path: string;
  readonly source: 'package' | 'chunks' | 'converted' | 'url' | 'local';
  readonly state: FileState;
  readonly expectedSha256: string;
  /** Known once the file has been hashed (by verify or resolve in this process). */
  readonly actualSha256?: string | undefined;
  /** Why the file is missing or corrupt, in words. */
  readonly problem?: string | undefined;
}

export interface ModelEntry {
  readonly id: string;
  readonly card: ModelCard;
  /** Built-in cards ship with Loupe; installed ones were added to LOUPE_MODELS_DIR. */
  readonly origin: 'builtin' | 'installed';
  readonly cardPath: string;
  /** From a cheap check (presence and size; hashes only where this process already computed them). */
  readonly state: InstallState;
  readonly files: readonly ModelFileStatus[];
}

export interface InvalidCard {
  readonly path: string;
  readonly message: string;
  readonly errors: readonly CardProblem[];
}

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
  /** Built-in and installed models, each with its state; `task` narrows the list. */
  list(filter?: { task?: ModelTask }): ModelEntry[];
  /** Cards in LOUPE_MODELS_DIR that were skipped because they are invalid. */
  invalidCards(): InvalidCard[];
  get(id: string): ModelEntry | undefined;
  /** Local paths of the model's files, each checked against its sha256 and size first. */
  resolve(id: string): Promise<ResolvedModel>;
  /** Hashes every file of one model (or of all) and reports, without throwing on a bad file. */
  verify(id?: string): Promise<VerifyResult[]>;
  /** Validates a card file and installs it as <modelsDir>/<id>/card.json. */
  add(cardPath: string): Promise<ModelEntry>;
  /** Downloads the model's URL files into <modelsDir>/<id>/, resuming and checking each. */
  pull(id: string, opts?: PullOptions): Promise<PullResult>;
}

interface CardRecord {
  readonly card: ModelCard;
  readonly origin: 'builtin' | 'installed';
  readonly cardPath: string;
}

export function openRegistry(opts: RegistryOptions): Registry {
  const modelsDir = opts.modelsDir;
  const builtinCardsDir = opts.builtinCardsDir ?? BUILTIN_CARDS_DIR;
  const cacheDir = opts.cacheDir ?? join(modelsDir, '.cache');
  // A broken built-in card is a packaging bug: fail at start, loudly.
  const builtin = loadBuiltinCards(builtinCardsDir);
  const installedCache = new Map<string, { mtimeMs: number; size: number; result: CardRecord | InvalidCard }>();

  function scanInstalled(): { records: CardRecord[]; invalid: InvalidCard[] } {
    const records: CardRecord[] = [];
    const invalid: InvalidCard[] = [];
    let names: string[];
    try {
      names = readdirSync(modelsDir).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return { records, invalid };
    }
    for (const name of names) {
      const cardPath = join(modelsDir, name, 'card.json');
      let st: Stats;
      try {
        st = statSync(cardPath);
      } catch {
        continue; // a folder of downloaded files for a built-in card, or not ours
      }
      const hit = installedCache.get(cardPath);
      let result = hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size ? hit.result : undefined;
      if (!result) {
        result = readInstalledCard(cardPath, name);
        installedCache.set(cardPath, { mtimeMs: st.mtimeMs, size: st.size, result });
      }
      if ('card' in result) records.push(result);
      else invalid.push(result);
    }
    return { records, invalid };
  }

  function readInstalledCard(cardPath: string, folder: string): CardRecord | InvalidCard {
    try {
      const card = loadCardSync(cardPath);
      if (card.id !== folder) {
        return { path: cardPath, message: `card id ${card.id} does not match its folder ${folder}`, errors: [{ path: '/id', message: `must be ${folder}, the folder's name` }] };
      }
      if (builtin.has(card.id)) {
        return { path: cardPath, message: `${card.id} is a built-in model's id`, errors: [{ path: '/id', message: 'is the id of a built-in model' }] };
      }
      return { card, origin: 'installed', cardPath };
    } catch (err) {
      const e = toLoupeError(err);
      return { path: cardPath, message: e.message, errors: (e.details?.['errors'] as CardProblem[] | undefined) ?? [] };
    }
  }

  function records(): CardRecord[] {
    return [...builtin.values(), ...scanInstalled().records];
  }

  function record(id: string): CardRecord | undefined {
    return builtin.get(id) ?? scanInstalled().records.find((r) => r.card.id === id);
  }

  /** A file Loupe makes from what a package ships (joined from chunks, converted): kept in the cache, made again when wrong. */
  function derived(file: ModelFile): boolean {
    return file.chunks !== undefined || file.convert !== undefined;
  }

  function localPath(card: ModelCard, role: string, file: ModelFile): string {
    if (file.url) return join(modelsDir, card.id, storedName(file)!);
    if (derived(file)) return join(cacheDir, card.id, file.path!);
    if (file.package === undefined) return join(modelsDir, card.id, file.path!);
    return join(packageDir(file.package), file.path!);
  }

  function sourceOf(file: ModelFile): ModelFileStatus['source'] {
    return file.url ? 'url' : file.chunks ? 'chunks' : file.convert ? 'converted' : file.package === undefined ? 'local' : 'package';
  }

  /** Presence and size, plus a hash verdict where one is already known: no file is read. */
  function quickStatus(card: ModelCard, role: string, file: ModelFile): ModelFileStatus {
    const base = { role, source: sourceOf(file), expectedSha256: file.sha256 };
    let path: string;
    try {
      path = localPath(card, role, file);
    } catch (err) {
      return { ...base, path: file.package ?? '', state: 'missing', problem: toLoupeError(err).message };
    }
    let st: Stats | undefined;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (!st && file.chunks) {
      // Not joined yet: fine as long as every chunk is there.
      try {
        const manifest = JSON.parse(readFileSync(join(packageDir(file.package!), file.chunks.manifest), 'utf8')) as Record<string, { chunks?: { hash: string; offsets: [number, number] }[] }>;
        const chunks = manifest[file.chunks.key]?.chunks ?? [];
        const dir = join(packageDir(file.package!), file.chunks.manifest, '..');
        if (chunks.length > 0 && chunksPresent(dir, chunks)) return { ...base, path, state: 'unverified' };
      } catch {
        // reported as missing below
      }
      return { ...base, path, state: 'missing', problem: `chunks of ${file.chunks.key} are missing from ${file.package}` };
    }
    if (!st && file.convert) {
      // Not converted yet: fine as long as the package has the TF.js model.
      try {
        if (existsSync(join(packageDir(file.package!), file.convert.model))) return { ...base, path, state: 'unverified' };
      } catch {
        // reported as missing below
      }
      return { ...base, path, state: 'missing', problem: `${file.convert.model} is missing from ${file.package}` };
    }
    if (!st) return { ...base, path, state: 'missing', problem: file.url ? `not downloaded (loupe models pull ${card.id})` : 'file not found' };
    if (file.size !== undefined && st.size !== file.size) {
      return { ...base, path, state: derived(file) ? 'unverified' : 'corrupt', problem: `${st.size} bytes, expected ${file.size}` };
    }
    const known = knownSha256(path);
    if (known === undefined) return { ...base, path, state: 'unverified' };
    if (known === file.sha256) return { ...base, path, state: 'ok', actualSha256: known };
    // A derived file with the wrong bytes is made again on the next resolve.
    return { ...base, path, state: derived(file) ? 'unverified' : 'corrupt', actualSha256: known, problem: `sha256 ${known}, expected ${file.sha256}` };
  }

  function entryOf(r: CardRecord): ModelEntry {
    const files = Object.entries(r.card.files).map(([role, file]) => quickStatus(r.card, role, file));
    return { id: r.card.id, card: r.card, origin: r.origin, cardPath: r.cardPath, state: modelState(files), files };
  }

  /** The verified local path of one file: chunks are joined on first use. */
  async function ensureFile(card: ModelCard, role: string, file: ModelFile): Promise<string> {
    const path = localPath(card, role, file);
    const label = `${card.id}/${role} (${file.path ?? storedName(file) ?? path})`;
    if (file.chunks) {
      await joinChunks(packageDir(file.package!), file, path, label);
      return path;
    }
    if (file.convert) {
      await convertFromPackage(packageDir(file.package!), file, path, label);
      return path;
    }
    try {
      await verifyFile(path, file, label);
    } catch (err) {
      const e = toLoupeError(err);
      if (e.code === 'LOUPE_ERR_MODEL_NOT_INSTALLED' && file.url) {
        throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Model ${card.id} is not downloaded (${role}: ${path}); run: loupe models pull ${card.id}`, {
          cause: e,
          details: { model: card.id, role, path },
        });
      }
      throw e;
    }
    return path;
  }

  function requireRecord(id: string): CardRecord {
    const r = record(id);
    if (!r) {
      const known = records().map((x) => x.card.id);
      throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `No model card ${JSON.stringify(id)} (built-in cards and ${modelsDir}; known: ${known.join(', ') || 'none'})`, {
        details: { model: id, modelsDir, known },
      });
    }
    return r;
  }

  return {
    modelsDir,
    builtinCardsDir,
    list(filter = {}) {
      return records()
        .filter((r) => filter.task === undefined || r.card.task === filter.task)
        .map(entryOf);
    },
    invalidCards() {
      return scanInstalled().invalid;
    },
    get(id) {
      const r = record(id);
      return r && entryOf(r);
    },
    async resolve(id) {
      const { card } = requireRecord(id);
      const files: Record<string, string> = {};
      for (const [role, file] of Object.entries(card.files)) files[role] = await ensureFile(card, role, file);
      return { card, files };
    },
    async verify(id) {
      const targets = id === undefined ? records() : [requireRecord(id)];
      const results: VerifyResult[] = [];
      for (const { card } of targets) {
        const files: ModelFileStatus[] = [];
        for (const [role, file] of Object.entries(card.files)) {
          const base = { role, source: sourceOf(file), expectedSha256: file.sha256 };
          let path = '';
          try {
            path = localPath(card, role, file);
            await ensureFile(card, role, file);
            files.push({ ...base, path, state: 'ok', actualSha256: file.sha256 });
          } catch (err) {
            const e = toLoupeError(err);
            const corrupt = e.code === 'LOUPE_ERR_MODEL_CHECKSUM';
            files.push({
              ...base,
              path: (e.details?.['path'] as string | undefined) ?? path,
              state: corrupt ? 'corrupt' : 'missing',
              actualSha256: corrupt ? (e.details?.['actualSha256'] as string | undefined) : undefined,
              problem: e.message,
            });
          }
        }
        results.push({ id: card.id, state: modelState(files), files });
      }
      return results;
    },
    async add(cardPath) {
      let text: string;
      try {
        text = await readFile(cardPath, 'utf8');
      } catch (cause) {
        throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} cannot be read: ${(cause as Error).message}`, {
          cause,
          details: { source: cardPath, errors: [{ path: '', message: 'file cannot be read' }] },
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} is not JSON: ${(cause as Error).message}`, {
          cause,
          details: { source: cardPath, errors: [{ path: '', message: 'not JSON' }] },
        });
      }
      const card = parseCard(json, cardPath);
      if (builtin.has(card.id)) {
        throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${cardPath} has the id of a built-in model (${card.id}); give it an id of its own`, {
          details: { source: cardPath, errors: [{ path: '/id', message: 'is the id of a built-in model' }] },
        });
      }
      const dir = join(modelsDir, card.id);
      await mkdir(dir, { recursive: true });
      // The card as written (not re-serialised): what the operator reviewed is what is kept.
      const tmp = join(dir, `.card.json.${process.pid}.tmp`);
      await writeFile(tmp, text);
      await rename(tmp, join(dir, 'card.json'));
      return entryOf({ card, origin: 'installed', cardPath: join(dir, 'card.json') });
    },
    async pull(id, pullOpts = {}) {
      const { card } = requireRecord(id);
      const done: { role: string; path: string; action: 'downloaded' | 'resumed' | 'present' | 'builtin' }[] = [];
      for (const [role, file] of Object.entries(card.files)) {
        if (!file.url) {
          done.push({ role, path: await ensureFile(card, role, file), action: 'builtin' });
          continue;
        }
        const path = localPath(card, role, file);
        const label = `${card.id}/${role} (${storedName(file)})`;
        try {
          await verifyFile(path, file, label);
          done.push({ role, path, action: 'present' });
          continue;
        } catch (err) {
          const code = toLoupeError(err).code;
          if (code === 'LOUPE_ERR_MODEL_CHECKSUM') await rm(path, { force: true });
          else if (code !== 'LOUPE_ERR_MODEL_NOT_INSTALLED') throw err;
        }
        await mkdir(join(modelsDir, card.id), { recursive: true });
        const result = await downloadFile({
          url: file.url,
          target: path,
          expected: file,
          label,
          signal: pullOpts.signal,
          retries: pullOpts.retries,
          idleTimeoutMs: pullOpts.idleTimeoutMs,
          retryDelayMs: pullOpts.retryDelayMs,
          fetch: opts.fetch,
          onProgress: pullOpts.onProgress && ((p) => pullOpts.onProgress!({ ...p, id: card.id, role, file: storedName(file)! })),
        });
        await verifyFile(path, file, label); // primes the hash cache for the resolve that follows
        done.push({ role, path, action: result.resumed ? 'resumed' : 'downloaded' });
      }
      return { id: card.id, files: done };
    },
  };
}

function modelState(files: readonly ModelFileStatus[]): InstallState {
  if (files.some((f) => f.state === 'missing')) return 'missing';
  if (files.some((f) => f.state === 'corrupt')) return 'corrupt';
  return 'installed';
}

function loadBuiltinCards(dir: string): Map<string, CardRecord> {
  const cards = new Map<string, CardRecord>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `The built-in model cards folder ${dir} cannot be read`, { cause, details: { dir } });
  }
  for (const name of names) {
    const cardPath = join(dir, name);
    const card = loadCardSync(cardPath);
    if (`${card.id}.json` !== name) {
      throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Built-in card ${cardPath} has id ${card.id}; the file must be named ${card.id}.json`, {
        details: { source: cardPath, errors: [{ path: '/id', message: `must match the file name ${name}` }] },
      });
    }
    cards.set(card.id, { card, origin: 'builtin', cardPath });
  }
  return cards;
}
