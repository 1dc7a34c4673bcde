import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from './errors.js';
import { Annotation, AnnotationPage, AnnotationsQuery } from './annotation.js';
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
} from './ground-truth.js';
import { HarvestInput, HarvestOutput } from './harvest.js';
import { SearchInput, SearchOutput } from './search.js';
import { AnalysisOutput, ClustersInput, DuplicatesInput } from './analysis.js';
import type { Access, HandlerDeclaration } from './service.js';
import { ClassifyInput, ClassifyOutput, HeadsOutput, ReviewQueueOutput, ReviewQueueQuery } from './classify.js';
import { SUBJECTS } from './subjects.js';
import { ImageRef } from './task.js';
import { FetchTarget } from './prepared-image.js';

/** A request/reply handler's declaration without its implementation: what a caller in another process needs. */
export type ApiDeclaration = Omit<HandlerDeclaration, 'handler'>;

export const ModelRunInput = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'Id of the model to run' }),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
    image: ImageRef,
  },
  { $id: 'ModelRunInput' },
);

const ModelRunOutput = Type.Object({}, { additionalProperties: true });

export const EmbedImageInput = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'Id of an image-embedding model; the configured default (LOUPE_EMBED_MODEL) when absent' })),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) })),
    image: ImageRef,
    hints: Type.Optional(
      Type.Object(
        {
          rotation: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)])),
          region: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number(), w: Type.Number({ exclusiveMinimum: 0 }), h: Type.Number({ exclusiveMinimum: 0 }) })),
          fetch: Type.Optional(FetchTarget),
        },
        { description: "What preprocess found: the rotation that turns the image upright, the object's region (image pixels) and the request the job shares; the fetch applies them" },
      ),
    ),
  },
  { $id: 'EmbedImageInput' },
);
export type EmbedImageInput = Static<typeof EmbedImageInput>;

export const EmbedImageOutput = Type.Object(
  {
    model: Type.Object({ id: Type.String(), version: Type.String() }),
    dims: Type.Integer({ minimum: 1 }),
    vector: Type.Array(Type.Number(), { description: 'L2-normalised: the dot product of two vectors is their cosine similarity' }),
    phash: Type.String({ pattern: '^[0-9a-f]{16}$', description: '64-bit DCT perceptual hash of the image, hex' }),
    request: Type.String({ description: 'The IIIF Image API request (or plain URL) that was fetched' }),
  },
  { $id: 'EmbedImageOutput' },
);
export type EmbedImageOutput = Static<typeof EmbedImageOutput>;

function modelApi(subject: string, url: string, summary: string) {
  return {
    name: 'image',
    summary,
    subject,
    mode: 'request',
    route: { method: 'POST', url },
    input: ModelRunInput,
    output: ModelRunOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
    role: 'reader',
  } as const satisfies ApiDeclaration;
}

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

/**
 * The request/reply APIs of the services, by owning service. Each service implements its own; a
 * gateway process that does not run a service mounts that service's routes as proxies over the
 * bus, so the public HTTP API is the same in one process and in many.
 */
export const SERVICE_APIS = {
  'iiif-fetcher': {
    harvest: {
      name: 'harvest',
      summary: 'Harvest a IIIF manifest or collection into one task per canvas image',
      subject: SUBJECTS.harvest,
      mode: 'request',
      route: { method: 'POST', url: '/v1/harvest' },
      input: HarvestInput,
      output: HarvestOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_SOURCE_UNSUPPORTED', 'LOUPE_ERR_IIIF_NOT_IIIF', 'LOUPE_ERR_IIIF_NOT_JSON', 'LOUPE_ERR_IIIF_LIMIT', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_FETCH_EGRESS_REFUSED'],
      role: 'operator',
    },
  },
  'ground-truth': {
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
  },
  classify: {
    image: {
      name: 'image',
      summary:
        'Classify an image (IIIF or plain URL) into a vocabulary: a trained head, or zero-shot over a vocabulary with a CLIP text model; calibrated probabilities, top-k or everything above threshold',
      subject: SUBJECTS.classifyImage,
      mode: 'request',
      route: { method: 'POST', url: '/v1/classify' },
      input: ClassifyInput,
      output: ClassifyOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE'],
      role: 'reader',
    },
    heads: {
      name: 'heads',
      summary: 'The classification heads `loupe train` wrote, each with its versions and the latest card (metrics, calibration, classes)',
      subject: SUBJECTS.classifyHeads,
      mode: 'request',
      route: { method: 'GET', url: '/v1/heads' },
      input: Type.Object({}),
      output: HeadsOutput,
      errors: ['LOUPE_ERR_MODEL_CARD_INVALID'],
      role: 'reader',
    },
  },
  embed: {
    image: {
      name: 'image',
      summary: 'Embed an image (IIIF or plain URL) with an image-embedding model: an L2-normalised vector and a 64-bit perceptual hash',
      subject: SUBJECTS.embedImage,
      mode: 'request',
      route: { method: 'POST', url: '/v1/embed' },
      input: EmbedImageInput,
      output: EmbedImageOutput,
      errors: [
        'LOUPE_ERR_VALIDATION',
        'LOUPE_ERR_MODEL_NOT_INSTALLED',
        'LOUPE_ERR_MODEL_CARD_INVALID',
        'LOUPE_ERR_FETCH_HTTP',
        'LOUPE_ERR_FETCH_TIMEOUT',
        'LOUPE_ERR_IMAGE_DECODE',
        'LOUPE_ERR_INFERENCE',
      ],
      role: 'reader',
    },
    search: {
      name: 'search',
      summary:
        'Images similar to a canvas, an image (IIIF or plain URL, or uploaded) or a text query (with a CLIP text model), among the embedded images of one model; filters by manifest, collection, rights and concept; paged',
      subject: SUBJECTS.embedSearch,
      mode: 'request',
      route: { method: 'POST', url: '/v1/search' },
      input: SearchInput,
      output: SearchOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE', 'LOUPE_ERR_STORE'],
      role: 'reader',
    },
    duplicates: {
      name: 'duplicates',
      summary: 'A tiered duplicates report over the embedded images of a collection or manifest: exact (same perceptual hash), near (hash distance up to nearHamming), visually similar (cosine at least similarCosine); pairs and groups, JSON or CSV',
      subject: SUBJECTS.embedDuplicates,
      mode: 'request',
      route: { method: 'POST', url: '/v1/duplicates' },
      input: DuplicatesInput,
      output: AnalysisOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_STORE'],
      role: 'reader',
    },
    clusters: {
      name: 'clusters',
      summary: 'Clusters of the embedded images of a collection or manifest (spherical k-means, k chosen by silhouette), each with its most central images; JSON or CSV',
      subject: SUBJECTS.embedClusters,
      mode: 'request',
      route: { method: 'POST', url: '/v1/clusters' },
      input: ClustersInput,
      output: AnalysisOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_STORE'],
      role: 'reader',
    },
  },
  caption: { image: modelApi(SUBJECTS.captionImage, '/v1/caption', 'Caption a canvas image with the named model') },
} as const satisfies Record<string, Record<string, ApiDeclaration>>;
