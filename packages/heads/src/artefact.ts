/**
 * A head on disk: one JSON file per version at <dir>/<id>/<version>.json, holding a card (what the
 * head is, for listings and provenance), every field of the head, and the weights and biases as
 * base64 of little-endian float32 (exact, and a third the size of decimal text).
 *
 * Versions are immutable: saveHead refuses to replace one, so a service that loaded version 3
 * never finds other weights under that name. Writes go to a temporary file that is then linked
 * into place, so a reader sees a whole file or none.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LoupeError, isRecord } from '@loupe/contracts';
import type { HeadClass, HeadKind, LinearHead, TrainedOn } from './head.js';
import { checkTileSpec } from './tiles.js';

export const HEAD_FORMAT = 'loupe.linear-head';
export const HEAD_FORMAT_VERSION = 1;

/**
 * Head ids and versions name directories and files: lower-case letters, digits, '.', '_' and '-',
 * 1 to 100 characters, and (stricter than the character set alone) not starting with '.', which
 * rules out '.', '..' and hidden files.
 */
export const HEAD_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const HEAD_VERSION_PATTERN = HEAD_ID_PATTERN;
const MAX_DIMS = 1 << 16;

export function checkHeadId(id: unknown, what = 'head id'): string {
  if (typeof id !== 'string' || !HEAD_ID_PATTERN.test(id)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${what} must be 1 to 100 of a-z 0-9 . _ - not starting with '.', got ${JSON.stringify(id)}`, { details: { [what]: id } });
  }
  return id;
}

export const checkHeadVersion = (version: unknown): string => checkHeadId(version, 'head version');

export interface HeadCard {
  id: string;
  version: string;
  task: 'classification-head';
  kind: HeadKind;
  source: LinearHead['source'];
  embedding: LinearHead['embedding'];
  classes: number;
  created: string;
  targetPrecision: number;
  trainedOn?: TrainedOn;
  input?: LinearHead['input'];
}

export function headCard(head: LinearHead): HeadCard {
  return {
    id: head.id,
    version: head.version,
    task: 'classification-head',
    kind: head.kind,
    source: head.source,
    embedding: { ...head.embedding },
    classes: head.classes.length,
    created: head.created,
    targetPrecision: head.targetPrecision,
    ...(head.trainedOn !== undefined && { trainedOn: head.trainedOn }),
    ...(head.input !== undefined && { input: head.input }),
  };
}

function floatsToBase64(values: Float32Array): string {
  const buf = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i]!, i * 4);
  return buf.toString('base64');
}

/** The head as JSON text (see the module comment). parseHead(serializeHead(h)) gives h back bit for bit. */
export function serializeHead(head: LinearHead): string {
  const out = {
    format: HEAD_FORMAT,
    formatVersion: HEAD_FORMAT_VERSION,
    card: headCard(head),
    id: head.id,
    version: head.version,
    kind: head.kind,
    source: head.source,
    embedding: head.embedding,
    classes: head.classes.map((c) => ({ concept: c.concept, ...(c.label !== undefined && { label: c.label }) })),
    temperature: head.temperature,
    thresholds: head.thresholds,
    targetPrecision: head.targetPrecision,
    created: head.created,
    ...(head.trainedOn !== undefined && { trainedOn: head.trainedOn }),
    ...(head.metrics !== undefined && { metrics: head.metrics }),
    ...(head.input !== undefined && { input: head.input }),
    weights: floatsToBase64(head.weights),
    bias: floatsToBase64(head.bias),
  };
  return `${JSON.stringify(out, null, 1)}\n`;
}

type Json = Record<string, unknown>;

/**
 * Reads and checks a serialised head: every field present and well-typed, K x D weights and K
 * biases of finite float32, K thresholds in [0, 1], a card that agrees with the head. Refusals are
 * LOUPE_ERR_MODEL_CARD_INVALID naming the source (a file path) and the field.
 */
export function parseHead(text: string, source = 'head'): LinearHead {
  const bad = (field: string, message: string): LoupeError =>
    new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `${source}: ${field === '' ? '' : `field '${field}' `}${message}`, { details: { source, field } });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `${source}: not JSON (${(err as Error).message})`, { cause: err, details: { source } });
  }
  if (!isRecord(doc)) throw bad('', 'is not a JSON object');
  if (doc.format !== HEAD_FORMAT) throw bad('format', `must be ${JSON.stringify(HEAD_FORMAT)}, got ${JSON.stringify(doc.format)}`);
  if (doc.formatVersion !== HEAD_FORMAT_VERSION) throw bad('formatVersion', `must be ${HEAD_FORMAT_VERSION}, got ${JSON.stringify(doc.formatVersion)}`);

  const str = (obj: Json, key: string, path: string, optional = false): string | undefined => {
    const v = obj[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v === '') throw bad(path, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const id = str(doc, 'id', 'id')!;
  if (!HEAD_ID_PATTERN.test(id)) throw bad('id', `must be 1 to 100 of a-z 0-9 . _ - not starting with '.', got ${JSON.stringify(id)}`);
  const version = str(doc, 'version', 'version')!;
  if (!HEAD_VERSION_PATTERN.test(version)) throw bad('version', `must be 1 to 100 of a-z 0-9 . _ - not starting with '.', got ${JSON.stringify(version)}`);
  const kind = doc.kind;
  if (kind !== 'softmax' && kind !== 'sigmoid') throw bad('kind', `must be 'softmax' or 'sigmoid', got ${JSON.stringify(kind)}`);
  const origin = doc.source;
  if (origin !== 'trained' && origin !== 'zero-shot') throw bad('source', `must be 'trained' or 'zero-shot', got ${JSON.stringify(origin)}`);

  if (!isRecord(doc.embedding)) throw bad('embedding', 'must be an object {model, version, dims}');
  const embedding = { model: str(doc.embedding, 'model', 'embedding.model')!, version: str(doc.embedding, 'version', 'embedding.version')!, dims: doc.embedding.dims as number };
  if (!Number.isInteger(embedding.dims) || embedding.dims < 1 || embedding.dims > MAX_DIMS) throw bad('embedding.dims', `must be a whole number from 1 to ${MAX_DIMS}, got ${JSON.stringify(doc.embedding.dims)}`);
  const d = embedding.dims;

  if (!Array.isArray(doc.classes) || doc.classes.length === 0) throw bad('classes', 'must be a non-empty array');
  const seen = new Set<string>();
  const classes: HeadClass[] = doc.classes.map((c: unknown, i: number) => {
    if (!isRecord(c)) throw bad(`classes[${i}]`, 'must be an object {concept, label?}');
    const concept = str(c, 'concept', `classes[${i}].concept`)!;
    if (seen.has(concept)) throw bad(`classes[${i}].concept`, `repeats ${JSON.stringify(concept)}`);
    seen.add(concept);
    const label = str(c, 'label', `classes[${i}].label`, true);
    return label === undefined ? { concept } : { concept, label };
  });
  const k = classes.length;
  if (kind === 'softmax' && k < 2) throw bad('classes', 'a softmax head needs at least 2 classes');

  const floats = (key: 'weights' | 'bias', count: number, shape: string): Float32Array => {
    const v = doc[key];
    if (typeof v !== 'string' || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/u.test(v)) throw bad(key, 'must be base64 text (little-endian float32)');
    const buf = Buffer.from(v, 'base64');
    if (buf.length !== count * 4) throw bad(key, `holds ${buf.length} bytes (${buf.length / 4} float32); ${shape} = ${count} float32 are ${count * 4} bytes`);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const f = buf.readFloatLE(i * 4);
      if (!Number.isFinite(f)) throw bad(key, `value ${i} is ${f}, not a finite number`);
      out[i] = f;
    }
    return out;
  };
  const weights = floats('weights', k * d, `K x D = ${k} x ${d}`);
  const bias = floats('bias', k, `K = ${k}`);

  const temperature = doc.temperature;
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) throw bad('temperature', `must be a finite number > 0, got ${JSON.stringify(temperature)}`);
  if (!Array.isArray(doc.thresholds) || doc.thresholds.length !== k) throw bad('thresholds', `must be an array of ${k} numbers (one per class), got ${Array.isArray(doc.thresholds) ? `${doc.thresholds.length}` : JSON.stringify(doc.thresholds)}`);
  const thresholds = doc.thresholds.map((t: unknown, i: number) => {
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw bad(`thresholds[${i}]`, `must be a number from 0 to 1, got ${JSON.stringify(t)}`);
    return t;
  });
  const targetPrecision = doc.targetPrecision;
  if (typeof targetPrecision !== 'number' || !(targetPrecision >= 0 && targetPrecision <= 1)) throw bad('targetPrecision', `must be a number from 0 to 1, got ${JSON.stringify(targetPrecision)}`);
  const created = str(doc, 'created', 'created')!;
  if (Number.isNaN(Date.parse(created))) throw bad('created', `must be an ISO 8601 date, got ${JSON.stringify(created)}`);

  let trainedOn: TrainedOn | undefined;
  if (doc.trainedOn !== undefined) {
    const t = doc.trainedOn;
    if (!isRecord(t)) throw bad('trainedOn', 'must be an object {dataset, examples, seed, perClass}');
    if (typeof t.dataset !== 'string') throw bad('trainedOn.dataset', `must be a string, got ${JSON.stringify(t.dataset)}`);
    if (typeof t.seed !== 'string') throw bad('trainedOn.seed', `must be a string, got ${JSON.stringify(t.seed)}`);
    if (!Number.isInteger(t.examples) || (t.examples as number) < 0) throw bad('trainedOn.examples', `must be a whole number, got ${JSON.stringify(t.examples)}`);
    if (!isRecord(t.perClass)) throw bad('trainedOn.perClass', 'must be an object of concept: count');
    for (const [concept, count] of Object.entries(t.perClass)) {
      if (!Number.isInteger(count) || (count as number) < 0) throw bad(`trainedOn.perClass[${JSON.stringify(concept)}]`, `must be a whole number, got ${JSON.stringify(count)}`);
    }
    trainedOn = { dataset: t.dataset, examples: t.examples as number, seed: t.seed, perClass: { ...(t.perClass as Record<string, number>) } };
  }

  let input: LinearHead['input'];
  if (doc.input !== undefined) {
    if (!isRecord(doc.input) || !isRecord(doc.input.tiles)) throw bad('input', 'must be an object {tiles: {fit, size, overlap, corners, positive}}');
    const t = doc.input.tiles;
    try {
      input = { tiles: checkTileSpec({ fit: t.fit as number, size: t.size as number, overlap: t.overlap as number, corners: t.corners as number, positive: t.positive as string }) };
    } catch (err) {
      throw bad('input.tiles', (err as Error).message);
    }
    if (!classes.some((c) => c.concept === input!.tiles.positive)) throw bad('input.tiles.positive', `names ${JSON.stringify(input.tiles.positive)}, not one of the head's classes`);
  }

  if (!isRecord(doc.card)) throw bad('card', 'must be an object');
  const card = doc.card;
  if (card.task !== 'classification-head') throw bad('card.task', `must be 'classification-head', got ${JSON.stringify(card.task)}`);
  const agree: [string, unknown, unknown][] = [
    ['id', card.id, id],
    ['version', card.version, version],
    ['kind', card.kind, kind],
    ['classes', card.classes, k],
  ];
  for (const [key, said, actual] of agree) {
    if (said !== actual) throw bad(`card.${key}`, `says ${JSON.stringify(said)} but the head has ${JSON.stringify(actual)}`);
  }

  return {
    id,
    version,
    kind,
    source: origin,
    embedding,
    classes,
    weights,
    bias,
    temperature,
    thresholds,
    targetPrecision,
    created,
    ...(trainedOn !== undefined && { trainedOn }),
    ...(doc.metrics !== undefined && { metrics: doc.metrics }),
    ...(input !== undefined && { input }),
  };
}

