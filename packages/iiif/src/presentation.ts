import { channel } from 'node:diagnostics_channel';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LoupeError, isRecord } from '@loupe/contracts';
import { asArray, firstString, serviceBase } from './image-service.js';
import { canvasesOf, languageMap, leanCanvas, recordServices, upgradeManifest } from './presentation-2.js';
import { idOf, labelOf, lastSegment, readCanvas, type Json, type ManifestContext, type RawService } from './presentation-3.js';
import { canvasLanguages, manifestLanguages } from './text-language.js';
import type { HarvestError, HarvestedCanvas, HarvestedManifest } from './types.js';

const P4_CONTEXT = /^https?:\/\/iiif\.io\/api\/presentation\/4\/context\.json$/;

/**
 * Published when a canvas or a manifest cannot be read, and when a loader throws something other
 * than a LoupeError: `{ document, index, error }`, the error with its stack. Callers only see plain
 * words and a stable code; this is where a log (or a test) finds what was thrown.
 */
export const UNREADABLE_CHANNEL = 'loupe:iiif:unreadable';
const unreadable = channel(UNREADABLE_CHANNEL);

export interface DocumentKind {
  readonly kind: 'manifest' | 'collection';
  readonly version: 2 | 3;
}

/**
 * Reads a Presentation 2.x or 3.0 manifest: every canvas, and every image painted on it. A canvas
 * that cannot be read is left out and listed in `problems` (LOUPE_ERR_IIIF_MALFORMED); the rest is
 * read. Throws a LoupeError (LOUPE_ERR_IIIF_NOT_IIIF) naming the document when it is not a manifest
 * or cannot be read at all, never anything else. It reads in one go; `harvest()` reads in slices
 * that leave the event loop free.
 */
export function parseManifest(json: unknown, document: string): HarvestedManifest {
  const kind = identify(json, document);
  if (kind.kind !== 'manifest') {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_IIIF', `${document} is a IIIF Collection, not a Manifest (harvest() walks collections)`, { details: { document } });
  }
  return runToEnd(readManifest(json as Json, kind.version, document));
}

/** What a document is, from its type; throws LOUPE_ERR_IIIF_NOT_IIIF when it is neither a manifest nor a collection. */
export function identify(json: unknown, document: string): DocumentKind {
  if (!isRecord(json)) return notIiifThrow(document, `is a JSON ${json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json}, not an object`);
  const contexts = asArray(json['@context']).filter((c): c is string => typeof c === 'string');
  const p4 = contexts.find((c) => P4_CONTEXT.test(c));
  if (p4 !== undefined) return notIiifThrow(document, `uses IIIF Presentation 4 (@context ${excerpt(p4)}), which Loupe does not read yet (2.x and 3.0 only)`);
  const typeKey = json.type !== undefined ? 'type' : '@type';
  const type = firstString(json[typeKey]);
  switch (type) {
    case 'Manifest':
      return { kind: 'manifest', version: 3 };
    case 'Collection':
      return { kind: 'collection', version: 3 };
    case 'sc:Manifest':
      return { kind: 'manifest', version: 2 };
    case 'sc:Collection':
      return { kind: 'collection', version: 2 };
  }
  if (type !== undefined) return notIiifThrow(document, `has ${typeKey} ${excerpt(type)}`);
  if (contexts.length > 0) return notIiifThrow(document, `has @context ${contexts.slice(0, 3).map(excerpt).join(', ')} but no type`);
  return notIiifThrow(document, 'has no @context/type');
}

