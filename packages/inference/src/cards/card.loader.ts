import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { LoupeError, isRecord } from '@loupe/contracts';
import { EngineCard, type AnyCard } from './engine-card.js';
import { InputSpec, ModelCard, type ModelFile } from './model-card.js';

/** One thing wrong with a card, where a JSON pointer says where. */
export interface CardProblem {
  readonly path: string;
  readonly message: string;
}

// TypeBox checks formats only once they are registered; a URI here is anything URL parses with a scheme.
if (!FormatRegistry.Has('uri')) {
  FormatRegistry.Set('uri', (value) => {
    try {
      return new URL(value).protocol.length > 1;
    } catch {
      return false;
    }
  });
}

/**
 * Validates a card and returns it with the input defaults filled, frozen. Every problem is listed
 * in one LOUPE_ERR_MODEL_CARD_INVALID error (details.errors), so a card is fixed in one pass.
 * `source` names the card in messages (a file path, a URL).
 */
export function parseCard(json: unknown, source: string): ModelCard {
  const card = withInputDefaults(json);
  const valid = Value.Check(ModelCard, card);
  const problems = [...schemaProblems(ModelCard, card), ...(valid ? [...fileProblems(card as ModelCard), ...imageOutputProblems(card as ModelCard)] : [])];
  if (problems.length > 0) throw invalidCard(source, problems);
  return deepFreeze(card as ModelCard);
}

/** Validates an engine card (engine-card.ts) the same way: every problem in one error, frozen. */
export function parseEngineCard(json: unknown, source: string): EngineCard {
  const problems = schemaProblems(EngineCard, json);
  if (problems.length === 0) {
    const card = json as EngineCard;
    problems.push(...fileProblems(card));
    card.engine.languages.forEach((lang, i) => {
      if (!card.files[lang.file]) problems.push({ path: `/engine/languages/${i}/file`, message: `names no file of the card (files: ${Object.keys(card.files).join(', ')})` });
    });
  }
  if (problems.length > 0) throw invalidCard(source, problems);
  return deepFreeze(structuredClone(json) as EngineCard);
}

/** A built-in card file: an engine card where it has an `engine`, else a model card. */
export function loadBuiltinCardSync(path: string): AnyCard {
  const json = parseJson(readSync(path), path);
  return isRecord(json) && 'engine' in json ? parseEngineCard(json, path) : parseCard(json, path);
}

function invalidCard(source: string, problems: readonly CardProblem[]): LoupeError {
  return new LoupeError(
    'LOUPE_ERR_MODEL_CARD_INVALID',
    `Model card ${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}`,
    { details: { source, errors: problems } },
  );
}

/** Reads and validates a card file (JSON). */
export async function loadCard(path: string): Promise<ModelCard> {
  return parseCard(parseJson(await readText(path), path), path);
}

/** The same, synchronously: for start-up paths that cannot await (built-in cards). */
export function loadCardSync(path: string): ModelCard {
  return parseCard(parseJson(readSync(path), path), path);
}

