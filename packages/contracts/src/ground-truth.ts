import { Type, type Static } from '@sinclair/typebox';
import { Annotation, REVIEW_STATES, annotationFilterProperties } from './annotation.js';

/**
 * The ground-truth service's curation API: reviews with revisions, canvases to review,
 * vocabularies, datasets (import, export, splits) and evaluation. Declared here so that a gateway
 * in another process can mount the same routes.
 */

const Key = Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_-]+$', description: 'The last path segment of the annotation id' });
export const AnnotationKeyParams = Type.Object({ key: Key }, { $id: 'AnnotationKeyParams' });

const BoxSchema = Type.Object({ x: Type.Number({ minimum: 0 }), y: Type.Number({ minimum: 0 }), w: Type.Number({ exclusiveMinimum: 0 }), h: Type.Number({ exclusiveMinimum: 0 }) });

export const ReviewBody = Type.Object(
  {
    key: Key,
    state: Type.Union(REVIEW_STATES.map((s) => Type.Literal(s))),
    reviewer: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Who reviewed, when Loupe runs without authentication; ignored for an authenticated caller, whose name or id is recorded instead',
      }),
    ),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    correction: Type.Optional(
      Type.Object(
        {
          label: Type.Optional(Type.String({ minLength: 1 })),
          concept: Type.Optional(Type.String({ minLength: 1, description: 'Concept URI' })),
          box: Type.Optional(BoxSchema),
          text: Type.Optional(Type.String()),
        },
        { description: "What the curator changed; the fields given replace the current revision's (state must be 'corrected')" },
      ),
    ),
  },
  { $id: 'ReviewBody' },
);
export type ReviewBody = Static<typeof ReviewBody>;

export const RevisionView = Type.Object(
  {
    revision: Type.Integer({ minimum: 0 }),
    state: Type.Union(REVIEW_STATES.map((s) => Type.Literal(s))),
    reviewer: Type.Union([Type.String(), Type.Null()]),
    at: Type.String(),
    note: Type.Optional(Type.String()),
    annotation: Annotation,
  },
  { $id: 'RevisionView' },
);

export const HistoryOutput = Type.Object({ items: Type.Array(RevisionView) }, { $id: 'HistoryOutput' });

export const BulkReviewBody = Type.Object(
  {
    filter: Type.Object(annotationFilterProperties),
    state: Type.Union([Type.Literal('accepted'), Type.Literal('rejected'), Type.Literal('unreviewed')]),
    reviewer: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Who reviewed, when Loupe runs without authentication; ignored for an authenticated caller, whose name or id is recorded instead',
      }),
    ),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { $id: 'BulkReviewBody' },
);
export type BulkReviewBody = Static<typeof BulkReviewBody>;

export const CanvasView = Type.Object(
  {
    canvasId: Type.String(),
    manifestId: Type.String(),
    label: Type.Optional(Type.String()),
    width: Type.Integer({ minimum: 0 }),
    height: Type.Integer({ minimum: 0 }),
    image: Type.Object(
      {
        id: Type.String(),
        service: Type.Optional(Type.String()),
        serviceVersion: Type.Optional(Type.Integer()),
        width: Type.Optional(Type.Integer()),
        height: Type.Optional(Type.Integer()),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'CanvasView' },
);

export const CanvasesQuery = Type.Object(
  { ...annotationFilterProperties, limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), offset: Type.Integer({ minimum: 0, default: 0 }) },
  { $id: 'CanvasesQuery' },
);
export type CanvasesQuery = Static<typeof CanvasesQuery>;

export const CanvasesOutput = Type.Object(
  {
    items: Type.Array(
      Type.Object({
        canvas: CanvasView,
        annotations: Type.Integer({ description: 'Annotations on the canvas that the filters match' }),
        image: Type.String({ description: 'A IIIF Image API request that fits the image in 1200x1200 (or its plain URL)' }),
        thumbnail: Type.String({ description: 'A IIIF Image API request that fits the image in 200x200 (or its plain URL)' }),
      }),
    ),
  },
  { $id: 'CanvasesOutput' },
);

export const VOCABULARY_FORMATS = ['europeana-json', 'concept-csv', 'skos-jsonld'] as const;
export type VocabularyFormat = (typeof VOCABULARY_FORMATS)[number];

const ConceptView = Type.Object(
  {
    uri: Type.String(),
    prefLabel: Type.Record(Type.String(), Type.String()),
    altLabel: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
    notation: Type.Optional(Type.String()),
    broader: Type.Optional(Type.Array(Type.String())),
    narrower: Type.Optional(Type.Array(Type.String())),
    exactMatch: Type.Optional(Type.Array(Type.String())),
  },
  { $id: 'ConceptView' },
);

export const VocabularyView = Type.Object({ id: Type.String(), label: Type.Optional(Type.String()), concepts: Type.Array(ConceptView) }, { $id: 'VocabularyView' });

export const VocabularyImportBody = Type.Object(
  {
    format: Type.Union(VOCABULARY_FORMATS.map((f) => Type.Literal(f)), {
      description: "europeana-json: the Europeana pilot's vocabulary.json (name -> URI); concept-csv: its uris_vocabularies.csv; skos-jsonld: SKOS in JSON-LD with an inline context",
    }),
    content: Type.String({ minLength: 1, description: 'The file, as text' }),
    id: Type.Optional(Type.String({ minLength: 1, description: "The vocabulary's id (default: the scheme's URI, else the format name)" })),
    label: Type.Optional(Type.String()),
  },
  { $id: 'VocabularyImportBody' },
);
export type VocabularyImportBody = Static<typeof VocabularyImportBody>;

export const DATASET_FORMATS = ['coco', 'voc', 'europeana-csv', 'annotation-page'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];
export const SPLITS = ['train', 'validation', 'test'] as const;

const DatasetName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$' });

export const DatasetView = Type.Object(
  {
    name: Type.String(),
    description: Type.Optional(Type.String()),
    created: Type.String(),
    sources: Type.Array(Type.String()),
    members: Type.Integer(),
    annotations: Type.Optional(Type.Integer({ description: 'Annotations in the dataset (members and those of its sources)' })),
    concepts: Type.Optional(Type.Array(Type.Object({ concept: Type.String(), label: Type.Optional(Type.String()), count: Type.Integer() }))),
  },
  { $id: 'DatasetView' },
);

export const DatasetCreateBody = Type.Object(
  {
    name: DatasetName,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    sources: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Manifest URIs whose annotations belong to the dataset' })),
    filter: Type.Optional(Type.Object(annotationFilterProperties, { description: 'Adds the annotations this filter matches now as members' })),
  },
  { $id: 'DatasetCreateBody' },
);
export type DatasetCreateBody = Static<typeof DatasetCreateBody>;

export const DatasetParams = Type.Object({ name: DatasetName }, { $id: 'DatasetParams' });

export const DatasetImportBody = Type.Object(
  {
    name: DatasetName,
    format: Type.Union(DATASET_FORMATS.map((f) => Type.Literal(f))),
    content: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      description: 'The file as text; voc: one XML document per image (an array)',
    }),
    source: Type.Optional(Type.String({ minLength: 1, description: 'Recorded as the model of the imported annotations (default import:<format>)' })),
    vocabulary: Type.Optional(Type.String({ description: 'europeana-csv: the vocabulary whose names resolve a category column without skos_concept' })),
  },
  { $id: 'DatasetImportBody' },
);
export type DatasetImportBody = Static<typeof DatasetImportBody>;

