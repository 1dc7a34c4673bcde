import { upgrade } from '@iiif/parser/upgrader';
import { LoupeError, isErrorCode, type ImageRef, type ImageServiceRef, type Rect } from '@loupe/contracts';
import { asArray, firstString, isRecord, readTraits, serviceBase, versionFromUrl, type ImageServiceTraits } from './image-service.js';
import type { DocumentLoader, HarvestError, HarvestEvent, HarvestLimits, HarvestedCanvas, HarvestedManifest } from './types.js';

type Json = Record<string, unknown>;

export const DEFAULT_HARVEST_LIMITS: Readonly<HarvestLimits> = Object.freeze({ maxDepth: 4, maxManifests: 10_000 });
/**
 * Manifests of a collection loaded ahead of the one being read: events stay in document order,
 * but a collection of remote manifests is not fetched strictly one at a time. The loader's own
 * per-host limits still apply.
 */
export const HARVEST_PREFETCH = 4;

const P4_CONTEXT = /^https?:\/\/iiif\.io\/api\/presentation\/4\/context\.json$/;
const P2_CONTEXT = 'http://iiif.io/api/presentation/2/context.json';
const IMAGE_URL = /\.(?:jpe?g|png|gif|webp|tiff?|jp2)(?:[?#]|$)/i;

interface DocumentKind {
  readonly kind: 'manifest' | 'collection';
  readonly version: 2 | 3;
}

/**
 * Reads a Presentation 2.x or 3.0 manifest: every canvas, and every image painted on it. A 2.x
 * manifest is upgraded by @iiif/parser first, so the rest reads 3.0 only; the upgraded document is
 * kept as `v3`. Throws LoupeError (LOUPE_ERR_IIIF_NOT_IIIF) naming the document when it is not a
 * manifest, never anything else.
 */
export function parseManifest(json: unknown, document: string): HarvestedManifest {
  const kind = identify(json, document);
  if (kind.kind !== 'manifest') {
    throw new LoupeError('LOUPE_ERR_IIIF_NOT_IIIF', `${document} is a IIIF Collection, not a Manifest (harvest() walks collections)`, { details: { document } });
  }
  return readManifest(json as Json, kind.version, document);
}

function identify(json: unknown, document: string): DocumentKind {
  if (!isRecord(json)) return notIiifThrow(document, `is a JSON ${json === null ? 'null' : Array.isArray(json) ? 'array' : typeof json}, not an object`);
  const contexts = asArray(json['@context']).filter((c): c is string => typeof c === 'string');
  const p4 = contexts.find((c) => P4_CONTEXT.test(c));
  if (p4 !== undefined) return notIiifThrow(document, `uses IIIF Presentation 4 (@context "${p4}"), which Loupe does not read yet (2.x and 3.0 only)`);
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
  if (type !== undefined) return notIiifThrow(document, `has ${typeKey} "${type}"`);
  if (contexts.length > 0) return notIiifThrow(document, `has @context "${contexts.join('", "')}" but no type`);
  return notIiifThrow(document, 'has no @context/type');
}

function notIiif(document: string, what: string, cause?: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_IIIF_NOT_IIIF', `${document} is not a IIIF manifest or collection: ${what}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { document },
  });
}

function notIiifThrow(document: string, what: string): never {
  throw notIiif(document, what);
}

function readManifest(json: Json, version: 2 | 3, document: string): HarvestedManifest {
  try {
    const { v3, rawServices } = version === 2 ? upgradeV2(json, document) : { v3: json, rawServices: new Map<string, RawService>() };
    const manifest = harvestV3(v3, version, rawServices, document);
    // 2.x `license` (one URI, or a list of them) is what 3 calls `rights`; the upgrade does not always carry it over.
    const license = version === 2 && manifest.rights === undefined ? firstString(json.license)?.trim() : undefined;
    return license ? { ...manifest, rights: license } : manifest;
  } catch (err) {
    if (err instanceof LoupeError) throw err;
    throw notIiif(document, `cannot be read as a Presentation ${version} manifest (${reason(err)})`, err);
  }
}

// ---------------------------------------------------------------------------------------------
// Presentation 2: repairs @iiif/parser does not make, then its upgrade.

