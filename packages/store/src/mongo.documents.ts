import type { Annotation, ReviewState } from '@loupe/contracts';
import type { Document, Filter, IndexDescription, ObjectId, Sort } from 'mongodb';
import { checkQuery, corrected, indexedBody, withoutReview } from './annotation-checks.js';
import type { AnnotationQuery, CanvasRecord, Concept, ReviewInput } from './store.js';

/*
 * The documents the MongoDB adapter stores and the pure functions between them and the port's
 * types: filters, sort, projections of an annotation into indexed fields. No I/O here, so all of
 * it is tested without a server.
 *
 * User content (bodies, concepts, canvas images) is stored as JSON strings, not as subdocuments:
 * JSON-LD keys may contain '.' or start with '$' ('@context' is fine, but a property IRI such as
 * 'http://schema.org/name' or a compacted 'dc:title.en' is not), which MongoDB either refuses
 * (before 5.0) or stores without being able to query or update them; language maps may use ''
 * as a key. A string round-trips byte for byte on every server version. Everything a filter or
 * sort needs is copied into plain top-level fields.
 */

/** One annotation: its current revision, the fields filters use, and where its result set put it. */
export interface AnnotationDoc {
  /** The annotation id (its full URL). */
  _id: string;
  manifestId: string;
  canvasId: string;
  imageIndex: number;
  stage: string;
  modelId: string;
  modelVersion: string;
  /** As the annotation gives it: equality on an array matches any element, which is what the motivation filter wants. */
  motivation: string | string[];
  confidence: number | null;
  concept: string | null;
  label: string | null;
  reviewState: ReviewState;
  reviewer: string | null;
  reviewedAt: string | null;
  created: string;
  generated: string | null;
  /** The current revision's annotation without review fields, `created` and `generated` (kept in their own fields). */
  bodyJson: string;
  /** The result set it belongs to; null when detached (reviewed, no longer produced) or ground truth. */
  setKey: string | null;
  /** The order the model gave within the set. */
  position: number;
  revision: number;
  /**
   * Set once when the document is inserted. Revisions carry it, so that the revisions of an
   * annotation that was removed and later produced again (same deterministic id) are never
   * mistaken for the new one's: a crash between deleting an annotation and its revisions leaves
   * only harmless leftovers.
   */
  inc: ObjectId;
  /** Names of the datasets it was added to (kept here rather than in a collection: membership ends with the annotation). */
  datasets?: string[];
}

/** One revision, written at review time; revision 0 is written at the first review (until then the annotation is it). */
export interface RevisionDoc {
  annotationId: string;
  inc: ObjectId;
  revision: number;
  state: ReviewState;
  reviewer: string | null;
  at: string;
  note: string | null;
  bodyJson: string;
  generated: string | null;
  /** Whether this revision changes the body (a correction): only then does applying it replace the current body. */
  corrected: boolean;
}

export interface CanvasDoc {
  _id: string;
  manifestId: string;
  label: string | null;
  /** Absent in documents written before it was kept. */
  index?: number | null;
  width: number;
  height: number;
  imageJson: string;
}

/**
 * A vocabulary's concepts are written under a new `generation` and the vocabulary document is
 * switched to it afterwards, so readers never see a half-replaced vocabulary.
 */
export interface VocabularyDoc {
  _id: string;
  label: string | null;
  generation: ObjectId;
  concepts: number;
}

export interface ConceptDoc {
  vocabularyId: string;
  generation: ObjectId;
  position: number;
  uri: string;
  exactMatch: string[];
  json: string;
}

export interface DatasetDoc {
  _id: string;
  description: string | null;
  created: string;
}

export interface SourceDoc {
  name: string;
  source: string;
}

/** A text stage's page, one per result set (its set key is the id); replaced with the set. */
export interface OcrPageDoc {
  _id: string;
  manifestId: string;
  canvasId: string;
  imageIndex: number;
  stage: string;
  modelId: string;
  modelVersion: string;
  generated: string;
  /** The OcrPage as JSON, as bodies are: a newspaper page of words stays far below the 16 MiB document limit. */
  pageJson: string;
}

export const COLLECTIONS = ['annotations', 'revisions', 'canvases', 'vocabularies', 'concepts', 'datasets', 'sources', 'ocrPages'] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

/**
 * Indexes per collection, created (idempotently) each time a store opens. The first annotation
 * index serves the port's order, so paging walks an index instead of sorting.
 */
