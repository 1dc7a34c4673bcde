import { Type, type Static } from '@sinclair/typebox';
import { OcrPage } from './ocr.js';

/** Loupe's JSON-LD extension context, listed before the IIIF context (IIIF last). */
export const LOUPE_CONTEXT_PATH = '/ns/loupe/v1.jsonld';
export const IIIF_PRESENTATION_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';
export const W3C_ANNO_CONTEXT = 'http://www.w3.org/ns/anno.jsonld';
export const MEDIA_FRAGMENTS = 'http://www.w3.org/TR/media-frags/';
/** The IIIF Text Granularity extension: `textGranularity` says whether a text annotation is a line, a word... */
export const TEXT_GRANULARITY_CONTEXT = 'http://iiif.io/api/extension/text-granularity/context.json';

/**
 * The JSON-LD contexts of a document holding these annotations: Loupe's, the text granularity
 * extension's when one uses it, and IIIF Presentation 3 last, as Presentation 3 asks of extensions.
 */
export function annotationContexts(loupeContext: string, annotations: readonly { textGranularity?: string }[]): string[] {
  const granular = annotations.some((a) => a.textGranularity !== undefined);
  return [loupeContext, ...(granular ? [TEXT_GRANULARITY_CONTEXT] : []), IIIF_PRESENTATION_CONTEXT];
}

export const REVIEW_STATES = ['unreviewed', 'accepted', 'rejected', 'corrected'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export const Generator = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('Software'),
    name: Type.String(),
    'loupe:model': Type.String(),
    'loupe:version': Type.String(),
    'loupe:embeddingModel': Type.Optional(Type.String({ description: 'Classifications: the embedding model the head runs on' })),
    'loupe:embeddingVersion': Type.Optional(Type.String()),
  },
  { $id: 'Generator' },
);
export type Generator = Static<typeof Generator>;

const Body = Type.Object(
  {
    type: Type.String(),
    value: Type.Optional(Type.String()),
    source: Type.Optional(Type.String()),
    purpose: Type.Optional(Type.String()),
    format: Type.Optional(Type.String()),
    language: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

const Target = Type.Union([
  Type.String(),
  Type.Object(
    {
      type: Type.Literal('SpecificResource'),
      source: Type.Union([Type.String(), Type.Object({ id: Type.String(), type: Type.String() }, { additionalProperties: true })]),
      selector: Type.Optional(
        Type.Object({ type: Type.String(), conformsTo: Type.Optional(Type.String()), value: Type.String() }, { additionalProperties: true }),
      ),
    },
    { additionalProperties: true },
  ),
]);

/** A W3C Web Annotation as Loupe writes it (within a IIIF AnnotationPage, so no @context of its own). */
export const Annotation = Type.Object(
  {
    id: Type.String(),
    type: Type.Literal('Annotation'),
    motivation: Type.Union([Type.String(), Type.Array(Type.String())]),
    body: Type.Union([Body, Type.Array(Body)]),
    target: Target,
    generator: Type.Optional(Generator),
    created: Type.Optional(Type.String()),
    generated: Type.Optional(Type.String()),
    modified: Type.Optional(Type.String({ description: 'When a curator last reviewed it' })),
    'loupe:confidence': Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** Text annotations: the IIIF Text Granularity extension's unit (line, word...). */
    textGranularity: Type.Optional(Type.String()),
    'loupe:reviewState': Type.Optional(Type.Union(REVIEW_STATES.map((s) => Type.Literal(s)))),
    'loupe:revision': Type.Optional(Type.Integer({ minimum: 0, description: '0 as produced or imported; one more with each review' })),
    'loupe:margin': Type.Optional(Type.Number({ description: "Classifications: 1 - (p1 - p2) over the head's whole distribution" })),
    'loupe:entropy': Type.Optional(Type.Number({ description: "Classifications: the normalised entropy of the head's distribution" })),
  },
  { $id: 'Annotation', additionalProperties: true },
);
export type Annotation = Static<typeof Annotation>;

export const AnnotationPage = Type.Object(
  {
    '@context': Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    id: Type.String(),
    type: Type.Literal('AnnotationPage'),
    items: Type.Array(Annotation),
  },
  { $id: 'AnnotationPage', additionalProperties: true },
);
export type AnnotationPage = Static<typeof AnnotationPage>;

/** Canvas-space box as a media-fragment value; IIIF wants integers. */
export function xywh(r: { x: number; y: number; w: number; h: number }): string {
  const x = Math.max(0, Math.round(r.x));
  const y = Math.max(0, Math.round(r.y));
  return `xywh=${x},${y},${Math.max(1, Math.round(r.x + r.w) - x)},${Math.max(1, Math.round(r.y + r.h) - y)}`;
}

/**
 * A model's output for one image before it becomes annotations: what a stage
 * produces. Ids and provenance are added where the result set is stored.
 */
export const Finding = Type.Object(
  {
    motivation: Type.String(),
    /** Canvas-space box; absent targets the whole canvas. */
    box: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number(), w: Type.Number(), h: Type.Number() })),
    text: Type.Optional(Type.String()),
    language: Type.Optional(Type.String()),
    /** Text: what the text is a unit of (the IIIF Text Granularity extension's line, word...). */
    granularity: Type.Optional(Type.Union([Type.Literal('page'), Type.Literal('block'), Type.Literal('line'), Type.Literal('word')])),
    label: Type.Optional(Type.String()),
    concept: Type.Optional(Type.String({ description: 'URI of a controlled-vocabulary concept' })),
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    /** Classifications: how unsure the model was about the whole image (for the review queue). */
    margin: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    entropy: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { $id: 'Finding' },
);
export type Finding = Static<typeof Finding>;

