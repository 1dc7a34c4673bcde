import { createHash } from 'node:crypto';
import { IIIF_PRESENTATION_CONTEXT, LOUPE_CONTEXT_PATH, LoupeError, MEDIA_FRAGMENTS, isRecord, xywh, type Annotation, type AnnotationPage } from '@loupe/contracts';
import type { Box, GroundTruthLabel, LabelledImage } from './model.js';

/**
 * W3C Web Annotations (in IIIF Presentation 3 AnnotationPages) to labelled images and back,
 * following the conventions annotations are stored with:
 * - a concept is a SpecificResource body (`source` = concept URI), a label a TextualBody with
 *   purpose tagging/classifying/identifying, OCR text a TextualBody without such a purpose on a
 *   supplementing (or transcribing) annotation;
 * - a box is a FragmentSelector `xywh=x,y,w,h` on the canvas (or a `canvas#xywh=...` target);
 *   a bare canvas target is the whole image;
 * - a model's confidence is `loupe:confidence`, and `loupe:difficult` carries VOC's flag.
 *
 * Review state is not looked at: which revisions count (accepted ground truth, every prediction
 * of a model) is the caller's choice.
 */

const LABEL_PURPOSES = new Set(['tagging', 'classifying', 'identifying']);
const TEXT_MOTIVATIONS = new Set(['supplementing', 'transcribing']);

export interface AnnotationLabel {
  canvasId: string;
  /** From a IIIF target source `{id, type: 'Canvas', partOf: [{id, type: 'Manifest'}]}`. */
  manifest?: string;
  label: GroundTruthLabel;
}

/**
 * What one annotation says about its canvas, or undefined when it says nothing this model holds
 * (a comment, a caption, a target that is not a canvas region in pixels).
 */
export function labelOfAnnotation(a: Annotation): AnnotationLabel | undefined {
  const target = targetOf(a.target);
  if (target === undefined) return undefined;
  const motivations = [a.motivation].flat();
  let concept: string | undefined;
  let label: string | undefined;
  let text: string | undefined;
  for (const body of [a.body].flat() as unknown[]) {
    if (!isRecord(body)) continue;
    const purpose = typeof body['purpose'] === 'string' ? body['purpose'] : undefined;
    if (body['type'] === 'SpecificResource') {
      const source = body['source'];
      const uri = typeof source === 'string' ? source : isRecord(source) && typeof source['id'] === 'string' ? source['id'] : undefined;
      if (uri !== undefined) concept ??= uri;
    } else if (body['type'] === 'TextualBody' && typeof body['value'] === 'string') {
      const value = body['value'];
      if (purpose !== undefined && LABEL_PURPOSES.has(purpose)) label ??= value;
      else if (purpose === 'transcribing' || purpose === 'supplementing' || (purpose === undefined && motivations.some((m) => TEXT_MOTIVATIONS.has(m)))) text ??= value;
      // A tag written by another tool without a purpose.
      else if (purpose === undefined && motivations.some((m) => LABEL_PURPOSES.has(m))) label ??= value;
    }
  }
  if (concept === undefined && label === undefined && text === undefined) return undefined;
  const confidence = a['loupe:confidence'];
  const difficult = (a as Record<string, unknown>)['loupe:difficult'];
  return {
    canvasId: target.canvasId,
    ...(target.manifest !== undefined && { manifest: target.manifest }),
    label: {
      ...(concept !== undefined && { concept }),
      ...(label !== undefined && { label }),
      ...(target.box !== undefined && { box: target.box }),
      ...(text !== undefined && { text }),
      ...(typeof confidence === 'number' && { score: confidence }),
      ...(difficult === true && { difficult: true }),
      annotationId: a.id,
    },
  };
}

interface Target {
  canvasId: string;
  manifest?: string;
  box?: Box;
}

