import { LoupeError, MEDIA_FRAGMENTS, canvasOfTarget, xywh, type Annotation, type AnnotationFilter, type ReviewBody } from '@loupe/contracts';
import type { AnnotationQuery, AnnotationStore, CanvasRecord, Correction, Dataset } from '@loupe/store';

type Body = Exclude<Annotation['body'], unknown[]>;

const PAGE = 5_000;

/** What a query matches, page by page: the store caps nothing, but one huge read would hold it all at once. */
export async function* pagesOf(store: AnnotationStore, q: AnnotationQuery): AsyncGenerator<Annotation[]> {
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.query({ ...q, limit: PAGE, offset });
    if (page.length > 0) yield page;
    if (page.length < PAGE) return;
  }
}

/** Every annotation a query matches. */
export async function queryAll(store: AnnotationStore, q: AnnotationQuery): Promise<Annotation[]> {
  const all: Annotation[] = [];
  for await (const page of pagesOf(store, q)) all.push(...page);
  return all;
}

export async function requireDataset(store: AnnotationStore, name: string): Promise<Dataset> {
  const dataset = await store.getDataset(name);
  if (!dataset) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No dataset named ${JSON.stringify(name)}`, { details: { dataset: name } });
  return dataset;
}

/** The HTTP filter names (as in GET /v1/annotations) mapped onto the store's query. */
export function queryOf(filter: AnnotationFilter): AnnotationQuery {
  if (filter.minConfidence !== undefined && filter.maxConfidence !== undefined && filter.minConfidence > filter.maxConfidence) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `minConfidence (${filter.minConfidence}) is above maxConfidence (${filter.maxConfidence})`);
  }
  return {
    ...(filter.canvas !== undefined && { canvasId: filter.canvas }),
    ...(filter.manifest !== undefined && { manifestId: filter.manifest }),
    ...(filter.motivation !== undefined && { motivation: filter.motivation }),
    ...(filter.model !== undefined && { modelId: filter.model }),
    ...(filter.reviewState !== undefined && { reviewState: filter.reviewState }),
    ...(filter.concept !== undefined && { concept: filter.concept }),
    ...(filter.minConfidence !== undefined && { minConfidence: filter.minConfidence }),
    ...(filter.maxConfidence !== undefined && { maxConfidence: filter.maxConfidence }),
    ...(filter.dataset !== undefined && { dataset: filter.dataset }),
  };
}

const LABEL_PURPOSES = new Set(['tagging', 'classifying', 'identifying']);

const bodiesOf = (a: Annotation): Body[] => (Array.isArray(a.body) ? [...a.body] : [a.body]);
const isLabel = (b: Body): boolean => b.type === 'TextualBody' && b.purpose !== undefined && LABEL_PURPOSES.has(b.purpose);
const isText = (b: Body): boolean => b.type === 'TextualBody' && (b.purpose === undefined || b.purpose === 'transcribing' || b.purpose === 'supplementing');
const isConcept = (b: Body): boolean => b.type === 'SpecificResource' && typeof b.source === 'string';

/**
 * Turns a curator's correction (label, concept, box, text) into the store's Correction: the
 * current revision's bodies with the corrected ones replaced (or added), and the target moved to
 * the corrected box. Bodies the curator did not touch are kept as they are.
 */
export function correctionOf(current: Annotation, fix: NonNullable<ReviewBody['correction']>): Correction {
  if (fix.label === undefined && fix.concept === undefined && fix.box === undefined && fix.text === undefined) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'A correction needs at least one of label, concept, box, text');
  }
  let bodies = bodiesOf(current);
  const motivation = Array.isArray(current.motivation) ? current.motivation[0] : current.motivation;
  const labelPurpose = motivation === 'classifying' ? 'classifying' : 'tagging';
  const replace = (match: (b: Body) => boolean, make: (old: Body | undefined) => Body): void => {
    const at = bodies.findIndex(match);
    if (at >= 0) bodies[at] = make(bodies[at]);
    else bodies = [...bodies, make(undefined)];
  };
  if (fix.label !== undefined) {
    const value = fix.label;
    replace(isLabel, (old) => ({ ...(old ?? { type: 'TextualBody', purpose: labelPurpose }), value }));
  }
  if (fix.concept !== undefined) {
    const source = fix.concept;
    replace(isConcept, (old) => ({ ...(old ?? { type: 'SpecificResource', purpose: labelPurpose === 'classifying' ? 'classifying' : 'identifying' }), source }));
  }
  if (fix.text !== undefined) {
    const value = fix.text;
    replace(isText, (old) => ({ ...(old ?? { type: 'TextualBody', format: 'text/plain' }), value }));
  }
  const correction: { body: Annotation['body']; target?: Annotation['target'] } = { body: bodies.length === 1 ? bodies[0]! : bodies };
  if (fix.box !== undefined) {
    correction.target = {
      type: 'SpecificResource',
      source: canvasOfTarget(current.target),
      selector: { type: 'FragmentSelector', conformsTo: MEDIA_FRAGMENTS, value: xywh(fix.box) },
    };
  }
  return correction;
}

/**
 * Image API requests for a canvas's image: `fit` pixels on the longer side at most. Without a
 * service, the image's own URL. (A level 0 server may not scale: the review page falls back to
 * the plain image URL when the request fails.)
 */
export function imageRequest(canvas: CanvasRecord, fit: number): string {
  const { service, serviceVersion } = canvas.image;
  if (!service) return canvas.image.id;
  const base = service.replace(/\/+$/, '');
  if (serviceVersion === 1) return `${base}/full/!${fit},${fit}/0/native.jpg`;
  return `${base}/full/!${fit},${fit}/0/default.jpg`;
}