export const ModelRef = Type.Object(
  {
    id: Type.String(),
    version: Type.String(),
    name: Type.Optional(Type.String()),
    /** A classification head's embedding model: the head is the model, this is what it runs on. */
    embedding: Type.Optional(Type.Object({ id: Type.String(), version: Type.String() })),
    /** What runs the model (onnxruntime, tesseract.js...): named in the annotations' generator. */
    runtime: Type.Optional(Type.String()),
  },
  { $id: 'ModelRef' },
);
export type ModelRef = Static<typeof ModelRef>;

/** Everything one model said about one image: the unit that is written and replaced atomically. */
export const ResultSet = Type.Object(
  {
    manifestId: Type.String(),
    canvasId: Type.String(),
    imageIndex: Type.Integer({ minimum: 0 }),
    stage: Type.String(),
    model: ModelRef,
    generated: Type.String({ description: 'xsd:dateTime with Z' }),
    findings: Type.Array(Finding),
    /**
     * The page as the text engine laid it out (blocks, lines, words), in canvas coordinates: what
     * ALTO and hOCR are written from. Only a text stage's result set has one.
     */
    ocr: Type.Optional(OcrPage),
  },
  { $id: 'ResultSet' },
);
export type ResultSet = Static<typeof ResultSet>;

/** Filters over stored annotations, shared by the query, bulk review, canvases and datasets. */
export const annotationFilterProperties = {
  canvas: Type.Optional(Type.String({ description: 'Canvas id' })),
  manifest: Type.Optional(Type.String({ description: 'Manifest id' })),
  motivation: Type.Optional(Type.String()),
  model: Type.Optional(Type.String({ description: 'Model id (imported ground truth: its source, e.g. import:coco)' })),
  reviewState: Type.Optional(Type.Union(REVIEW_STATES.map((s) => Type.Literal(s)))),
  concept: Type.Optional(Type.String({ description: 'Concept URI, or a label' })),
  minConfidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  maxConfidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  dataset: Type.Optional(Type.String({ description: 'Dataset name: its members and the annotations of its source manifests' })),
};

export const AnnotationFilter = Type.Object(annotationFilterProperties, { $id: 'AnnotationFilter' });
export type AnnotationFilter = Static<typeof AnnotationFilter>;

export const AnnotationsQuery = Type.Object(
  {
    ...annotationFilterProperties,
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { $id: 'AnnotationsQuery' },
);
export type AnnotationsQuery = Static<typeof AnnotationsQuery>;
