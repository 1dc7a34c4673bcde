import { isRecord, type ImageRef, type ImageServiceRef, type Rect } from '@loupe/contracts';
import { asArray, firstString, readTraits, serviceBase, versionFromUrl, type ImageServiceTraits } from './image-service.js';
import type { HarvestedCanvas } from './types.js';

/**
 * Reading one Presentation 3 canvas: its size, and every image painted on it. A 2.x canvas is read
 * here too, once presentation-2.ts has given it the 3.0 shape.
 */

export type Json = Record<string, unknown>;

const IMAGE_URL = /\.(?:jpe?g|png|gif|webp|tiff?|jp2)(?:[?#]|$)/i;

/** A service as the document first wrote it (2.x: before anything was converted). */
export interface RawService {
  readonly traits: ImageServiceTraits;
  /** The service was given as a bare URL string. */
  readonly wasString: boolean;
}

export interface ManifestContext {
  /** 2.x services by base URI, as first written in the document; empty for 3.0. */
  readonly rawServices: ReadonlyMap<string, RawService>;
  /** Top-level `services`: full definitions that bodies may reference by id only. */
  readonly sharedServices: ReadonlyMap<string, Json>;
}

/** `languages`: those of the canvas's text, put on it when there are any. */
export function readCanvas(canvas: Json, index: number, manifestId: string, context: ManifestContext, languages: readonly string[] = []): HarvestedCanvas {
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
  const read: { -readonly [K in keyof HarvestedCanvas]: HarvestedCanvas[K] } = {
    id,
    index,
    label: labelOf(canvas.label) ?? lastSegment(id),
    width: width ?? first?.width ?? 0,
    height: height ?? first?.height ?? 0,
    images,
  };
  // Assigned, not spread: harvests of 100,000 canvases feel V8's slow path for spreads.
  if (languages.length > 0) read.languages = languages;
  return read;
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

export function idOf(node: Json): string | undefined {
  const id = (firstString(node.id) ?? firstString(node['@id']))?.trim();
  return id === '' ? undefined : id;
}

/** Past 2^31 a size is not a canvas's or an image's: read as no size at all. */
const MAX_SIDE = 2 ** 31 - 1;

export function positiveInteger(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : Array.isArray(value) && typeof value[0] === 'number' ? value[0] : NaN;
  return Number.isFinite(n) && n >= 0.5 && n <= MAX_SIDE ? Math.round(n) : undefined;
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

export function lastSegment(id: string): string {
  const path = id.trim().replace(/[?#].*$/, '').replace(/\/+$/, '');
  return path.slice(path.lastIndexOf('/') + 1) || id.trim();
}
