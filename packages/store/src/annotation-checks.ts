import { LoupeError, REVIEW_STATES, isRecord, type Annotation, type OcrPage, type ReviewState } from '@loupe/contracts';
import type {
  AnnotationQuery,
  CanvasRecord,
  Concept,
  Correction,
  GroundTruthInput,
  OcrPageFilter,
  ResultSetKey,
  ReviewInput,
  Vocabulary,
} from './store.js';

/*
 * Input checks every AnnotationStore adapter applies the same way, so that one contract suite
 * sees the same error codes from each. They throw LoupeError('LOUPE_ERR_VALIDATION') naming the
 * field; nothing here touches storage. Beside them, what both adapters derive from their input
 * the same way: the indexed body fields, the result-set key, the stage of imported ground truth.
 */

/** The stage of annotations that did not come from a model run (putGroundTruth). */
export const GROUND_TRUTH_STAGE = 'ground-truth';

/** The result-set key as one comparable string: both adapters store this form. */
export function setKeyOf(key: ResultSetKey): string {
  return JSON.stringify([key.manifestId, key.canvasId, key.imageIndex, key.stage, key.modelId]);
}

const invalid = (message: string, details?: Record<string, unknown>): LoupeError =>
  new LoupeError('LOUPE_ERR_VALIDATION', message, details && { details });

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Purposes that make a TextualBody a label (a class name) rather than a description or a transcription. */
export const LABEL_PURPOSES: readonly string[] = ['tagging', 'classifying', 'identifying'];

/**
 * What the concept and label filters match: the first SpecificResource body's source and the
 * first TextualBody value with a label purpose. The SQLite migration 3 backfill computes the same.
 */
export function indexedBody(body: unknown): { concept: string | null; label: string | null } {
  const bodies: unknown[] = Array.isArray(body) ? body : [body];
  let concept: string | null = null;
  let label: string | null = null;
  for (const b of bodies) {
    if (!isRecord(b)) continue;
    if (concept === null && b.type === 'SpecificResource' && typeof b.source === 'string') concept = b.source;
    if (label === null && b.type === 'TextualBody' && typeof b.value === 'string' && LABEL_PURPOSES.includes(b.purpose as string)) label = b.value;
  }
  return { concept, label };
}

function checkState(state: unknown, allowed: readonly string[] = REVIEW_STATES): ReviewState {
  if (typeof state !== 'string' || !allowed.includes(state)) {
    throw invalid(`Unknown review state ${JSON.stringify(state)}`, { allowed });
  }
  return state as ReviewState;
}

function checkReviewer(reviewer: unknown): string {
  if (!isText(reviewer)) throw invalid('A review needs a reviewer (a non-empty string)');
  return reviewer;
}

function checkBody(body: unknown): void {
  const bodies = Array.isArray(body) ? body : [body];
  if (bodies.length === 0 || !bodies.every((b) => isRecord(b) && isText(b.type))) {
    throw invalid('correction.body must be a body with a type, or a non-empty list of them');
  }
}

function checkTarget(target: unknown): void {
  if (isText(target)) return;
  const source = isRecord(target) ? target.source : undefined;
  if (!isRecord(target) || target.type !== 'SpecificResource' || !(isText(source) || (isRecord(source) && isText(source.id)))) {
    throw invalid('correction.target must be a canvas id or a SpecificResource with a source');
  }
}

function checkMotivation(motivation: unknown): void {
  const ok = isText(motivation) || (Array.isArray(motivation) && motivation.length > 0 && motivation.every(isText));
  if (!ok) throw invalid('correction.motivation must be a motivation or a non-empty list of them');
}

const CORRECTION_FIELDS = ['body', 'target', 'motivation'] as const;

