import { getProfile, getTypeFromContext, presentation2to3 } from '@iiif/parser/presentation-2';
import { upgrade } from '@iiif/parser/upgrader';
import { isRecord } from '@loupe/contracts';
import { asArray, firstString, readTraits, serviceBase } from './image-service.js';
import { idOf, type Json, type RawService } from './presentation-3.js';
import type { HarvestedCanvas } from './types.js';

/**
 * Presentation 2.x, read canvas by canvas.
 *
 * Harvesting does not run @iiif/parser's upgrader: it builds every resource by spreading four
 * objects into one, and V8 11 (Node 20) takes a slow path for each spread after the first, about
 * 15 µs apiece, 140 µs a canvas, so 100,000 canvases cost 15 s and the retained result more in GC.
 * Instead `leanCanvas` gives each 2.x canvas the 3.0 shape of the parts the canvas reader reads,
 * following what the upgrade makes of them (a test compares the two on every fixture), and
 * tolerating what makes the upgrade throw: a canvas it cannot read stays one canvas's problem.
 *
 * The full upgrade is still what the enriched manifest is written from (`upgradeManifest`), made on
 * demand and also one canvas at a time, so a canvas the upgrader rejects costs only that canvas.
 */

const P2_CONTEXT = 'http://iiif.io/api/presentation/2/context.json';
const P3_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';

/** The canvases of every sequence, in document order, as the upgrade concatenates them. */
export function canvasesOf(manifest: Json): unknown[] {
  const canvases: unknown[] = [];
  for (const sequence of asArray(manifest.sequences)) {
    if (isRecord(sequence)) for (const canvas of asArray(sequence.canvases)) canvases.push(canvas);
  }
  return canvases;
}

// ---------------------------------------------------------------------------------------------
// Services as first written: the upgrade rewrites 2.x and 1.1 profile URIs to bare "levelN" and
// loses the Image API version of services it cannot type, so the reader asks for the original.

/**
 * Records every service under `node` not seen before, in document order (the first definition of
 * a service wins, as it did when the whole document was prepared before the upgrade).
 */
export function recordServices(node: unknown, services: Map<string, RawService>): void {
  if (Array.isArray(node)) {
    for (const item of node) recordServices(item, services);
    return;
  }
  if (!isRecord(node)) return;
  for (const key of Object.keys(node)) {
    const value = node[key];
    if (key === 'service') {
      for (const entry of asArray(value)) {
        const wasString = typeof entry === 'string';
        const service = wasString ? { '@id': entry } : entry;
        const id = isRecord(service) ? idOf(service) : undefined;
        if (id !== undefined && isRecord(service) && !services.has(serviceBase(id))) services.set(serviceBase(id), { traits: readTraits(service), wasString });
      }
    }
    recordServices(value, services);
  }
}

// ---------------------------------------------------------------------------------------------
// A 2.x canvas in 3.0 shape: only what the canvas reader reads, as the upgrade would write it.

/** A 2.x canvas as the canvas reader reads a 3.0 one (presentation-3.ts `readCanvas`). */
export function leanCanvas(canvas: Json): Json {
  const annotations = asArray(canvas.images).filter(isRecord).map(leanAnnotation);
  return {
    id: canvas['@id'],
    type: 'Canvas',
    label: languageMap(canvas.label),
    width: canvas.width,
    height: canvas.height,
    items: annotations.length > 0 ? [{ type: 'AnnotationPage', items: annotations }] : [],
  };
}

function leanAnnotation(annotation: Json): Json {
  return {
    motivation: asArray(annotation.motivation).map((m) => (typeof m === 'string' ? withoutPrefix(m) : m)),
    target: leanTarget(annotation.on),
    body: Array.isArray(annotation.resource) ? annotation.resource.map(leanResource) : leanResource(annotation.resource),
  };
}