export const INDEXES: Readonly<Record<CollectionName, readonly IndexDescription[]>> = {
  annotations: [
    { key: { canvasId: 1, imageIndex: 1, stage: 1, modelId: 1, position: 1, _id: 1 }, name: 'order' },
    { key: { manifestId: 1 }, name: 'manifest' },
    // A layer's canvases from the index alone (the embedded store's schema step 9).
    { key: { manifestId: 1, modelId: 1, reviewState: 1, canvasId: 1 }, name: 'layer' },
    { key: { modelId: 1, reviewState: 1 }, name: 'model_state' },
    { key: { reviewState: 1 }, name: 'state' },
    { key: { concept: 1 }, name: 'concept' },
    { key: { label: 1 }, name: 'label' },
    { key: { confidence: 1 }, name: 'confidence' },
    { key: { setKey: 1 }, name: 'set' },
    { key: { datasets: 1 }, name: 'datasets' },
  ],
  revisions: [{ key: { annotationId: 1, inc: 1, revision: 1 }, name: 'revision', unique: true }],
  canvases: [],
  vocabularies: [],
  concepts: [
    { key: { vocabularyId: 1, generation: 1, uri: 1 }, name: 'concept', unique: true },
    { key: { vocabularyId: 1, generation: 1, position: 1 }, name: 'order' },
    { key: { uri: 1 }, name: 'uri' },
    { key: { exactMatch: 1 }, name: 'exact_match' },
  ],
  datasets: [],
  sources: [{ key: { name: 1, source: 1 }, name: 'source', unique: true }],
  ocrPages: [
    { key: { canvasId: 1, imageIndex: 1, stage: 1, modelId: 1 }, name: 'order' },
    { key: { manifestId: 1 }, name: 'manifest' },
    // A layer's canvases from the index alone (the embedded store's schema step 9).
    { key: { manifestId: 1, modelId: 1, reviewState: 1, canvasId: 1 }, name: 'layer' },
  ],
};

/** The port's order: canvas, image, stage, model, then the order the model gave (id breaks ties). */
export const ANNOTATION_SORT: Sort = { canvasId: 1, imageIndex: 1, stage: 1, modelId: 1, position: 1, _id: 1 };

/**
 * The filter document for a query's filters (paging and `original` are the caller's). `dataset`
 * needs the dataset's sources, which the caller reads first (an unknown dataset is its
 * LOUPE_ERR_NOT_FOUND); members are found through the annotations' own `datasets` field.
 * Invalid filters are LOUPE_ERR_VALIDATION, checked as every adapter checks them.
 */
export function mongoFilterOf(q: AnnotationQuery, datasetSources?: readonly string[]): Filter<AnnotationDoc> {
  checkQuery(q);
  const filter: Document = {};
  const either: Document[] = [];
  if (q.canvasId !== undefined) filter.canvasId = typeof q.canvasId === 'string' ? q.canvasId : { $in: [...q.canvasId] };
  if (q.manifestId !== undefined) filter.manifestId = q.manifestId;
  if (q.modelId !== undefined) filter.modelId = q.modelId;
  if (q.motivation !== undefined) filter.motivation = q.motivation;
  if (q.reviewState !== undefined) filter.reviewState = typeof q.reviewState === 'string' ? q.reviewState : { $in: [...q.reviewState] };
  if (q.concept !== undefined) either.push({ $or: [{ concept: q.concept }, { label: q.concept }] });
  // Comparison operators match only numbers here: a null confidence never falls in a range.
  if (q.minConfidence !== undefined || q.maxConfidence !== undefined) {
    filter.confidence = {
      ...(q.minConfidence !== undefined && { $gte: q.minConfidence }),
      ...(q.maxConfidence !== undefined && { $lte: q.maxConfidence }),
    };
  }
  if (q.ids !== undefined) filter._id = { $in: [...q.ids] };
  if (q.dataset !== undefined) {
    if (datasetSources === undefined) throw new Error(`mongoFilterOf: the sources of the dataset ${q.dataset} were not resolved`);
    // Annotations only know their manifest: a collection source matches once its manifests are sources too.
    either.push({ $or: [{ datasets: q.dataset }, ...(datasetSources.length > 0 ? [{ manifestId: { $in: [...datasetSources] } }] : [])] });
  }
  if (either.length === 1) Object.assign(filter, either[0]);
  else if (either.length > 1) filter.$and = either;
  return filter as Filter<AnnotationDoc>;
}

/** What is stored of an annotation's content: the body without review fields and the fields derived from it. */
export function contentOf(annotation: Annotation): Pick<AnnotationDoc, 'motivation' | 'confidence' | 'concept' | 'label' | 'bodyJson'> {
  const {
    created: _created,
    generated: _generated,
    ...rest
  } = withoutReview(annotation) as Annotation & { created?: string; generated?: string };
  return {
    motivation: annotation.motivation,
    confidence: typeof annotation['loupe:confidence'] === 'number' ? annotation['loupe:confidence'] : null,
    ...indexedBody(annotation.body),
    bodyJson: JSON.stringify(rest),
  };
}

