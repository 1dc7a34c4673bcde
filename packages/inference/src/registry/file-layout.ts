import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { LoupeError, toLoupeError } from '@loupe/contracts';
import { storedName } from '../cards/card.loader.js';
import type { ModelCard, ModelFile } from '../cards/model-card.js';

/** What the layout needs of a card, model or engine: its id names its folders. */
type CardId = Pick<ModelCard, 'id'>;
import { chunksPresent, convertFromPackage, joinChunks, knownSha256, packageDir, verifyFile } from './model-files.js';

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

/**
 * Where each model file lives: downloads under <modelsDir>/<id>/, files Loupe makes from what a
 * package ships (joined chunks, converted TF.js models) under the cache, the rest in its package.
 */
export interface FileLayout {
  localPath(card: CardId, file: ModelFile): string;
  /** Presence and size, plus a hash verdict where one is already known: no file is read. */
  quickStatus(card: CardId, role: string, file: ModelFile): ModelFileStatus;
  /** The verified local path of one file: chunks are joined and models converted on first use. */
  ensureFile(card: CardId, role: string, file: ModelFile): Promise<string>;
}

export function sourceOf(file: ModelFile): ModelFileStatus['source'] {
  return file.url ? 'url' : file.chunks ? 'chunks' : file.convert ? 'converted' : file.package === undefined ? 'local' : 'package';
}

/** A file Loupe makes from what a package ships (joined from chunks, converted): kept in the cache, made again when wrong. */
function derived(file: ModelFile): boolean {
  return file.chunks !== undefined || file.convert !== undefined;
}

export function fileLayout(modelsDir: string, cacheDir: string): FileLayout {
  function localPath(card: CardId, file: ModelFile): string {
    if (file.url) return join(modelsDir, card.id, storedName(file)!);
    if (derived(file)) return join(cacheDir, card.id, file.path!);
    if (file.package === undefined) return join(modelsDir, card.id, file.path!);
    return join(packageDir(file.package), file.path!);
  }

  function quickStatus(card: CardId, role: string, file: ModelFile): ModelFileStatus {
    const base = { role, source: sourceOf(file), expectedSha256: file.sha256 };
    let path: string;
    try {
      path = localPath(card, file);
    } catch (err) {
      return { ...base, path: file.package ?? '', state: 'missing', problem: toLoupeError(err).message };
    }
    let st: Stats | undefined;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (!st) return { ...base, path, ...notMadeYet(card, file) };
    if (file.size !== undefined && st.size !== file.size) {
      return { ...base, path, state: derived(file) ? 'unverified' : 'corrupt', problem: `${st.size} bytes, expected ${file.size}` };
    }
    const known = knownSha256(path);
    if (known === undefined) return { ...base, path, state: 'unverified' };
    if (known === file.sha256) return { ...base, path, state: 'ok', actualSha256: known };
    // A derived file with the wrong bytes is made again on the next resolve.
    return { ...base, path, state: derived(file) ? 'unverified' : 'corrupt', actualSha256: known, problem: `sha256 ${known}, expected ${file.sha256}` };
  }

  async function ensureFile(card: CardId, role: string, file: ModelFile): Promise<string> {
    const path = localPath(card, file);
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

  return { localPath, quickStatus, ensureFile };
}

/** A file that is not on disk: fine when Loupe can still make it from its package (chunks, a TF.js model). */
function notMadeYet(card: CardId, file: ModelFile): { state: FileState; problem?: string } {
  if (file.chunks) {
    try {
      const manifest = JSON.parse(readFileSync(join(packageDir(file.package!), file.chunks.manifest), 'utf8')) as Record<string, { chunks?: { hash: string; offsets: [number, number] }[] }>;
      const chunks = manifest[file.chunks.key]?.chunks ?? [];
      const dir = join(packageDir(file.package!), file.chunks.manifest, '..');
      if (chunks.length > 0 && chunksPresent(dir, chunks)) return { state: 'unverified' };
    } catch {
      // reported as missing below
    }
    return { state: 'missing', problem: `chunks of ${file.chunks.key} are missing from ${file.package}` };
  }
  if (file.convert) {
    try {
      if (existsSync(join(packageDir(file.package!), file.convert.model))) return { state: 'unverified' };
    } catch {
      // reported as missing below
    }
    return { state: 'missing', problem: `${file.convert.model} is missing from ${file.package}` };
  }
  return { state: 'missing', problem: file.url ? `not downloaded (loupe models pull ${card.id})` : 'file not found' };
}