/** `on`: a canvas URI (with a fragment), or a SpecificResource with a `full` canvas and selectors. */
function leanTarget(on: unknown): unknown {
  let target = on;
  if (Array.isArray(target)) {
    // Several targets become a List, which paints on no one region.
    if (target.length > 1) return { type: 'List' };
    target = target[0];
  }
  if (typeof target === 'string') return target.trim();
  if (!isRecord(target)) return undefined;
  if (!('@type' in target)) return firstString(target['@id'])?.trim();
  const full = target.full;
  return { type: 'SpecificResource', source: typeof full === 'string' ? full : isRecord(full) ? { id: full['@id'] } : undefined, selector: selectors(target.selector) };
}

function selectors(selector: unknown): Json[] {
  if (!isRecord(selector)) return [];
  switch (firstString(selector['@type'])) {
    case 'oa:FragmentSelector':
      return [{ type: 'FragmentSelector', value: selector.value }];
    case 'oa:SvgSelector':
      return [{ type: 'SvgSelector', value: selector.chars ?? selector.value }];
    case 'oa:Choice':
      return [...selectors(selector.default), ...asArray(selector.item).flatMap(selectors)];
    case 'iiif:ImageApiSelector':
      return [{ type: 'ImageApiSelector', region: selector.region, rotation: selector.rotation }];
    default:
      return [];
  }
}

function leanResource(resource: unknown): unknown {
  // A bare URL is kept: the reader takes one that names an image file.
  if (!isRecord(resource)) return resource;
  const type = firstString(resource['@type']);
  if (type === 'oa:Choice') {
    const options = [resource.default, ...asArray(resource.item)].filter((o) => o !== undefined && o !== null && o !== 'rdf:nil');
    return { type: 'Choice', items: options.map(leanResource) };
  }
  if (type === 'oa:SpecificResource' && resource.full !== undefined) {
    // The upgrade drops `full` and with it the image; the reader understands the 3.0 form.
    return { type: 'SpecificResource', source: leanResource(resource.full), selector: resource.selector };
  }
  return {
    id: resource['@id'],
    type: resourceType(resource),
    format: resource.format || undefined,
    width: resource.width,
    height: resource.height,
    label: languageMap(resource.label),
    service: resource.service === undefined ? undefined : asArray(resource.service).map(leanService),
  };
}

/** What the upgrade makes of a service: its type from profile or context, a bare "levelN" profile. */
function leanService(service: unknown): unknown {
  if (!isRecord(service)) return service;
  const type = resourceType(service);
  return {
    id: service.id,
    '@id': service['@id'],
    '@type': type === 'unknown' ? 'Service' : type,
    '@context': type === 'unknown' ? service['@context'] : undefined,
    profile: service.profile ? getProfile(service.profile) : undefined,
    protocol: service.protocol,
  };
}

const PREFIXES = ['sc', 'oa', 'dcterms', 'dctypes', 'iiif'];
const withoutPrefix = (type: string): string => {
  const prefix = PREFIXES.find((p) => type.startsWith(`${p}:`));
  return prefix === undefined ? type : type.slice(prefix.length + 1);
};
const KNOWN_TYPES = new Set(['Collection', 'Manifest', 'Annotation', 'AnnotationPage', 'Range', 'Service']);
const IMAGE_2_PROFILE = /^http:\/\/iiif\.io\/api\/image\/2\/level[012]\.json$/;
const OTHER_SERVICE_PROFILE = /^http:\/\/iiif\.io\/api\/(?:auth\/[01]\/(?:kiosk|login|clickthrough|external|token|logout)|search\/[01]\/(?:search|autocomplete))$/;

