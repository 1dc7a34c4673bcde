import { Type, type Static } from '@sinclair/typebox';
import { AnnotationKeyParams } from '../ground-truth.js';
import { ImageRef, Rect } from '../task.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/**
 * Explanations: why a classification or a detection box was given, as an occlusion saliency map.
 * Classify and detect compute them (they hold the models); ground-truth answers the public route,
 * since it holds the annotation being explained and records the explanation beside it.
 */
export const EXPLAIN_SUBJECTS = {
  classifyExplain: SUBJECTS.classifyExplain,
  detectExplain: SUBJECTS.detectExplain,
  annotationExplanation: SUBJECTS.annotationExplanation,
} as const;

const explainOptionProperties = {
  window: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: "Side of the hidden square, as a fraction of the image's shorter side (default 0.25)" })),
  stride: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Step between windows, as a fraction of the window (default 0.5: 7 x 7 windows at the defaults)' })),
  baseline: Type.Optional(Type.Union([Type.Literal('blur'), Type.Literal('mean')], { description: 'What hidden parts become: the image blurred (default) or its mean colour' })),
};

export const ExplainOptions = Type.Object(explainOptionProperties, { $id: 'ExplainOptions', additionalProperties: false });
export type ExplainOptions = Static<typeof ExplainOptions>;

export const SaliencyMapJson = Type.Object(
  {
    method: Type.Literal('occlusion'),
    width: Type.Integer({ minimum: 1, description: 'Cells across' }),
    height: Type.Integer({ minimum: 1, description: 'Cells down' }),
    values: Type.Array(Type.Number(), { description: 'Row-major, one per cell: how much the score falls when the cell is hidden (negative: hiding it raises the score)' }),
    image: Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }, { description: 'The image the map lies over, in its pixels' }),
    score: Type.Number({ description: 'The score of the unmasked image: the probability of the concept, or the IoU-weighted score of the box' }),
    peak: Type.Object({ x: Type.Number(), y: Type.Number(), value: Type.Number() }, { description: "The strongest cell's centre, in canvas coordinates" }),
    passes: Type.Integer({ minimum: 1, description: 'Forward passes made' }),
    options: Type.Object({ window: Type.Number(), stride: Type.Number(), baseline: Type.String() }),
  },
  { $id: 'SaliencyMapJson' },
);
export type SaliencyMapJson = Static<typeof SaliencyMapJson>;

/** What classify and detect answer: the map, and the overlay as a base64 PNG (the bus carries JSON). */
export const ExplainOutput = Type.Object(
  {
    map: SaliencyMapJson,
    overlayPng: Type.String({ contentEncoding: 'base64', contentMediaType: 'image/png', description: 'The image with the map as heat over it' }),
    model: Type.Object({ id: Type.String(), version: Type.String() }, { description: 'The head or detector explained' }),
    ms: Type.Record(Type.String(), Type.Number()),
  },
  { $id: 'ExplainOutput' },
);
export type ExplainOutput = Static<typeof ExplainOutput>;

const canvasRef = Type.Object({ id: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) });

export const ExplainClassificationInput = Type.Object(
  {
    image: ImageRef,
    canvas: Type.Optional(canvasRef),
    region: Type.Optional(Rect),
    head: Type.Optional(Type.String({ minLength: 1, description: 'The trained head that gave the classification' })),
    headVersion: Type.Optional(Type.String({ minLength: 1 })),
    vocabulary: Type.Optional(Type.String({ minLength: 1, description: 'Zero-shot: the vocabulary the classification came from' })),
    concept: Type.String({ minLength: 1, description: 'The concept URI explained' }),
    ...explainOptionProperties,
  },
  { $id: 'ExplainClassificationInput' },
);
export type ExplainClassificationInput = Static<typeof ExplainClassificationInput>;

export const ExplainBoxInput = Type.Object(
  {
    image: ImageRef,
    canvas: Type.Optional(canvasRef),
    kind: Type.Union([Type.Literal('objects'), Type.Literal('faces')], { description: 'Which detector drew the box' }),
    label: Type.String({ minLength: 1, description: "The box's class, as the detector names it ('person', 'face')" }),
    box: Rect,
    ...explainOptionProperties,
  },
  { $id: 'ExplainBoxInput' },
);
export type ExplainBoxInput = Static<typeof ExplainBoxInput>;

export const ExplanationQuery = Type.Object(
  {
    key: AnnotationKeyParams.properties.key,
    format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('json')], { description: 'png: the overlay (default); json: the map and the explanation annotation' })),
    ...explainOptionProperties,
  },
  { $id: 'ExplanationQuery' },
);
export type ExplanationQuery = Static<typeof ExplanationQuery>;