function readSync(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

/**
 * The name a downloaded file is stored under inside the model's folder: its `path`, or the last
 * segment of its URL. Undefined for files that live inside a package.
 */
export function storedName(file: ModelFile): string | undefined {
  if (!file.url) return undefined;
  if (file.path) return file.path;
  try {
    return decodeURIComponent(new URL(file.url).pathname.split('/').filter(Boolean).at(-1) ?? '');
  } catch {
    return undefined;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

function unreadable(path: string, cause: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${path} cannot be read: ${(cause as Error).message}`, {
    cause,
    details: { source: path, errors: [{ path: '', message: 'file cannot be read' }] },
  });
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Model card ${source} is not JSON: ${(cause as Error).message}`, {
      cause,
      details: { source, errors: [{ path: '', message: `not JSON: ${(cause as Error).message}` }] },
    });
  }
}

/**
 * Fills absent input fields with their schema defaults. Done by hand, not with Value.Default,
 * because that also pads a short tuple (a mean of two numbers would silently gain a third).
 */
function withInputDefaults(json: unknown): unknown {
  if (!isRecord(json)) return json;
  const card = structuredClone(json);
  const input = card['input'];
  if (!isRecord(input)) return card;
  for (const [key, schema] of Object.entries(InputSpec.properties)) {
    const fallback = (schema as TSchema).default as unknown;
    if (input[key] === undefined && fallback !== undefined) input[key] = structuredClone(fallback);
  }
  return card;
}

function schemaProblems(schema: TSchema, card: unknown): CardProblem[] {
  const problems: CardProblem[] = [];
  const missing = new Set<string>();
  for (const error of Value.Errors(schema, card)) {
    // A missing property is also "not a string"; the first says it better.
    if (missing.has(error.path)) continue;
    if (error.message === 'Expected required property') missing.add(error.path);
    const message = describe(error);
    if (!problems.some((p) => p.path === error.path && p.message === message)) problems.push({ path: error.path, message });
  }
  return problems;
}

function describe(error: ValueError): string {
  if (error.message === 'Expected required property') return 'is required';
  if (error.message === 'Unexpected property') {
    return /^\/files\/[^/]+$/.test(error.path) ? 'is not a valid file role (a letter, then letters, digits, _ or -)' : 'is not a card field (misspelt?)';
  }
  const options = (error.schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (options?.every((o) => o.const !== undefined)) {
    return `is ${JSON.stringify(error.value)}, expected one of: ${options.map((o) => String(o.const)).join(', ')}`;
  }
  return error.message.replace(/^Expected /, 'expected ');
}

/** Rules JSON Schema cannot say simply: where each file comes from, and names that must not collide. */
function fileProblems(card: Pick<AnyCard, 'files'>): CardProblem[] {
  const problems: CardProblem[] = [];
  const stored = new Map<string, string>();
  for (const [role, file] of Object.entries(card.files)) {
    const at = `/files/${role}`;
    if (file.url !== undefined) {
      if (file.package !== undefined || file.chunks !== undefined || file.convert !== undefined) {
        problems.push({ path: at, message: 'has both a url and a package: give one source' });
      }
      const protocol = safeProtocol(file.url);
      if (protocol !== 'https:' && protocol !== 'http:') problems.push({ path: `${at}/url`, message: 'must be an http(s) URL' });
      const name = storedName(file);
      if (!name || !isSafeRelative(name)) {
        problems.push({ path: `${at}/path`, message: 'must be a relative file name without ".." (where the download is stored)' });
      } else if (stored.has(name)) {
        problems.push({ path: `${at}/path`, message: `is stored as ${name}, like files/${stored.get(name)}: give one of them a path` });
      } else {
        stored.set(name, role);
      }
    } else if (file.package !== undefined) {
      if (file.path === undefined) problems.push({ path: `${at}/path`, message: 'is required for a file inside a package' });
      else if (!isSafeRelative(file.path)) problems.push({ path: `${at}/path`, message: 'must be a relative path without ".."' });
      if (file.size === undefined) problems.push({ path: `${at}/size`, message: 'is required for a file inside a package' });
      if (file.chunks && !isSafeRelative(file.chunks.manifest)) {
        problems.push({ path: `${at}/chunks/manifest`, message: 'must be a relative path without ".."' });
      }
      if (file.convert && !isSafeRelative(file.convert.model)) {
        problems.push({ path: `${at}/convert/model`, message: 'must be a relative path without ".."' });
      }
      if (file.chunks && file.convert) problems.push({ path: at, message: 'has both chunks and convert: give one' });
    } else if (file.chunks || file.convert) {
      problems.push({ path: at, message: file.chunks ? 'chunks need the package that ships them' : 'a conversion needs the package that ships the source model' });
    } else if (file.path !== undefined) {
      // A file made here (converted by `loupe models import-tfjs`, or put there by hand): it lives
      // beside the card in $LOUPE_MODELS_DIR/<id>/ and nothing can download it again.
      if (!isSafeRelative(file.path)) problems.push({ path: `${at}/path`, message: 'must be a relative file name without ".."' });
      else if (stored.has(file.path)) problems.push({ path: `${at}/path`, message: `is stored as ${file.path}, like files/${stored.get(file.path)}` });
      else stored.set(file.path, role);
    } else {
      problems.push({ path: at, message: 'needs a source: url, package and path, or the path of a file beside the card' });
    }
  }
  return problems;
}

const IMAGE_TASKS: readonly string[] = ['super-resolution', 'deblurring'];

/**
 * A model whose output is an image (super-resolution, deblurring) says how to read it: `factor`, how
 * many times larger than the input (a whole number, 1 for a same-size restoration), and `range`, the
 * output's white (1 or 255). Whoever tiles and stitches the output relies on both.
 */
function imageOutputProblems(card: ModelCard): CardProblem[] {
  const { decoder, options } = card.output;
  if (decoder !== 'image') {
    return IMAGE_TASKS.includes(card.task) ? [{ path: '/output/decoder', message: `is ${JSON.stringify(decoder)}; a ${card.task} model's output is read by the "image" decoder` }] : [];
  }
  const problems: CardProblem[] = [];
  const factor = options?.['factor'];
  if (typeof factor !== 'number' || !Number.isInteger(factor) || factor < 1) problems.push({ path: '/output/options/factor', message: 'is required: how many times larger than the input the output image is (a whole number, 1 for the same size)' });
  const range = options?.['range'];
  if (range !== 1 && range !== 255) problems.push({ path: '/output/options/range', message: "is required: the output's white, 1 or 255" });
  return problems;
}

function safeProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

function isSafeRelative(path: string): boolean {
  if (path.includes('\\') || path.includes('\0') || posix.isAbsolute(path)) return false;
  const parts = posix.normalize(path).split('/');
  return !parts.some((p) => p === '..') && parts.every((p) => p !== '' && p !== '.');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