/** The 3.0 type the upgrade gives a resource (its getNewType), minus its exceptions on odd values. */
function resourceType(resource: Json): string {
  const profile = resource.profile;
  if (typeof profile === 'string' && IMAGE_2_PROFILE.test(profile)) return 'ImageService2';
  if (typeof profile === 'string' && OTHER_SERVICE_PROFILE.test(profile)) return 'Service';
  const fromContext = resource['@context'] ? getTypeFromContext(resource['@context'] as string | string[]) : undefined;
  if (fromContext !== undefined) return fromContext;
  const declared = resource['@type'] || resource.type;
  let old = Array.isArray(declared) ? declared[0] : declared;
  if (Array.isArray(declared) && declared.includes('oa:CssStylesheet')) return 'CssStylesheet';
  if (Array.isArray(declared) && declared.includes('cnt:ContentAsText')) return 'TextualBody';
  if (typeof old === 'string') {
    old = withoutPrefix(old);
    if (old === 'Layer') return 'AnnotationCollection';
    if (old === 'AnnotationList') return 'AnnotationPage';
    if (old === 'cnt:ContentAsText') return 'TextualBody';
    if (KNOWN_TYPES.has(old as string)) return old as string;
  } else {
    old = undefined;
  }
  const format = firstString(resource.format);
  if (format?.startsWith('image/')) return 'Image';
  if (format?.startsWith('text/') || format === 'application/pdf') return 'Text';
  if (format?.startsWith('application/')) return 'Dataset';
  const id = firstString(resource['@id']) ?? firstString(resource.id);
  if (id !== undefined && /\.(?:jpg|png|jpeg)$/.test(id)) return 'Image';
  return (old as string | undefined) || 'unknown';
}

/**
 * A 2.x label (a string, a `{@value, @language}`, or a list of them) as a 3.0 language map, as
 * the upgrade converts it: untagged values under "none", every value of a language kept.
 */