/** An overlay as bytes: sent as image/png over HTTP, as base64 over the bus. */
export const OverlayPng = Type.Unsafe<Uint8Array>({ type: 'string', format: 'binary', description: 'The image with the map as heat over it (PNG)' });

export const ExplanationOutput = Type.Object(
  {
    map: SaliencyMapJson,
    annotation: Type.Record(Type.String(), Type.Unknown(), {
      description: "The explanation as a W3C annotation (motivation 'commenting', body the overlay image, `loupe:explains` the annotation explained), as stored",
    }),
  },
  { $id: 'ExplanationOutput' },
);
export type ExplanationOutput = Static<typeof ExplanationOutput>;

const EXPLAIN_ERRORS = ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE'] as const;

/** The request a model's own service answers: compute, return, store nothing. */
function explainRequest<I extends typeof ExplainClassificationInput | typeof ExplainBoxInput>(subject: string, url: string, summary: string, input: I) {
  return { name: 'explain', summary, subject, mode: 'request', route: { method: 'POST', url }, input, output: ExplainOutput, errors: EXPLAIN_ERRORS, role: 'reader' } as const;
}

export const CLASSIFY_EXPLAIN_API = {
  explain: explainRequest(
    EXPLAIN_SUBJECTS.classifyExplain,
    '/v1/classify/explain',
    "Why a head gave a concept: an occlusion saliency map of the concept's probability over the image, and a PNG overlay",
    ExplainClassificationInput,
  ),
} as const satisfies Record<string, ApiDeclaration>;

export const DETECT_EXPLAIN_API = {
  explain: explainRequest(
    EXPLAIN_SUBJECTS.detectExplain,
    '/v1/detect/explain',
    "Why a detector drew a box: an occlusion saliency map of the box's IoU-weighted score over the image, and a PNG overlay",
    ExplainBoxInput,
  ),
} as const satisfies Record<string, ApiDeclaration>;

export const ANNOTATION_EXPLANATION_API = {
  explanation: {
    name: 'annotation.explanation',
    summary:
      "Why an annotation was made (a classification or a detection box): its saliency overlay as a PNG, or with format=json the map and the explanation annotation, computed on first request and kept as an annotation linked to the one it explains",
    subject: EXPLAIN_SUBJECTS.annotationExplanation,
    mode: 'request',
    route: { method: 'GET', url: '/v1/annotations/:key/explanation' },
    input: ExplanationQuery,
    // The overlay's bytes by default; the map and the annotation with format=json.
    output: Type.Union([OverlayPng, ExplanationOutput]),
    mediaType: 'image/png',
    // VALIDATION also answers an annotation that is neither a classification nor a box (a text line).
    errors: ['LOUPE_ERR_STORE', ...EXPLAIN_ERRORS],
    role: 'reader',
  },
} as const satisfies Record<string, ApiDeclaration>;

/** A saliency map as the explainers make it (@loupe/inference's SaliencyMap), its values any array of numbers. */
export interface SaliencyMapLike extends Omit<SaliencyMapJson, 'values' | 'options'> {
  readonly values: ArrayLike<number>;
  readonly options: { readonly window: number; readonly stride: number; readonly baseline: string };
}

/**
 * What classify and detect answer for a map made on a fetched image: the peak moved into canvas
 * coordinates (what annotations and the review page speak), the overlay as base64 for the bus.
 */
export function explainOutput(
  map: SaliencyMapLike,
  overlay: Uint8Array,
  model: { readonly id: string; readonly version: string },
  toCanvas: (box: Rect) => Rect,
  ms: Record<string, number>,
): ExplainOutput {
  const peak = toCanvas({ x: map.peak.x, y: map.peak.y, w: 0, h: 0 });
  return {
    map: {
      method: map.method,
      width: map.width,
      height: map.height,
      values: Array.from(map.values, (v) => Math.round(v * 1e5) / 1e5),
      image: { width: map.image.width, height: map.image.height },
      score: map.score,
      peak: { x: Math.round(peak.x * 10) / 10, y: Math.round(peak.y * 10) / 10, value: map.peak.value },
      passes: map.passes,
      options: { ...map.options },
    },
    overlayPng: Buffer.from(overlay.buffer, overlay.byteOffset, overlay.byteLength).toString('base64'),
    model: { id: model.id, version: model.version },
    ms,
  };
}
