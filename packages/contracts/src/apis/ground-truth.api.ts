import { Type, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from '../errors.js';
import { Annotation, AnnotationPage, AnnotationsQuery } from '../annotation.js';
import {
  AnnotationKeyParams,
  BulkReviewBody,
  CanvasesOutput,
  CanvasesQuery,
  DatasetCreateBody,
  DatasetExportOutput,
  DatasetExportQuery,
  DatasetImportBody,
  DatasetImportOutput,
  DatasetParams,
  DatasetSplitsOutput,
  DatasetSplitsQuery,
  DatasetView,
  EvaluationQuery,
  EvaluationReport,
  HistoryOutput,
  ReviewBody,
  VocabularyImportBody,
  VocabularyView,
} from '../ground-truth.js';
import { ReviewQueueOutput, ReviewQueueQuery } from '../classify.js';
import { StageInput } from '../pipeline.js';
import type { Access } from '../service.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/** What the store stage did with the result sets of one canvas image. */
export const StoredResultsOutput = Type.Object({ sets: Type.Integer(), inserted: Type.Integer(), kept: Type.Integer(), removed: Type.Integer() });

/** Which canvases' OCR pages to list: one manifest's, or one canvas's. */
export const OcrPagesQuery = Type.Object(
  {
    manifest: Type.Optional(Type.String({ minLength: 1, description: 'Manifest URI' })),
    canvas: Type.Optional(Type.String({ minLength: 1, description: 'Canvas URI' })),
  },
  { additionalProperties: false },
);

export const OcrPagesOutput = Type.Object({
  items: Type.Array(
    Type.Object({
      canvas: Type.String(),
      manifest: Type.String(),
      imageIndex: Type.Integer(),
      stage: Type.String(),
      model: Type.Object({ id: Type.String(), version: Type.String() }),
      /** When the model read the page (the newest reading is what ALTO and hOCR serve without `model`). */
      generated: Type.String(),
      alto: Type.String({ description: "The canvas's ALTO XML as this model read it" }),
      hocr: Type.String({ description: "The canvas's hOCR as this model read it" }),
    }),
  ),
});

/** One canvas's text as a document: the newest model's reading, or the one `model` names. */
export const OcrDocumentQuery = Type.Object(
  {
    canvas: Type.String({ minLength: 1, description: 'Canvas URI' }),
    model: Type.Optional(Type.String({ minLength: 1, description: 'The model (engine) id; default: the one that read the canvas last' })),
  },
  { additionalProperties: false },
);

/** A model as a generator id names it: `/v1/models/<id>/<version>`. */
export const ModelCardParams = Type.Object(
  { id: Type.String({ minLength: 1, description: 'Model id' }), version: Type.String({ minLength: 1, description: 'Model version' }) },
  { additionalProperties: false },
);

/** A model's card as JSON-LD: what an annotation's generator id dereferences to. */
export const ModelCardView = Type.Object(
  {
    '@context': Type.Array(Type.String()),
    id: Type.String(),
    type: Type.Literal('Software'),
    name: Type.String(),
    version: Type.String(),
    description: Type.Optional(Type.String()),
    license: Type.String({ description: 'SPDX identifier' }),
    'loupe:model': Type.String(),
    'loupe:version': Type.String(),
    'loupe:task': Type.String(),
    'loupe:source': Type.String({ description: 'Where the weights come from' }),
    'loupe:citation': Type.Optional(Type.String()),
    'loupe:labels': Type.Optional(Type.Array(Type.Object({ name: Type.String(), uri: Type.Optional(Type.String()) }))),
  },
  { $id: 'ModelCardView' },
);

/**
 * A ground-truth request/reply API: every one may fail validation or at the store. Reading needs
 * `reader`; every POST changes ground truth and needs `curator`.
 */
function gt<N extends string, S extends string, M extends 'GET' | 'POST', U extends string, I extends TSchema, O extends TSchema>(
  name: N,
  subject: S,
  method: M,
  url: U,
  summary: string,
  input: I,
  output: O,
  errors: readonly ErrorCode[],
) {
  const role: Access = method === 'GET' ? 'reader' : 'curator';
  return { name, summary, subject, mode: 'request', route: { method, url }, input, output, errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE', ...errors], role } as const;
}

export const GROUND_TRUTH_API = {
  store: {
    name: 'store',
    summary: 'Store the result sets that earlier stages produced for one canvas image (idempotent)',
    subject: SUBJECTS.resultsPut,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/results' },
    // A stage's own route: putting work straight into the pipeline is the operators' business.
    role: 'operator',
    input: StageInput,
    output: StoredResultsOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE'],
  },
  annotations: {
    name: 'annotations',
    summary: 'Annotations as a IIIF AnnotationPage, filtered by canvas, manifest, motivation, model or review state',
    subject: SUBJECTS.annotationsQuery,
    mode: 'request',
    route: { method: 'GET', url: '/v1/annotations' },
    input: AnnotationsQuery,
    output: AnnotationPage,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE'],
    // The annotation pages of enriched manifests: what IIIF viewers fetch.
    role: 'reader',
    iiif: true,
  },
  annotation: {
    ...gt('annotation.get', SUBJECTS.annotationGet, 'GET', '/v1/annotations/:key', 'One annotation, current revision (annotation ids dereference here)', AnnotationKeyParams, Annotation, ['LOUPE_ERR_NOT_FOUND']),
    iiif: true,
  },
  review: gt(
    'annotation.review',
    SUBJECTS.annotationReview,
    'POST',
    '/v1/annotations/:key/review',
    "Accept, reject or correct an annotation (or set it back to unreviewed): a new revision with reviewer and time; nothing is overwritten",
    ReviewBody,
    Annotation,
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  history: gt('annotation.history', SUBJECTS.annotationHistory, 'GET', '/v1/annotations/:key/history', 'Every revision of an annotation, oldest first', AnnotationKeyParams, HistoryOutput, ['LOUPE_ERR_NOT_FOUND']),
  reviewMany: gt(
    'annotations.review',
    SUBJECTS.annotationsReview,
    'POST',
    '/v1/annotations/review',
    'Accept, reject or reset every annotation a filter matches (concept, model, confidence range, state...): one revision each',
    BulkReviewBody,
    Type.Object({ updated: Type.Integer() }),
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  canvases: gt('canvases', SUBJECTS.canvasesQuery, 'GET', '/v1/canvases', 'Canvases with annotations the filters match, with IIIF image and thumbnail requests: what a curator reviews', CanvasesQuery, CanvasesOutput, ['LOUPE_ERR_NOT_FOUND']),
  vocabularies: gt(
    'vocabularies.list',
    SUBJECTS.vocabulariesList,
    'GET',
    '/v1/vocabularies',
    'The vocabularies in the store, with their concept counts',
    Type.Object({}),
    Type.Object({ items: Type.Array(Type.Object({ id: Type.String(), label: Type.Optional(Type.String()), concepts: Type.Integer() })) }),
    [],
  ),
  vocabulary: gt('vocabulary.get', SUBJECTS.vocabularyGet, 'GET', '/v1/vocabularies/:id', 'One vocabulary with its SKOS concepts (id URI-encoded)', Type.Object({ id: Type.String({ minLength: 1 }) }), VocabularyView, ['LOUPE_ERR_NOT_FOUND']),
  vocabularyImport: gt(
    'vocabulary.import',
    SUBJECTS.vocabularyImport,
    'POST',
    '/v1/vocabularies',
    "Import a vocabulary: the Europeana pilot's vocabulary.json or uris_vocabularies.csv, or SKOS in JSON-LD; replaces a vocabulary with the same id",
    VocabularyImportBody,
    Type.Object({ id: Type.String(), concepts: Type.Integer() }),
    [],
  ),
  datasets: gt('datasets.list', SUBJECTS.datasetsList, 'GET', '/v1/datasets', 'The datasets', Type.Object({}), Type.Object({ items: Type.Array(DatasetView) }), []),
  datasetCreate: gt(
    'dataset.create',
    SUBJECTS.datasetCreate,
    'POST',
    '/v1/datasets',
    'Create a dataset (or add to one): source manifests, and the annotations a filter matches as members',
    DatasetCreateBody,
    DatasetView,
    [],
  ),
  dataset: gt('dataset.get', SUBJECTS.datasetGet, 'GET', '/v1/datasets/:name', 'A dataset with its annotation count per concept', DatasetParams, DatasetView, ['LOUPE_ERR_NOT_FOUND']),
  datasetImport: gt(
    'dataset.import',
    SUBJECTS.datasetImport,
    'POST',
    '/v1/datasets/:name/import',
    'Import ground truth into a dataset: COCO detection JSON, Pascal VOC XML, the Europeana pilot CSV or a W3C AnnotationPage; stored as accepted, idempotent',
    DatasetImportBody,
    DatasetImportOutput,
    ['LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_XML_UNSAFE'],
  ),
  datasetExport: gt(
    'dataset.export',
    SUBJECTS.datasetExport,
    'GET',
    '/v1/datasets/:name/export',
    "Export a dataset's ground truth (accepted and corrected annotations, current revision), whole or one split: COCO, Pascal VOC, Europeana CSV or an AnnotationPage",
    DatasetExportQuery,
    DatasetExportOutput,
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  datasetSplits: gt(
    'dataset.splits',
    SUBJECTS.datasetSplits,
    'GET',
    '/v1/datasets/:name/splits',
    'Stratified train/validation/test splits and k-fold folds of the canvases of a dataset, reproducible from the seed',
    DatasetSplitsQuery,
    DatasetSplitsOutput,
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  ocrPages: {
    ...gt('ocr.list', SUBJECTS.ocrList, 'GET', '/v1/ocr', 'Canvases with OCR pages (by manifest or canvas): each image and model that read one, with links to its ALTO and hOCR', OcrPagesQuery, OcrPagesOutput, []),
    iiif: true,
  },
  ocrAlto: {
    ...gt('ocr.alto', SUBJECTS.ocrAlto, 'GET', '/v1/ocr/alto', "A canvas's text as ALTO XML v4 (every image of the canvas on one page, in canvas coordinates)", OcrDocumentQuery, Type.String(), ['LOUPE_ERR_NOT_FOUND']),
    // application/xml, not text/xml: the document carries its encoding in its XML declaration, and
    // RFC 7303 prefers application/xml for that reason; ALTO has no media type of its own.
    mediaType: 'application/xml',
    iiif: true,
  },
  ocrHocr: {
    ...gt('ocr.hocr', SUBJECTS.ocrHocr, 'GET', '/v1/ocr/hocr', "A canvas's text as hOCR 1.2 (HTML; every image of the canvas on one page, in canvas coordinates)", OcrDocumentQuery, Type.String(), ['LOUPE_ERR_NOT_FOUND']),
    // The media type the hOCR specification registers for itself.
    mediaType: 'text/vnd.hocr+html',
    iiif: true,
  },
  reviewQueue: gt(
    'review-queue',
    SUBJECTS.reviewQueue,
    'GET',
    '/v1/review-queue',
    "Unreviewed canvases ordered by how unsure a classification head was (margin or entropy): what a curator should label next",
    ReviewQueueQuery,
    ReviewQueueOutput,
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  evaluation: gt(
    'evaluation',
    SUBJECTS.evaluation,
    'GET',
    '/v1/evaluations',
    "Evaluate a model's original output against a dataset's accepted ground truth: precision, recall, F1 and the confusion matrix for labels, AP for boxes, CER and WER for text",
    EvaluationQuery,
    EvaluationReport,
    ['LOUPE_ERR_NOT_FOUND'],
  ),
  modelCard: {
    ...gt(
      'model.get',
      SUBJECTS.modelGet,
      'GET',
      '/v1/models/:id/:version',
      "A model's card as JSON-LD (type Software): what an annotation's generator id dereferences to",
      ModelCardParams,
      ModelCardView,
      ['LOUPE_ERR_NOT_FOUND'],
    ),
    iiif: true,
  },
} as const satisfies Record<string, ApiDeclaration>;