export function languageMap(value: unknown): Json | undefined {
  if (!value) return undefined;
  // No prototype: a language named "__proto__" is just a key.
  const map = Object.create(null) as Record<string, unknown[]>;
  for (const entry of typeof value === 'string' ? [value] : asArray(value)) {
    const language = isRecord(entry) ? entry['@language'] || entry.language : undefined;
    const text = typeof entry === 'string' ? entry : isRecord(entry) ? entry['@value'] || entry.value : undefined;
    const key = typeof language === 'string' && language !== '' ? language : 'none';
    (map[key] ??= []).push(text || '');
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// The whole document as 3.0, by @iiif/parser, for writing the enriched manifest.

/** Single-valued in 2.x; "every property a list" documents wrap them in arrays, which the upgrader reads as garbage. */
const SINGLE_VALUED = new Set(['@id', '@type', 'format', 'width', 'height', 'viewingHint', 'viewingDirection', 'startCanvas', 'navDate']);
/** Stands in for the canvases while the manifest's own properties are upgraded: an empty sequence would lose its direction and start. */
const PLACEHOLDER_CANVAS = { '@id': 'urn:loupe:placeholder-canvas', '@type': 'sc:Canvas' };

/**
 * The manifest as Presentation 3: its own properties, sequences and ranges by @iiif/parser's
 * upgrade, then each canvas by the upgrade too. `harvested` are the canvases the harvest read, by
 * index: a canvas the upgrader throws on is written from what the harvest read of it, so the
 * enriched manifest keeps every canvas a job annotated.
 */
export function* upgradeManifest(json: Json, document: string, harvested: ReadonlyMap<number, HarvestedCanvas>): Generator<void, Json, void> {
  const v3 = upgradeShell(json, document);
  const items: unknown[] = [];
  // One step a canvas (about 150 µs each): run in slices, a 100,000-canvas upgrade leaves the event loop free.
  for (const [index, canvas] of canvasesOf(json).entries()) {
    yield;
    if (typeof canvas === 'string') {
      items.push({ id: canvas.trim(), type: 'Canvas' });
      continue;
    }
    const read = harvested.get(index);
    if (!isRecord(canvas) || read === undefined) continue;
    try {
      const upgraded = presentation2to3.traverseCanvas(repairV2(canvas) as never) as unknown;
      if (!isRecord(upgraded)) throw new Error('not a canvas');
      items.push(upgraded);
    } catch {
      items.push(canvasAsV3(read));
    }
  }
  v3.items = items;
  const ranges: Json[] = [];
  for (const range of asArray(json.structures)) {
    if (!isRecord(range)) continue;
    try {
      const upgraded = presentation2to3.traverseRange(repairV2(range) as never) as unknown;
      if (isRecord(upgraded)) ranges.push(upgraded);
    } catch {
      // A range the upgrader cannot read is left out: ranges only name canvases, they paint nothing.
    }
  }
  if (ranges.length > 0) v3.structures = nestRanges(ranges);
  else delete v3.structures;
  return v3;
}

function upgradeShell(json: Json, document: string): Json {
  const shell: Json = {};
  for (const key of Object.keys(json)) if (key !== 'sequences' && key !== 'structures') shell[key] = json[key];
  shell.sequences = asArray(json.sequences)
    .filter(isRecord)
    .map((sequence) => {
      const copy: Json = {};
      for (const key of Object.keys(sequence)) if (key !== 'canvases') copy[key] = sequence[key];
      copy.canvases = [PLACEHOLDER_CANVAS];
      return copy;
    });
  const id = idOf(json) ?? document;
  try {
    const repaired = repairV2(shell) as Json;
    // A manifest embedded in a collection's `manifests` list may lack these; the upgrader would then return it untouched.
    repaired['@context'] ??= P2_CONTEXT;
    repaired['@type'] ??= 'sc:Manifest';
    repaired['@id'] ??= document;
    const v3 = upgrade(repaired) as unknown;
    if (isRecord(v3) && v3.type === 'Manifest') return v3;
  } catch {
    // The manifest's own properties are beyond the upgrader: keep what identifies it.
  }
  const label = languageMap(json.label);
  return { '@context': P3_CONTEXT, id, type: 'Manifest', ...(label && { label }) };
}

/**
 * Copies a 2.x node with the repairs the upgrader needs: single-valued arrays unwrapped, and
 * string services as `{ "@id" }` objects (the upgrader spreads a string into one property per
 * character). Copying also keeps the upgrader, which rewrites in place, off the caller's document.
 */
function repairV2(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(repairV2);
  if (!isRecord(node)) return node;
  const out: Json = {};
  for (const key of Object.keys(node)) {
    // An own "__proto__" from JSON.parse would become the copy's prototype.
    if (key === '__proto__') continue;
    let value = node[key];
    if (SINGLE_VALUED.has(key) && Array.isArray(value) && value.length === 1) value = value[0];
    if (key === 'service') value = Array.isArray(value) ? value.map(serviceObject) : serviceObject(value);
    out[key] = repairV2(value);
  }
  return out;
}

const serviceObject = (service: unknown): unknown => (typeof service === 'string' ? { '@id': service } : service);

/**
 * Ranges that other ranges list by id are nested into them and dropped from the top, as the
 * upgrader's flattenStructures does, with a Set where it searches a list (quadratic in ranges).
 */
function nestRanges(ranges: Json[]): Json[] {
  const byId = new Map<unknown, Json>(ranges.map((range) => [range.id, range]));
  const nested = new Set<unknown>();
  for (const range of ranges) {
    if (!Array.isArray(range.items)) continue;
    range.items = range.items.map((item: unknown) => {
      const id = typeof item === 'string' ? item : isRecord(item) ? item.id : undefined;
      if (id === undefined || id === null || id === '') return item;
      nested.add(id);
      return byId.get(id) ?? item;
    });
  }
  return ranges.filter((range) => !nested.has(range.id));
}

/** A canvas the upgrader rejected, written from what the harvest read of it. */
function canvasAsV3(canvas: HarvestedCanvas): Json {
  const page = `${canvas.id}/loupe-page`;
  return {
    id: canvas.id,
    type: 'Canvas',
    label: { none: [canvas.label] },
    ...(canvas.width > 0 && canvas.height > 0 && { width: canvas.width, height: canvas.height }),
    items: [
      {
        id: page,
        type: 'AnnotationPage',
        items: canvas.images.map((image, i) => ({
          id: `${page}/${i + 1}`,
          type: 'Annotation',
          motivation: 'painting',
          target: canvas.id,
          body: {
            id: image.id,
            type: 'Image',
            ...(image.format !== undefined && { format: image.format }),
            ...(image.width !== undefined && { width: image.width, height: image.height }),
            ...(image.service && { service: [{ id: image.service.id, type: `ImageService${image.service.version}`, ...(image.service.profile !== undefined && { profile: image.service.profile }) }] }),
          },
        })),
      },
    ],
  };
}