interface RawService {
  readonly traits: ImageServiceTraits;
  /** The service was given as a bare URL string. */
  readonly wasString: boolean;
}

/** Single-valued in 2.x; "every property a list" documents wrap them in arrays, which the upgrader reads as garbage. */
const SINGLE_VALUED = new Set(['@id', '@type', 'format', 'width', 'height', 'viewingHint', 'viewingDirection', 'startCanvas', 'navDate']);

function upgradeV2(json: Json, document: string): { v3: Json; rawServices: Map<string, RawService> } {
  const clone = structuredClone(json);
  const rawServices = new Map<string, RawService>();
  prepareV2(clone, rawServices);
  // A manifest embedded in a collection's `manifests` list may lack these; the upgrader would then return it untouched.
  clone['@context'] ??= P2_CONTEXT;
  clone['@type'] ??= 'sc:Manifest';
  clone['@id'] ??= document;
  const v3 = upgrade(clone) as unknown;
  if (!isRecord(v3) || v3.type !== 'Manifest') throw new Error('the upgrade did not produce a Manifest');
  return { v3, rawServices };
}

/**
 * Walks the (cloned) 2.x document before the upgrade: unwraps single-valued arrays, turns string
 * services into `{ "@id" }` objects (the upgrader spreads a string into one property per character),
 * and remembers each service as written, because the upgrade rewrites 2.x and 1.1 profile URIs to
 * bare "levelN" and loses the Image API version of services it cannot type.
 */
function prepareV2(node: unknown, services: Map<string, RawService>): void {
  if (Array.isArray(node)) {
    for (const item of node) prepareV2(item, services);
    return;
  }
  if (!isRecord(node)) return;
  for (const key of Object.keys(node)) {
    let value = node[key];
    if (SINGLE_VALUED.has(key) && Array.isArray(value) && value.length === 1) node[key] = value = value[0];
    if (key === 'service') {
      const list = asArray(value).map((entry) => {
        const wasString = typeof entry === 'string';
        const service = wasString ? { '@id': entry } : entry;
        const id = isRecord(service) ? idOf(service) : undefined;
        if (id !== undefined && isRecord(service) && !services.has(serviceBase(id))) services.set(serviceBase(id), { traits: readTraits(service), wasString });
        return service;
      });
      node[key] = value = Array.isArray(value) ? list : list[0];
    }
    prepareV2(value, services);
  }
}

// ---------------------------------------------------------------------------------------------
// Presentation 3 (native or upgraded): canvases and the images painted on them.

interface ManifestContext {
  readonly rawServices: ReadonlyMap<string, RawService>;
  /** Top-level `services`: full definitions that bodies may reference by id only. */
  readonly sharedServices: ReadonlyMap<string, Json>;
}

function harvestV3(v3: Json, sourceVersion: 2 | 3, rawServices: ReadonlyMap<string, RawService>, document: string): HarvestedManifest {
  const id = idOf(v3) ?? document;
  const sharedServices = new Map<string, Json>();
  for (const service of asArray(v3.services)) {
    const serviceId = isRecord(service) ? idOf(service) : undefined;
    if (serviceId !== undefined && isRecord(service)) sharedServices.set(serviceBase(serviceId), service);
  }
  const context: ManifestContext = { rawServices, sharedServices };
  const canvases: HarvestedCanvas[] = [];
  for (const item of asArray(v3.items)) {
    if (typeof item === 'string') {
      canvases.push({ id: item.trim(), index: canvases.length, label: lastSegment(item), width: 0, height: 0, images: [] });
      continue;
    }
    if (!isRecord(item)) continue;
    // An upgraded 2.x manifest lists only canvases here, but the upgrader types a canvas whose @id
    // ends in ".jpg" as an Image (p2-iiifauth-test.json): trust the position, not the type.
    const type = firstString(item.type);
    if (sourceVersion === 3 && type !== undefined && type !== 'Canvas') continue;
    canvases.push(readCanvas(item, canvases.length, id, context));
  }
  // Presentation 3 `rights` (2.x `license`, which the upgrade turns into `rights`): one URI.
  const rights = firstString(v3.rights);
  return { id, label: labelOf(v3.label) ?? lastSegment(id), sourceVersion, v3, canvases, ...(rights && { rights: rights.trim() }) };
}