function targetOf(target: unknown): Target | undefined {
  if (Array.isArray(target)) return target.length === 1 ? targetOf(target[0]) : undefined;
  if (typeof target === 'string') {
    // Only a media fragment (xywh=, t=) is cut off: a canvas id may have a fragment of its own (`manifest#p1`).
    const hash = target.search(/#(?:xywh|t)=[^#]*$/);
    if (hash < 0) return target === '' ? undefined : { canvasId: target };
    const box = parseXywh(target.slice(hash + 1));
    return box === null ? undefined : { canvasId: target.slice(0, hash), ...(box !== undefined && { box }) };
  }
  if (!isRecord(target)) return undefined;
  if (target['type'] !== 'SpecificResource') {
    // A canvas object ({id, type: 'Canvas'}) as a target.
    return typeof target['id'] === 'string' ? targetOf(target['id']) : undefined;
  }
  const source = target['source'];
  let canvasId: string | undefined;
  let manifest: string | undefined;
  if (typeof source === 'string') canvasId = source;
  else if (isRecord(source) && typeof source['id'] === 'string') {
    canvasId = source['id'];
    const partOf = [source['partOf']].flat().find((p) => isRecord(p) && typeof p['id'] === 'string') as Record<string, string> | undefined;
    manifest = partOf?.['id'];
  }
  if (canvasId === undefined || canvasId === '') return undefined;
  const selectors = [target['selector']].flat().filter(isRecord);
  if (selectors.length === 0) {
    const inner = targetOf(canvasId);
    return inner && { ...inner, ...(manifest !== undefined && { manifest }) };
  }
  const fragment = selectors.find((s) => s['type'] === 'FragmentSelector' && typeof s['value'] === 'string');
  // Another kind of selector (SVG, a point) is a region this model cannot hold.
  if (fragment === undefined) return undefined;
  const box = parseXywh(fragment['value'] as string);
  if (box === null) return undefined;
  return { canvasId, ...(manifest !== undefined && { manifest }), ...(box !== undefined && { box }) };
}

/**
 * The box of a media fragment: `xywh=1,2,3,4` or `xywh=pixel:1,2,3,4`. Undefined for a fragment
 * without xywh (`t=10` says nothing about space), null for one that cannot be used (percent, or
 * not four numbers).
 */
function parseXywh(fragment: string): Box | undefined | null {
  const param = fragment.split('&').find((p) => p.startsWith('xywh='));
  if (param === undefined) return undefined;
  const value = param.slice(5).replace(/^pixel:/u, '');
  const numbers = value.split(',').map(Number);
  if (numbers.length !== 4 || !numbers.every(Number.isFinite)) return null;
  const [x, y, w, h] = numbers as [number, number, number, number];
  return w < 0 || h < 0 ? null : { x, y, w, h };
}

export interface CanvasInfo {
  manifest?: string;
  url?: string;
  width?: number;
  height?: number;
}

/**
 * Groups annotations by canvas into labelled images, in the order canvases first appear, each
 * with its labels in annotation order; canvases of `canvases` that no annotation mentions follow
 * (in the map's order) with no labels, so a dataset's empty images are kept. Annotations that say
 * nothing readable (see labelOfAnnotation) are skipped.
 */
export function annotationsToImages(annotations: Iterable<Annotation>, canvases?: ReadonlyMap<string, CanvasInfo>): LabelledImage[] {
  const groups = new Map<string, { manifest?: string; labels: GroundTruthLabel[] }>();
  for (const a of annotations) {
    const read = labelOfAnnotation(a);
    if (read === undefined) continue;
    let group = groups.get(read.canvasId);
    if (group === undefined) groups.set(read.canvasId, (group = { labels: [] }));
    group.manifest ??= read.manifest;
    group.labels.push(read.label);
  }
  for (const id of canvases?.keys() ?? []) if (!groups.has(id)) groups.set(id, { labels: [] });
  return [...groups].map(([id, group]): LabelledImage => {
    const info = canvases?.get(id);
    const manifest = info?.manifest ?? group.manifest;
    return {
      id,
      ...(manifest !== undefined && { manifest }),
      ...(info?.url !== undefined && { url: info.url }),
      ...(info?.width !== undefined && { width: info.width }),
      ...(info?.height !== undefined && { height: info.height }),
      labels: group.labels,
    };
  });
}

export interface ImageToAnnotationsOptions {
  /** Prefix of generated ids, e.g. 'https://loupe.example/v1/annotations/'. */
  idBase: string;
  /** Where the labels came from ('import:coco', a dataset name): part of every generated id. */
  source: string;
  /** xsd:dateTime for `created`; left out when not given, so output stays deterministic. */
  created?: string;
}

type BodyItem = Exclude<Annotation['body'], unknown[]>;

/**
 * One annotation per label: text lines are 'supplementing', boxed labels 'tagging', whole-image
 * labels 'classifying'. A label that came from an annotation keeps its id; others get a
 * deterministic one (22 base64url characters of SHA-256 over the source, canvas, motivation,
 * target, body and occurrence), so importing the same file twice yields the same annotations.
 * Boxes become integer media fragments (IIIF wants integers), and labels without concept, label
 * or text have nothing to say and are left out.
 */
export function imageToAnnotations(image: LabelledImage, opts: ImageToAnnotationsOptions): Annotation[] {
  const seen = new Map<string, number>();
  const out: Annotation[] = [];
  for (const l of image.labels) {
    const motivation = l.text !== undefined ? 'supplementing' : l.box !== undefined ? 'tagging' : 'classifying';
    const bodies: BodyItem[] = [];
    if (l.text !== undefined) bodies.push({ type: 'TextualBody', value: l.text, format: 'text/plain' });
    // The language of a label read from a file is not known, so none is claimed.
    if (l.label !== undefined) bodies.push({ type: 'TextualBody', value: l.label, purpose: motivation === 'classifying' ? 'classifying' : 'tagging' });
    if (l.concept !== undefined) bodies.push({ type: 'SpecificResource', source: l.concept, purpose: motivation === 'classifying' ? 'classifying' : 'identifying' });
    if (bodies.length === 0) continue;
    const body = bodies.length === 1 ? bodies[0]! : bodies;
    const target: Annotation['target'] = l.box
      ? { type: 'SpecificResource', source: image.id, selector: { type: 'FragmentSelector', conformsTo: MEDIA_FRAGMENTS, value: xywh(l.box) } }
      : image.id;
    const content = JSON.stringify([motivation, target, body]);
    const occurrence = seen.get(content) ?? 0;
    seen.set(content, occurrence + 1);
    const id = l.annotationId ?? `${opts.idBase}${createHash('sha256').update(JSON.stringify([opts.source, image.id, motivation, target, body, occurrence])).digest('base64url').slice(0, 22)}`;
    out.push({
      id,
      type: 'Annotation',
      motivation,
      body,
      target,
      ...(opts.created !== undefined && { created: opts.created }),
      ...(l.score !== undefined && { 'loupe:confidence': l.score }),
      ...(l.difficult === true && { 'loupe:difficult': true }),
    });
  }
  return out;
}

export interface ToAnnotationPageOptions extends ImageToAnnotationsOptions {
  /** The page's id. */
  id: string;
  /** Loupe's public URL: when given, its JSON-LD context (for the `loupe:` terms) is listed before IIIF's. */
  publicUrl?: string;
}

export function toAnnotationPage(images: readonly LabelledImage[], opts: ToAnnotationPageOptions): AnnotationPage {
  return {
    '@context': opts.publicUrl !== undefined ? [`${opts.publicUrl}${LOUPE_CONTEXT_PATH}`, IIIF_PRESENTATION_CONTEXT] : IIIF_PRESENTATION_CONTEXT,
    id: opts.id,
    type: 'AnnotationPage',
    items: images.flatMap((image) => imageToAnnotations(image, opts)),
  };
}

export interface AnnotationPageProblem {
  /** Index in `items`. */
  index: number;
  id?: string;
  message: string;
}

export interface AnnotationPageImport {
  images: LabelledImage[];
  /** Items that were skipped, with the reason. */
  problems: AnnotationPageProblem[];
}

/**
 * Reads an AnnotationPage (IIIF Presentation 3 or W3C) into labelled images. The page itself must
 * be one (an object with type AnnotationPage and an items array), or LOUPE_ERR_VALIDATION says
 * what is wrong; single items that are not annotations, have no canvas target or say nothing
 * readable are reported in `problems` and skipped, so one odd annotation does not sink an import.
 */
export function fromAnnotationPage(page: unknown, canvases?: ReadonlyMap<string, CanvasInfo>): AnnotationPageImport {
  if (!isRecord(page)) throw new LoupeError('LOUPE_ERR_VALIDATION', 'AnnotationPage: the document is not a JSON object', { details: { path: '(document)' } });
  if (page['type'] !== 'AnnotationPage') {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `AnnotationPage: type is ${JSON.stringify(page['type'])}, not "AnnotationPage"`, { details: { path: 'type' } });
  }
  const items = page['items'];
  if (!Array.isArray(items)) throw new LoupeError('LOUPE_ERR_VALIDATION', 'AnnotationPage: items is not an array', { details: { path: 'items' } });
  const problems: AnnotationPageProblem[] = [];
  const annotations: Annotation[] = [];
  items.forEach((item: unknown, index) => {
    const id = isRecord(item) && typeof item['id'] === 'string' ? item['id'] : undefined;
    const problem = (message: string) => problems.push({ index, ...(id !== undefined && { id }), message: `items[${index}]: ${message}` });
    if (!isRecord(item) || item['type'] !== 'Annotation') return problem('is not an Annotation');
    if (id === undefined) return problem('has no id');
    if (item['body'] === undefined) return problem('has no body');
    if (item['target'] === undefined) return problem('has no target');
    const annotation = item as unknown as Annotation;
    if (targetOf(annotation.target) === undefined) return problem('has no target canvas this can read (a canvas id, or a FragmentSelector xywh in pixels)');
    if (labelOfAnnotation(annotation) === undefined) return problem('has no concept, label or text body');
    annotations.push(annotation);
  });
  return { images: annotationsToImages(annotations, canvases), problems };
}