export const DatasetImportOutput = Type.Object(
  {
    images: Type.Integer(),
    inserted: Type.Integer(),
    kept: Type.Integer(),
    problems: Type.Array(Type.Object({ line: Type.Optional(Type.Integer()), message: Type.String() })),
  },
  { $id: 'DatasetImportOutput' },
);

const SplitQuery = {
  seed: Type.String({ default: 'loupe', description: 'Splits and folds are a function of the seed and the annotations: the same seed gives the same split' }),
  train: Type.Number({ minimum: 0, maximum: 1, default: 0.7 }),
  validation: Type.Number({ minimum: 0, maximum: 1, default: 0.15 }),
  test: Type.Number({ minimum: 0, maximum: 1, default: 0.15 }),
};

export const DatasetExportQuery = Type.Object(
  {
    name: DatasetName,
    format: Type.Union(DATASET_FORMATS.map((f) => Type.Literal(f))),
    split: Type.Optional(Type.Union(SPLITS.map((s) => Type.Literal(s)))),
    ...SplitQuery,
  },
  { $id: 'DatasetExportQuery' },
);
export type DatasetExportQuery = Static<typeof DatasetExportQuery>;

export const DatasetExportOutput = Type.Object(
  {
    format: Type.String(),
    images: Type.Integer(),
    annotations: Type.Integer(),
    files: Type.Array(Type.Object({ name: Type.String(), mediaType: Type.String(), content: Type.String() })),
  },
  { $id: 'DatasetExportOutput' },
);

export const DatasetSplitsQuery = Type.Object(
  { name: DatasetName, ...SplitQuery, folds: Type.Integer({ minimum: 2, maximum: 50, default: 5 }) },
  { $id: 'DatasetSplitsQuery' },
);
export type DatasetSplitsQuery = Static<typeof DatasetSplitsQuery>;

export const DatasetSplitsOutput = Type.Object(
  {
    seed: Type.String(),
    folds: Type.Integer(),
    counts: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), { description: 'split -> concept -> canvases' }),
    items: Type.Array(Type.Object({ canvas: Type.String(), split: Type.String(), fold: Type.Integer(), concepts: Type.Array(Type.String()) })),
  },
  { $id: 'DatasetSplitsOutput' },
);

export const EvaluationQuery = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'The model whose original output is evaluated' }),
    dataset: DatasetName,
    iou: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5 }),
    threshold: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'Label predictions below this confidence are ignored' }),
  },
  { $id: 'EvaluationQuery' },
);
export type EvaluationQuery = Static<typeof EvaluationQuery>;

export const EvaluationReport = Type.Object(
  {
    model: Type.String(),
    dataset: Type.String(),
    generated: Type.String(),
    canvases: Type.Integer({ description: 'Canvases of the dataset with accepted or corrected ground truth' }),
    labels: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Per-class precision, recall, F1 and the confusion matrix (whole-canvas labels)' })),
    boxes: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Per-class AP at the IoU threshold and the mean' })),
    text: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Character and word error rates' })),
  },
  { $id: 'EvaluationReport', additionalProperties: false },
);
export type EvaluationReport = Static<typeof EvaluationReport>;