function readCanvas(canvas: Json, index: number, manifestId: string, context: ManifestContext): HarvestedCanvas {
  const id = idOf(canvas) ?? `${manifestId}/canvas/${index}`;
  const width = positiveInteger(canvas.width);
  const height = positiveInteger(canvas.height);
  const images: ImageRef[] = [];
  for (const page of asArray(canvas.items)) {
    // A page given by reference only would need a request: this module reads what it is given.
    if (!isRecord(page)) continue;
    for (const annotation of asArray(page.items)) {
      if (!isRecord(annotation) || !isPainting(annotation)) continue;
      const target = targetRect(annotation.target, width ?? 0, height ?? 0);
      for (const { resource, choice, selection } of imageBodies(annotation.body, undefined)) {
        const image = toImageRef(resource, choice, target, context, selection);
        if (image) images.push(image);
      }
    }
  }
  // A canvas must have a size when it shows an image; when the publisher left it out, the first
  // image's size is the best guess (it is what viewers fall back to as well).
  const first = images[0];
  return {
    id,
    index,
    label: labelOf(canvas.label) ?? lastSegment(id),
    width: width ?? first?.width ?? 0,
    height: height ?? first?.height ?? 0,
    images,
  };
}

function isPainting(annotation: Json): boolean {
  const motivations = asArray(annotation.motivation);
  // Annotations in a canvas's `items` are painting by definition; 2.x images often omit it.
  return motivations.length === 0 || motivations.some((m) => m === 'painting' || m === 'sc:painting');
}

interface Selection {
  readonly region?: Rect;
  readonly rotation?: 0 | 90 | 180 | 270;
}

function* imageBodies(body: unknown, choice: string | undefined, selection: Selection = {}): Generator<{ resource: Json; choice: string | undefined; selection: Selection }> {
  for (const item of asArray(body)) {
    if (typeof item === 'string') {
      if (IMAGE_URL.test(item)) yield { resource: { id: item }, choice, selection };
      continue;
    }
    if (!isRecord(item)) continue;
    const type = firstString(item.type) ?? firstString(item['@type']);
    if (type === 'Choice' || type === 'oa:Choice') {
      for (const [i, option] of asArray(item.items).entries()) {
        yield* imageBodies(option, (isRecord(option) ? labelOf(option.label) : undefined) ?? `option ${i + 1}`, selection);
      }
    } else if (type === 'List' || type === 'Composite' || type === 'Independents') {
      yield* imageBodies(item.items, choice, selection);
    } else if (type === 'SpecificResource' || (type === undefined && item.source !== undefined)) {
      yield* imageBodies(item.source, choice, { ...selection, ...selectionOf(item.selector) });
    } else if (isImageResource(item, type)) {
      yield { resource: item, choice, selection };
    }
  }
}

/**
 * The part of an image a SpecificResource paints: an ImageApiSelector (`region` as x,y,w,h in
 * pixels, `rotation` by a multiple of 90) or a FragmentSelector `xywh=`. Percent regions and other
 * rotations are left out (the whole image is used) rather than guessed.
 */
function selectionOf(selector: unknown): Selection {
  const out: { region?: Rect; rotation?: 0 | 90 | 180 | 270 } = {};
  for (const s of asArray(selector)) {
    if (!isRecord(s)) continue;
    const type = firstString(s.type) ?? firstString(s['@type']);
    const pixels = type === 'ImageApiSelector' || type === 'iiif:ImageApiSelector' ? firstString(s.region) : /^xywh=(?!percent:)(?:pixel:)?(.*)$/.exec(firstString(s.value) ?? '')?.[1];
    const parts = pixels?.split(',').map(Number);
    if (parts?.length === 4 && parts.every((n) => Number.isFinite(n) && n >= 0) && parts[2]! > 0 && parts[3]! > 0) {
      out.region = { x: parts[0]!, y: parts[1]!, w: parts[2]!, h: parts[3]! };
    }
    const rotation = Number(firstString(s.rotation) ?? s.rotation);
    if (type?.endsWith('ImageApiSelector') && [0, 90, 180, 270].includes(rotation)) out.rotation = rotation as 0 | 90 | 180 | 270;
  }
  return out;
}