const ioError = (message: string, err: unknown, details: Record<string, unknown>): LoupeError => new LoupeError('LOUPE_ERR_STORE', `${message}: ${(err as Error).message}`, { cause: err, details });

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/** Orders versions as people count them: '2' before '10', integers before names. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The versions saved for a head, oldest first; none when its directory does not exist. */
export async function listVersions(dir: string, id: string): Promise<string[]> {
  checkHeadId(id);
  let names: string[];
  try {
    names = await readdir(join(dir, id));
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return [];
    throw ioError(`cannot list the versions of head ${id} in ${dir}`, err, { dir, id });
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .filter((v) => HEAD_VERSION_PATTERN.test(v))
    .sort(compareVersions);
}

/** Writes the head to <dir>/<id>/<version>.json and returns that path; refuses to replace a saved version. */
export async function saveHead(dir: string, head: LinearHead): Promise<string> {
  checkHeadId(head.id);
  checkHeadVersion(head.version);
  const text = serializeHead(head);
  // Saving what cannot be loaded would only move the failure to the service.
  parseHead(text, `head ${head.id}@${head.version}`);
  const folder = join(dir, head.id);
  const file = join(folder, `${head.version}.json`);
  const temp = join(folder, `.${head.version}.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(folder, { recursive: true });
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw ioError(`cannot write head ${head.id}@${head.version} to ${folder}`, err, { dir, id: head.id, version: head.version });
  }
  try {
    // link, unlike rename, fails when the target exists: two trainers cannot both save version 3.
    await link(temp, file);
  } catch (err) {
    if (code(err) === 'EEXIST') {
      await unlink(temp).catch(() => undefined);
      throw new LoupeError('LOUPE_ERR_VALIDATION', `head ${head.id} already has a version ${head.version} (${file}); versions are never replaced: save as the next version`, {
        details: { id: head.id, version: head.version, path: file },
      });
    }
    // A file system without hard links: rename is still atomic, only not exclusive.
    try {
      await rename(temp, file);
      return file;
    } catch (err2) {
      await unlink(temp).catch(() => undefined);
      throw ioError(`cannot move head ${head.id}@${head.version} into ${file}`, err2, { dir, id: head.id, version: head.version });
    }
  }
  await unlink(temp).catch(() => undefined);
  return file;
}

/** '1' for a new head, else one more than the highest whole-number version saved. */
export async function nextVersion(dir: string, id: string): Promise<string> {
  let highest = 0;
  for (const v of await listVersions(dir, id)) if (/^\d+$/u.test(v)) highest = Math.max(highest, Number(v));
  return String(highest + 1);
}

/** Loads a saved head: the given version, else the latest (highest by compareVersions). */
export async function loadHead(dir: string, id: string, version?: string): Promise<LinearHead> {
  checkHeadId(id);
  let chosen = version;
  if (chosen === undefined) {
    chosen = (await listVersions(dir, id)).at(-1);
    if (chosen === undefined) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no head ${id} in ${dir}`, { details: { dir, id } });
  } else {
    checkHeadVersion(chosen);
  }
  const file = join(dir, id, `${chosen}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (code(err) === 'ENOENT') throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no version ${chosen} of head ${id} in ${dir}`, { details: { dir, id, version: chosen } });
    throw ioError(`cannot read head ${file}`, err, { path: file });
  }
  const head = parseHead(text, file);
  if (head.id !== id || head.version !== chosen) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `${file}: holds head ${head.id}@${head.version}, not ${id}@${chosen}`, { details: { source: file, field: 'id' } });
  }
  return head;
}

/** Every head saved under dir with its versions (oldest first), by id; heads without a version are left out. */
export async function listHeads(dir: string): Promise<{ id: string; versions: string[] }[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (code(err) === 'ENOENT') return [];
    throw ioError(`cannot list the heads in ${dir}`, err, { dir });
  }
  const out: { id: string; versions: string[] }[] = [];
  for (const entry of entries.filter((e) => e.isDirectory() && HEAD_ID_PATTERN.test(e.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const versions = await listVersions(dir, entry.name);
    if (versions.length > 0) out.push({ id: entry.name, versions });
  }
  return out;
}