/** A review as the port accepts it: known state, a reviewer, and a correction exactly when the state is 'corrected'. */
export function checkReview(input: unknown, allowed: readonly string[] = REVIEW_STATES): ReviewInput {
  if (!isRecord(input)) throw invalid('A review must be an object with state and reviewer');
  const state = checkState(input.state, allowed);
  checkReviewer(input.reviewer);
  if (input.note !== undefined && typeof input.note !== 'string') throw invalid('note must be a string');
  const correction = input.correction;
  if (state !== 'corrected') {
    if (correction !== undefined) throw invalid(`A correction needs the state 'corrected', not ${JSON.stringify(state)}`);
    return input as unknown as ReviewInput;
  }
  if (!isRecord(correction)) throw invalid("The state 'corrected' needs a correction (body, target or motivation)");
  const unknown = Object.keys(correction).filter((k) => !(CORRECTION_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) throw invalid(`A correction has only body, target and motivation, not ${unknown.join(', ')}`, { fields: unknown });
  if (CORRECTION_FIELDS.every((k) => correction[k] === undefined)) {
    throw invalid("The state 'corrected' needs a correction with at least one of body, target, motivation");
  }
  if (correction.body !== undefined) checkBody(correction.body);
  if (correction.target !== undefined) checkTarget(correction.target);
  if (correction.motivation !== undefined) checkMotivation(correction.motivation);
  return input as unknown as ReviewInput;
}

/** A bulk review: one of the states that need no correction. */
export function checkBulkReview(input: unknown): ReviewInput {
  if (isRecord(input) && input.state === 'corrected') {
    throw invalid("A bulk review sets 'accepted', 'rejected' or 'unreviewed': corrections are made one annotation at a time");
  }
  return checkReview(input, ['accepted', 'rejected', 'unreviewed']);
}

/** The annotation with the correction's fields in place of its own. */
export function corrected(annotation: Annotation, correction: Correction | undefined): Annotation {
  if (!correction) return annotation;
  const next: Record<string, unknown> = { ...annotation };
  for (const field of CORRECTION_FIELDS) if (correction[field] !== undefined) next[field] = correction[field];
  return next as Annotation;
}

/** The stored annotation carries no review fields: they are the store's, merged on read. */
export function withoutReview(annotation: Annotation): Annotation {
  const {
    'loupe:reviewState': _state,
    'loupe:revision': _revision,
    modified: _modified,
    ...rest
  } = annotation as Annotation & { 'loupe:revision'?: number };
  return rest as Annotation;
}

export function checkCount(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${name} must be a non-negative integer`, { [name]: value });
  }
  return value;
}

/** Checks a query's filters (not limit/offset: each caller decides whether paging applies). */
export function checkQuery(q: AnnotationQuery): void {
  if (!isRecord(q)) throw invalid('A query must be an object');
  for (const field of ['manifestId', 'motivation', 'modelId', 'concept'] as const) {
    if (q[field] !== undefined && !isText(q[field])) throw invalid(`${field} must be a non-empty string`, { [field]: q[field] });
  }
  const canvases: unknown = q.canvasId;
  if (canvases !== undefined && !isText(canvases) && !(Array.isArray(canvases) && canvases.every(isText))) {
    throw invalid('canvasId must be a non-empty string or a list of them', { canvasId: canvases });
  }
  if (q.reviewState !== undefined) {
    const states: readonly unknown[] = Array.isArray(q.reviewState) ? q.reviewState : [q.reviewState];
    for (const state of states) checkState(state);
  }
  for (const field of ['minConfidence', 'maxConfidence'] as const) {
    const value = q[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw invalid(`${field} must be a number`, { [field]: value });
    }
  }
  if (q.dataset !== undefined) checkDatasetName(q.dataset);
  if (q.ids !== undefined && !(Array.isArray(q.ids) && q.ids.every((id) => typeof id === 'string'))) {
    throw invalid('ids must be a list of annotation ids');
  }
  if (q.original !== undefined && typeof q.original !== 'boolean') throw invalid('original must be a boolean');
}

export function checkKey(key: ResultSetKey, modelVersion: string): void {
  const bad: string[] = (['manifestId', 'canvasId', 'stage', 'modelId'] as const).filter((f) => !isText(key[f]));
  if (!Number.isSafeInteger(key.imageIndex) || key.imageIndex < 0) bad.push('imageIndex');
  if (!isText(modelVersion)) bad.push('modelVersion');
  if (bad.length > 0) throw invalid(`Invalid result set key: ${bad.join(', ')}`, { fields: bad });
}

/** Ids are present and distinct: two annotations with one id would silently overwrite each other. */
export function checkAnnotations(annotations: readonly Annotation[], what = 'result set'): Set<string> {
  if (!Array.isArray(annotations)) throw invalid(`A ${what} must be a list of annotations`);
  const ids = new Set<string>();
  for (const annotation of annotations) {
    if (!isRecord(annotation) || !isText(annotation.id)) throw invalid(`Every annotation of a ${what} needs an id`);
    if (ids.has(annotation.id)) throw invalid(`The ${what} repeats an annotation id`, { id: annotation.id });
    const state: unknown = annotation['loupe:reviewState'];
    if (state !== undefined && !(REVIEW_STATES as readonly unknown[]).includes(state)) {
      throw invalid(`Unknown review state ${JSON.stringify(state)}`, { id: annotation.id });
    }
    ids.add(annotation.id);
  }
  return ids;
}

export function checkGroundTruth(items: readonly GroundTruthInput[], opts: { readonly source: string; readonly reviewer: string }): void {
  if (!isRecord(opts) || !isText(opts.source)) throw invalid('Ground truth needs a source (a non-empty string, e.g. import:coco)');
  checkReviewer(opts.reviewer);
  if (!Array.isArray(items)) throw invalid('Ground truth must be a list of items');
  items.forEach((item, index) => {
    if (!isRecord(item) || !isText(item.manifestId) || !isText(item.canvasId)) {
      throw invalid(`Ground truth item ${index} needs manifestId and canvasId`, { index });
    }
  });
  checkAnnotations(
    items.map((item) => item.annotation),
    'ground-truth import',
  );
}

export function checkCanvas(canvas: CanvasRecord): void {
  const bad: string[] = [];
  if (!isRecord(canvas)) throw invalid('A canvas record must be an object');
  if (!isText(canvas.canvasId)) bad.push('canvasId');
  if (!isText(canvas.manifestId)) bad.push('manifestId');
  if (canvas.label !== undefined && typeof canvas.label !== 'string') bad.push('label');
  if (canvas.index !== undefined && !(Number.isSafeInteger(canvas.index) && canvas.index >= 0)) bad.push('index');
  for (const f of ['width', 'height'] as const) if (!Number.isSafeInteger(canvas[f]) || canvas[f] < 0) bad.push(f);
  const image = canvas.image as unknown;
  if (!isRecord(image) || typeof image.id !== 'string') bad.push('image.id');
  else {
    if (image.service !== undefined && typeof image.service !== 'string') bad.push('image.service');
    if (image.serviceVersion !== undefined && typeof image.serviceVersion !== 'number') bad.push('image.serviceVersion');
  }
  if (bad.length > 0) throw invalid(`Invalid canvas record: ${bad.join(', ')}`, { fields: bad, canvasId: canvas.canvasId });
}

/** Enough of an OCR page that ALTO and hOCR can be written from it later; the engine's detail is its own. */
export function checkOcrPage(page: OcrPage | undefined): void {
  if (page === undefined) return;
  if (!isRecord(page)) throw invalid('An OCR page must be an object');
  const bad: string[] = (['width', 'height'] as const).filter((f) => !Number.isSafeInteger(page[f]) || page[f] < 1);
  if (!Array.isArray(page.blocks)) bad.push('blocks');
  if (bad.length > 0) throw invalid(`Invalid OCR page: ${bad.join(', ')}`, { fields: bad });
}

export function checkOcrPageFilter(filter: OcrPageFilter): void {
  if (!isRecord(filter)) throw invalid('An OCR page filter must be an object');
  for (const f of ['manifestId', 'canvasId'] as const) if (filter[f] !== undefined) checkText(f, filter[f]);
}

export function checkVocabulary(vocabulary: Vocabulary): void {
  if (!isRecord(vocabulary) || !isText(vocabulary.id)) throw invalid('A vocabulary needs an id (a non-empty string)');
  if (vocabulary.label !== undefined && typeof vocabulary.label !== 'string') throw invalid('A vocabulary label must be a string');
  if (!Array.isArray(vocabulary.concepts)) throw invalid('A vocabulary needs a list of concepts', { id: vocabulary.id });
  const seen = new Set<string>();
  vocabulary.concepts.forEach((concept: Concept, index) => {
    if (!isRecord(concept) || !isText(concept.uri)) throw invalid(`Concept ${index} of the vocabulary has no uri`, { index });
    if (seen.has(concept.uri)) throw invalid(`The vocabulary lists the concept ${concept.uri} twice`, { uri: concept.uri });
    seen.add(concept.uri);
    if (!isRecord(concept.prefLabel) || !Object.values(concept.prefLabel).every((l) => typeof l === 'string')) {
      throw invalid(`The concept ${concept.uri} needs prefLabel: an object of strings by language`, { uri: concept.uri });
    }
    for (const field of ['broader', 'narrower', 'exactMatch'] as const) {
      const list = concept[field];
      if (list !== undefined && !(Array.isArray(list) && list.every(isText))) {
        throw invalid(`${field} of the concept ${concept.uri} must be a list of URIs`, { uri: concept.uri });
      }
    }
  });
}

const DATASET_NAME = /^[A-Za-z0-9._-]{1,100}$/;

export function checkDatasetName(name: unknown): string {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    throw invalid(`The dataset name ${JSON.stringify(name)} must be 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' and '-'`, {
      name,
      rule: DATASET_NAME.source,
    });
  }
  return name;
}

export function checkDescription(description: unknown): void {
  if (description !== undefined && typeof description !== 'string') throw invalid('A dataset description must be a string');
}

export function checkText(what: string, value: unknown): string {
  if (!isText(value)) throw invalid(`${what} must be a non-empty string`, { [what]: value });
  return value;
}

export function checkUris(what: string, values: unknown): readonly string[] {
  if (!Array.isArray(values) || !values.every(isText)) throw invalid(`${what} must be a list of non-empty strings`);
  return values;
}