function isImageResource(item: Json, type: string | undefined): boolean {
  if (type === 'Image' || type === 'dctypes:Image') return true;
  const format = firstString(item.format);
  if (format !== undefined) return format.toLowerCase().startsWith('image/');
  return type === undefined && asArray(item.service).some((s) => typeof s === 'string' || (isRecord(s) && readTraits(s).isImageService));
}

function toImageRef(resource: Json, choice: string | undefined, target: Rect | undefined, context: ManifestContext, selection: Selection = {}): ImageRef | undefined {
  const service = pickService(resource.service, context);
  let id = idOf(resource);
  if (id === undefined) {
    if (service === undefined) return undefined;
    id = `${service.id}/full/${service.version === 3 ? 'max' : 'full'}/0/${service.version === 1 ? 'native' : 'default'}.jpg`;
  }
  const image: ImageRef = { id };
  const format = firstString(resource.format);
  if (format !== undefined) image.format = format;
  const width = positiveInteger(resource.width);
  const height = positiveInteger(resource.height);
  if (width !== undefined && height !== undefined) {
    image.width = width;
    image.height = height;
  }
  if (service !== undefined) image.service = service;
  if (target !== undefined) image.target = target;
  if (choice !== undefined) image.choice = choice;
  if (selection.region !== undefined) image.region = selection.region;
  if (selection.rotation !== undefined && selection.rotation !== 0) image.rotation = selection.rotation;
  return image;
}

/**
 * The image service to fetch through: the highest Image API version listed (a body often lists the
 * same image as ImageService2 and ImageService3), an object before a bare URL. A bare URL may be an
 * auth or search service as well, so it is used only when nothing better is there.
 */
function pickService(value: unknown, context: ManifestContext): ImageServiceRef | undefined {
  let best: { ref: ImageServiceRef; rank: number } | undefined;
  for (const entry of asArray(value)) {
    let candidate: { ref: ImageServiceRef; rank: number } | undefined;
    if (typeof entry === 'string') {
      candidate = fromBareUrl(entry);
    } else if (isRecord(entry)) {
      const rawId = idOf(entry);
      if (rawId === undefined) continue;
      const id = serviceBase(rawId);
      const raw = context.rawServices.get(id);
      if (raw?.wasString) {
        candidate = fromBareUrl(rawId);
      } else {
        const full = context.sharedServices.get(id);
        const described = full !== undefined && entry.profile === undefined ? full : entry;
        const traits = raw?.traits.isImageService ? raw.traits : readTraits(described);
        if (!traits.isImageService) continue;
        const version = traits.version ?? 2;
        const ref: ImageServiceRef = { id, version, level: traits.level };
        if (traits.profile !== undefined) ref.profile = traits.profile;
        candidate = { ref, rank: version };
      }
    }
    if (candidate !== undefined && candidate.ref.id !== '' && (best === undefined || candidate.rank > best.rank)) best = candidate;
  }
  return best?.ref;
}

function fromBareUrl(url: string): { ref: ImageServiceRef; rank: number } {
  return { ref: { id: serviceBase(url), version: versionFromUrl(url) ?? 2, level: null }, rank: 0 };
}

/** Where on the canvas an annotation paints, from a `#xywh=` fragment or a FragmentSelector. */
function targetRect(target: unknown, canvasWidth: number, canvasHeight: number): Rect | undefined {
  const first = asArray(target)[0];
  const fragments: string[] = [];
  if (typeof first === 'string') {
    fragments.push(fragmentOf(first) ?? '');
  } else if (isRecord(first)) {
    for (const selector of asArray(first.selector)) {
      if (isRecord(selector) && typeof selector.value === 'string') fragments.push(selector.value);
    }
    const source = typeof first.source === 'string' ? first.source : isRecord(first.source) ? idOf(first.source) : idOf(first);
    if (source !== undefined) fragments.push(fragmentOf(source) ?? '');
  }
  for (const fragment of fragments) {
    const rect = parseXywh(fragment, canvasWidth, canvasHeight);
    if (rect) return rect;
  }
  return undefined;
}