type Stored = Pick<AnnotationDoc, 'reviewState' | 'reviewedAt' | 'created' | 'generated' | 'bodyJson' | 'revision'>;

/** The annotation as the port returns it: the stored body with its review fields merged in. */
export function toAnnotation(doc: Stored): Annotation {
  const annotation = JSON.parse(doc.bodyJson) as Annotation & { modified?: string; 'loupe:revision'?: number };
  annotation.created = doc.created;
  if (doc.generated !== null) annotation.generated = doc.generated;
  annotation['loupe:reviewState'] = doc.reviewState;
  annotation['loupe:revision'] = doc.revision;
  if (doc.reviewedAt !== null) annotation.modified = doc.reviewedAt;
  return annotation;
}

/**
 * Revision 0 as the annotation document holds it before any review: the producer's state and
 * reviewer (unreviewed and none for a model, accepted by the importer for ground truth).
 */
export function revisionZeroOf(doc: AnnotationDoc): RevisionDoc {
  return {
    annotationId: doc._id,
    inc: doc.inc,
    revision: 0,
    state: doc.reviewState,
    reviewer: doc.reviewer,
    at: doc.reviewedAt ?? doc.generated ?? doc.created,
    note: null,
    bodyJson: doc.bodyJson,
    generated: doc.generated,
    corrected: false,
  };
}

/** The revision a review writes on top of the annotation's current one. */
export function nextRevision(doc: AnnotationDoc, input: ReviewInput, at: string): RevisionDoc {
  const body = input.correction ? contentOf(corrected(JSON.parse(doc.bodyJson) as Annotation, input.correction)).bodyJson : doc.bodyJson;
  return {
    annotationId: doc._id,
    inc: doc.inc,
    revision: doc.revision + 1,
    state: input.state,
    reviewer: input.reviewer,
    at,
    note: input.note ?? null,
    bodyJson: body,
    generated: doc.generated,
    corrected: input.correction !== undefined,
  };
}

/** The annotation as it was at `revision` (review fields of that revision, `created` of the annotation). */
export function annotationAtRevision(doc: AnnotationDoc, revision: RevisionDoc): Annotation {
  return toAnnotation({
    reviewState: revision.state,
    reviewedAt: revision.reviewer === null ? null : revision.at,
    created: doc.created,
    generated: revision.generated,
    bodyJson: revision.bodyJson,
    revision: revision.revision,
  });
}

/**
 * The update that makes a revision current. Applied with the filter {_id, inc, revision:
 * revision - 1}, by the reviewer who wrote it or by whoever finds it pending (see review()).
 * Only a correction replaces the body and the fields derived from it.
 */
export function revisionUpdate(revision: RevisionDoc): Partial<AnnotationDoc> {
  const update: Partial<AnnotationDoc> = {
    reviewState: revision.state,
    reviewer: revision.reviewer,
    reviewedAt: revision.at,
    revision: revision.revision,
  };
  if (revision.corrected) {
    const { motivation, concept, label } = contentOf(JSON.parse(revision.bodyJson) as Annotation);
    Object.assign(update, { motivation, concept, label, bodyJson: revision.bodyJson });
  }
  return update;
}

export function toCanvasDoc(canvas: CanvasRecord): CanvasDoc {
  return {
    _id: canvas.canvasId,
    manifestId: canvas.manifestId,
    label: canvas.label ?? null,
    index: canvas.index ?? null,
    width: canvas.width,
    height: canvas.height,
    imageJson: JSON.stringify(canvas.image),
  };
}

export function toCanvasRecord(doc: CanvasDoc): CanvasRecord {
  return {
    canvasId: doc._id,
    manifestId: doc.manifestId,
    ...(doc.label !== null && { label: doc.label }),
    ...(typeof doc.index === 'number' && { index: doc.index }),
    width: doc.width,
    height: doc.height,
    image: JSON.parse(doc.imageJson) as CanvasRecord['image'],
  };
}

export function toConceptDocs(vocabularyId: string, generation: ObjectId, concepts: readonly Concept[]): ConceptDoc[] {
  return concepts.map((concept, position) => ({
    vocabularyId,
    generation,
    position,
    uri: concept.uri,
    exactMatch: [...new Set(concept.exactMatch ?? [])],
    json: JSON.stringify(concept),
  }));
}