/** A value from the document, quoted, escaped and cut short: an error may show what it found, not carry the document. */
export function excerpt(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

export function notIiif(document: string, what: string): LoupeError {
  return new LoupeError('LOUPE_ERR_IIIF_NOT_IIIF', `${document} is not a IIIF manifest or collection: ${what}`, { details: { document } });
}

function notIiifThrow(document: string, what: string): never {
  throw notIiif(document, what);
}

/** Entries in the canvas list: what maxCanvases counts, known before anything is read. */
export function canvasCount(json: Json, version: 2 | 3): number {
  return version === 3 ? asArray(json.items).length : canvasesOf(json).length;
}

// ---------------------------------------------------------------------------------------------
// Reading, one canvas per step: `runToEnd` reads in one go, `runInSlices` yields the event loop.

type Steps<T> = Generator<void, T, void>;

function runToEnd<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Long enough that yielding costs nothing measurable (a turn of the loop is microseconds), short
 * enough that a request arriving during a 100,000-canvas harvest waits no longer than this.
 */
export const SLICE_MS = 20;

export async function runInSlices<T>(steps: Steps<T>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (let n = 1; ; n += 1) {
    const step = steps.next();
    if (step.done) return step.value;
    // Reading the clock costs more than a step of small canvases: look at it every 32 steps.
    if (n % 32 === 0 && performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}

/**
 * Reads a manifest one canvas per step. Throws only LoupeError (LOUPE_ERR_IIIF_NOT_IIIF when the
 * manifest as a whole cannot be read); each canvas that cannot be read becomes a problem instead.
 */
export function* readManifest(json: Json, version: 2 | 3, document: string, collections?: readonly string[]): Steps<HarvestedManifest> {
  const id = idOf(json) ?? document;
  const canvases: HarvestedCanvas[] = [];
  const problems: HarvestError[] = [];
  let label: string | undefined;
  try {
    label = labelOf(version === 2 ? languageMap(json.label) : json.label);
    const languages = manifestLanguages(json, version);
    yield* version === 2 ? readCanvasesV2(json, id, document, canvases, problems, languages) : readCanvasesV3(json, id, document, canvases, problems, languages);
  } catch (err) {
    unreadable.publish({ document, index: undefined, error: err });
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_IIIF', `${document} is not a IIIF manifest Loupe can read: ${plainReason(err)}`, { cause: err, details: { document } });
  }
  // 2.x `license` (one URI, or a list of them) is what 3 calls `rights`.
  const rights = firstString(version === 2 ? json.license : json.rights)?.trim();
  const manifest = {
    id,
    label: label ?? lastSegment(id),
    sourceVersion: version,
    canvases,
    problems,
    ...(rights && { rights }),
    ...(collections && collections.length > 0 && { collections }),
  };
  if (version === 3) return { ...manifest, v3: json, v3InSlices: () => Promise.resolve(json) };
  // The 3.0 document is for writing an enriched manifest back, which most harvests never do: made when first asked for.
  const byIndex = new Map(canvases.map((c) => [c.index, c]));
  let v3: Json | undefined;
  const v3InSlices = async (): Promise<Json> => (v3 ??= await runInSlices(upgradeManifest(json, document, byIndex)));
  return Object.defineProperties(manifest, {
    v3: { enumerable: true, get: () => (v3 ??= runToEnd(upgradeManifest(json, document, byIndex))) },
    v3InSlices: { value: v3InSlices },
  }) as unknown as HarvestedManifest;
}

/** `languages`: the manifest's, for the canvases that name none of their own. */
function* readCanvasesV3(json: Json, id: string, document: string, canvases: HarvestedCanvas[], problems: HarvestError[], languages: readonly string[]): Steps<void> {
  const sharedServices = new Map<string, Json>();
  for (const service of asArray(json.services)) {
    const serviceId = isRecord(service) ? idOf(service) : undefined;
    if (serviceId !== undefined && isRecord(service)) sharedServices.set(serviceBase(serviceId), service);
  }
  const context: ManifestContext = { rawServices: new Map(), sharedServices };
  let index = 0;
  for (const item of asArray(json.items)) {
    if (isRecord(item)) {
      const type = firstString(item.type);
      if (type !== undefined && type !== 'Canvas') continue;
    }
    readOne(item, index, document, canvases, problems, (canvas) => readCanvas(canvas, index, id, context, ownOr(canvasLanguages(canvas, 3), languages)));
    index += 1;
    yield;
  }
}

function* readCanvasesV2(json: Json, id: string, document: string, canvases: HarvestedCanvas[], problems: HarvestError[], languages: readonly string[]): Steps<void> {
  const rawServices = new Map<string, RawService>();
  const context: ManifestContext = { rawServices, sharedServices: new Map() };
  let index = 0;
  for (const canvas of canvasesRecordingServices(json, rawServices)) {
    readOne(canvas, index, document, canvases, problems, (c) => {
      recordServices(c, rawServices);
      return readCanvas(leanCanvas(c), index, id, context, ownOr(canvasLanguages(c, 2), languages));
    });
    index += 1;
    yield;
  }
}

function ownOr(own: readonly string[], manifest: readonly string[]): readonly string[] {
  return own.length > 0 ? own : manifest;
}

/**
 * The canvases of a 2.x manifest in document order, each after the services written before it have
 * been recorded: the first definition of a service is the one its image is read with.
 */
function* canvasesRecordingServices(json: Json, services: Map<string, RawService>): Generator<unknown> {
  const record = (key: string, value: unknown): void => {
    try {
      recordServices({ [key]: value }, services);
    } catch {
      // Nested too deep to walk: nothing there that a canvas needs.
    }
  };
  for (const key of Object.keys(json)) {
    if (key !== 'sequences') {
      record(key, json[key]);
      continue;
    }
    for (const sequence of asArray(json.sequences)) {
      if (!isRecord(sequence)) continue;
      for (const sequenceKey of Object.keys(sequence)) {
        if (sequenceKey === 'canvases') yield* asArray(sequence.canvases);
        else record(sequenceKey, sequence[sequenceKey]);
      }
    }
  }
}

function readOne(item: unknown, index: number, document: string, canvases: HarvestedCanvas[], problems: HarvestError[], read: (canvas: Json) => HarvestedCanvas): void {
  if (typeof item === 'string') {
    // A canvas given by reference only: nothing painted that this document says.
    canvases.push({ id: item.trim(), index, label: lastSegment(item), width: 0, height: 0, images: [] });
    return;
  }
  if (!isRecord(item)) {
    problems.push(canvasProblem(document, index, undefined, `it is ${item === null ? 'null' : Array.isArray(item) ? 'a list' : `a ${typeof item}`}, not an object`));
    return;
  }
  try {
    canvases.push(read(item));
  } catch (err) {
    unreadable.publish({ document, index, error: err });
    problems.push(canvasProblem(document, index, idOf(item), plainReason(err)));
  }
}

function canvasProblem(document: string, index: number, canvasId: string | undefined, why: string): HarvestError {
  const which = canvasId === undefined ? `the canvas at index ${index}` : `canvas ${canvasId} (index ${index})`;
  return {
    document,
    code: 'LOUPE_ERR_IIIF_MALFORMED',
    message: `${document}: ${which} cannot be read and is skipped: ${why}`,
    ...(canvasId !== undefined && { canvas: canvasId }),
  };
}

/** Why, in words a publisher can act on; never a parser's internal message. */
function plainReason(err: unknown): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'it nests lists or objects too deeply';
  return 'its content has a shape Loupe cannot read';
}