function fragmentOf(uri: string): string | undefined {
  const hash = uri.indexOf('#');
  return hash < 0 ? undefined : uri.slice(hash + 1);
}

const XYWH = /^xywh=(?:(pixel|percent):)?(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/;

function parseXywh(fragment: string, canvasWidth: number, canvasHeight: number): Rect | undefined {
  for (const part of fragment.split('&')) {
    const match = XYWH.exec(part.trim());
    if (!match) continue;
    const [x, y, w, h] = match.slice(2).map(Number) as [number, number, number, number];
    if (!(w > 0 && h > 0)) continue;
    if (match[1] === 'percent') {
      return { x: (x * canvasWidth) / 100, y: (y * canvasHeight) / 100, w: (w * canvasWidth) / 100, h: (h * canvasHeight) / 100 };
    }
    return { x, y, w, h };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Small readers.

function idOf(node: Json): string | undefined {
  const id = (firstString(node.id) ?? firstString(node['@id']))?.trim();
  return id === '' ? undefined : id;
}

function positiveInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : Array.isArray(value) && typeof value[0] === 'number' ? value[0] : NaN;
  return Number.isFinite(n) && n >= 0.5 ? Math.round(n) : undefined;
}

/** One string from a language map: English (en, en-GB...) first, else the first language given. */
export function labelOf(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number') return String(value).trim() || undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = labelOf(item);
      if (text !== undefined) return text;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  if ('@value' in value) return labelOf(value['@value']);
  const languages = Object.keys(value);
  const english = languages.filter((l) => l === 'en' || l.toLowerCase().startsWith('en-'));
  for (const language of [...english, ...languages.filter((l) => !english.includes(l))]) {
    const text = asArray(value[language])
      .map((v) => (typeof v === 'string' || typeof v === 'number' ? String(v).trim() : ''))
      .filter((v) => v !== '')
      .join('; ');
    if (text !== '') return text;
  }
  return undefined;
}

function lastSegment(id: string): string {
  const path = id.trim().replace(/[?#].*$/, '').replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1) || id.trim();
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// Harvest: a manifest, or a collection walked recursively.

interface Member {
  /** What the parent says it is; 'unknown' for a bare URL, where only the document can tell. */
  readonly kind: 'manifest' | 'collection' | 'unknown';
  readonly ref: string | undefined;
  /** The member's content when the parent embeds it (no request needed). */
  readonly embedded: Json | undefined;
}

/**
 * Harvests `source` (a manifest, or a collection walked recursively) through `load`, yielding each
 * manifest as it is read and each document that fails, without stopping the walk. Never throws
 * except a LoupeError for invalid limits.
 */
export async function* harvest(source: string, load: DocumentLoader, limits: Partial<HarvestLimits> = {}): AsyncGenerator<HarvestEvent> {
  yield* new Walk(load, resolveLimits(limits)).visitRef(source, 0, []);
}

/** Runs `harvest` to the end: every manifest read and every document that failed. */
export async function harvestAll(
  source: string,
  load: DocumentLoader,
  limits: Partial<HarvestLimits> = {},
): Promise<{ manifests: HarvestedManifest[]; errors: HarvestError[] }> {
  const manifests: HarvestedManifest[] = [];
  const errors: HarvestError[] = [];
  for await (const event of harvest(source, load, limits)) {
    if (event.type === 'manifest') manifests.push(event.manifest);
    else errors.push(event.error);
  }
  return { manifests, errors };
}

function resolveLimits(limits: Partial<HarvestLimits>): HarvestLimits {
  const maxDepth = limits.maxDepth ?? DEFAULT_HARVEST_LIMITS.maxDepth;
  const maxManifests = limits.maxManifests ?? DEFAULT_HARVEST_LIMITS.maxManifests;
  if (!Number.isInteger(maxDepth) || maxDepth < 0 || !Number.isInteger(maxManifests) || maxManifests < 1) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Invalid harvest limits: maxDepth ${maxDepth} (integer >= 0), maxManifests ${maxManifests} (integer >= 1)`, {
      details: { maxDepth, maxManifests },
    });
  }
  return { maxDepth, maxManifests };
}

class Walk {
  readonly #load: DocumentLoader;
  readonly #limits: HarvestLimits;
  /** Every URL loaded and every id read: the same id twice is a cycle (or a duplicate) and is skipped. */
  readonly #seen = new Set<string>();
  /** Manifests taken from collections (embedded or loaded), against maxManifests. */
  #taken = 0;
  #stopped = false;
  /** Loads started ahead of their turn, by URL. */
  readonly #prefetched = new Map<string, Promise<unknown>>();

  constructor(load: DocumentLoader, limits: HarvestLimits) {
    this.#load = load;
    this.#limits = limits;
  }

  /** `path`: the ids of the collections walked to get here, outermost first. */
  async *visitRef(ref: string, depth: number, path: readonly string[]): AsyncGenerator<HarvestEvent> {
    const document = ref.trim();
    if (this.#seen.has(document)) return;
    this.#seen.add(document);
    const early = this.#prefetched.get(document);
    this.#prefetched.delete(document);
    let json: unknown;
    try {
      json = await (early ?? this.#load(document));
    } catch (err) {
      yield errorEvent(document, err);
      return;
    }
    let kind: DocumentKind;
    try {
      kind = identify(json, document);
    } catch (err) {
      yield errorEvent(document, err);
      return;
    }
    const id = idOf(json as Json);
    if (id !== undefined && id !== document) {
      if (this.#seen.has(id)) return;
      this.#seen.add(id);
    }
    if (kind.kind === 'manifest') {
      yield this.#read(json as Json, kind.version, document, path);
    } else if (depth > this.#limits.maxDepth) {
      yield this.#depthError(document);
    } else {
      yield* this.#walkCollection(json as Json, kind.version, document, depth, path);
    }
  }

  #read(json: Json, version: 2 | 3, document: string, path: readonly string[]): HarvestEvent {
    try {
      const manifest = readManifest(json, version, document);
      return { type: 'manifest', manifest: path.length > 0 ? { ...manifest, collections: path } : manifest, document };
    } catch (err) {
      return errorEvent(document, err);
    }
  }

  async *#walkCollection(collection: Json, version: 2 | 3, document: string, depth: number, parentPath: readonly string[]): AsyncGenerator<HarvestEvent> {
    const collectionId = idOf(collection) ?? document;
    const path = parentPath.at(-1) === collectionId ? parentPath : [...parentPath, collectionId];
    let page = collection;
    let pageVersion = version;
    let pageDocument = document;
    for (;;) {
      const members = membersOf(page, pageVersion);
      for (const [i, member] of members.entries()) {
        if (this.#stopped) return;
        this.#prefetch(members.slice(i, i + HARVEST_PREFETCH));
        yield* this.#visitMember(member, pageVersion, pageDocument, depth, path);
      }
      if (this.#stopped) return;
      // 2.x paging: the collection points at its `first` page, each page at the `next`.
      const link = page === collection ? (page.first ?? page.next) : page.next;
      if (isRecord(link) && hasMembers(link) && link !== page) {
        page = link;
        continue;
      }
      const next = typeof link === 'string' ? link.trim() : isRecord(link) ? idOf(link) : undefined;
      if (next === undefined || this.#seen.has(next)) return;
      this.#seen.add(next);
      let json: unknown;
      let kind: DocumentKind;
      try {
        json = await this.#load(next);
        kind = identify(json, next);
        if (kind.kind !== 'collection') throw notIiif(next, `is a page of ${document} but not a Collection`);
      } catch (err) {
        yield errorEvent(next, err);
        return;
      }
      page = json as Json;
      pageVersion = kind.version;
      pageDocument = next;
    }
  }

  /** Starts the loads of upcoming manifest members, never past maxManifests nor twice. */
  #prefetch(upcoming: readonly Member[]): void {
    for (const member of upcoming) {
      if (member.kind === 'collection' || member.embedded !== undefined || member.ref === undefined) continue;
      if (this.#seen.has(member.ref) || this.#prefetched.has(member.ref)) continue;
      if (this.#taken + this.#prefetched.size >= this.#limits.maxManifests) return;
      const pending = Promise.resolve().then(() => this.#load(member.ref as string));
      // Observed when its turn comes; until then a rejection must not count as unhandled.
      pending.catch(() => undefined);
      this.#prefetched.set(member.ref, pending);
    }
  }

  async *#visitMember(member: Member, version: 2 | 3, parent: string, depth: number, path: readonly string[]): AsyncGenerator<HarvestEvent> {
    const key = member.ref ?? (member.embedded ? idOf(member.embedded) : undefined);
    if (member.kind === 'collection') {
      if (depth + 1 > this.#limits.maxDepth) {
        yield this.#depthError(key ?? parent, parent);
        return;
      }
      // An embedded collection is walked even when its id was seen: it is content, not a link
      // (the Universal Viewer sample gives 25 embedded collections the parent's own id).
      if (member.embedded !== undefined) yield* this.#walkCollection(member.embedded, version, parent, depth + 1, path);
      else if (key !== undefined) yield* this.visitRef(key, depth + 1, path);
      return;
    }
    if (key !== undefined && this.#seen.has(key)) return;
    if (this.#taken >= this.#limits.maxManifests) {
      this.#stopped = true;
      yield errorEvent(
        parent,
        new LoupeError('LOUPE_ERR_IIIF_LIMIT', `${parent}: the harvest reached maxManifests (${this.#limits.maxManifests}); the rest of the collection is not harvested`, {
          details: { document: parent, maxManifests: this.#limits.maxManifests },
        }),
      );
      return;
    }
    this.#taken += 1;
    if (member.embedded !== undefined) {
      if (key !== undefined) this.#seen.add(key);
      yield this.#read(member.embedded, version, parent, path);
    } else if (key !== undefined) {
      yield* this.visitRef(key, depth + 1, path);
    }
  }

  #depthError(collection: string, parent?: string): HarvestEvent {
    const where = parent === undefined ? '' : ` (inside ${parent})`;
    return errorEvent(
      collection,
      new LoupeError('LOUPE_ERR_IIIF_LIMIT', `${collection}${where}: collections nest deeper than maxDepth (${this.#limits.maxDepth}); not followed`, {
        details: { document: collection, maxDepth: this.#limits.maxDepth },
      }),
    );
  }
}

function hasMembers(node: Json): boolean {
  return ['items', 'manifests', 'collections', 'members'].some((key) => Array.isArray(node[key]));
}

/**
 * The members of a collection (or of one of its pages), in document order. For 2.x they are read
 * from the document rather than from @iiif/parser's upgrade, because the upgrade merges
 * `manifests`, `collections` and `members` and drops every member whose @id repeats: the Universal
 * Viewer's sample collection would lose 24 of its 25 sub-collections.
 */
function membersOf(collection: Json, version: 2 | 3): Member[] {
  const members: Member[] = [];
  const add = (node: unknown, declared: Member['kind']): void => {
    if (typeof node === 'string') {
      if (node.trim() !== '') members.push({ kind: declared, ref: node.trim(), embedded: undefined });
      return;
    }
    if (!isRecord(node)) return;
    const type = firstString(node.type) ?? firstString(node['@type']);
    const kind = type === 'Manifest' || type === 'sc:Manifest' ? 'manifest' : type === 'Collection' || type === 'sc:Collection' ? 'collection' : declared;
    const embedded =
      kind === 'manifest'
        ? Array.isArray(version === 3 ? node.items : node.sequences)
        : kind === 'collection' && hasMembers(node);
    members.push({ kind, ref: idOf(node), embedded: embedded ? node : undefined });
  };
  if (version === 3) {
    for (const item of asArray(collection.items)) add(item, 'unknown');
  } else {
    for (const item of asArray(collection.manifests)) add(item, 'manifest');
    for (const item of asArray(collection.collections)) add(item, 'collection');
    for (const item of asArray(collection.members)) add(item, 'unknown');
  }
  return members;
}

function errorEvent(document: string, err: unknown): HarvestEvent {
  let error: LoupeError;
  if (err instanceof LoupeError) error = err;
  else if (isRecord(err) && isErrorCode(err.code)) error = LoupeError.fromJSON(err);
  else error = new LoupeError('LOUPE_ERR_INTERNAL', `${document}: ${reason(err)}`, { cause: err, details: { document } });
  return { type: 'error', error: { document, code: error.code, message: error.message } };
}
