import { Type, type Static } from '@sinclair/typebox';
import { ImageRef } from './task.js';

/**
 * Classification into a vocabulary: a linear head (trained from ground truth by `loupe train`,
 * or zero-shot from a vocabulary's labels with a CLIP text model) over an image embedding.
 */

export const CLASSIFY_MODES = ['top-k', 'threshold'] as const;
export type ClassifyMode = (typeof CLASSIFY_MODES)[number];

/** What to classify with and what to return: shared by the request API and the pipeline stage's options. */
export const classifyOptionProperties = {
  head: Type.Optional(Type.String({ minLength: 1, description: 'A trained head (its id; `loupe train` writes them). Default: LOUPE_CLASSIFY_HEAD, else zero-shot over `vocabulary`' })),
  headVersion: Type.Optional(Type.String({ minLength: 1, description: 'A version of the head; the latest when absent' })),
  vocabulary: Type.Optional(Type.String({ minLength: 1, description: "Zero-shot: a vocabulary in the ground-truth store whose concepts' labels become CLIP prompts (needs a text-embedding model, LOUPE_TEXT_MODEL)" })),
  mode: Type.Optional(
    Type.Union(CLASSIFY_MODES.map((m) => Type.Literal(m)), {
      description: "top-k: the k most probable concepts; threshold: every concept whose calibrated probability reaches its threshold (chosen for the head's target precision), possibly none. Default top-k",
    }),
  ),
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'top-k: how many (default 1)' })),
};

export const ClassifyOptions = Type.Object(classifyOptionProperties, { $id: 'ClassifyOptions' });
export type ClassifyOptions = Static<typeof ClassifyOptions>;

export const ClassifyInput = Type.Object(
  {
    ...classifyOptionProperties,
    image: ImageRef,
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) })),
    region: Type.Optional(
      Type.Object(
        { x: Type.Number({ minimum: 0 }), y: Type.Number({ minimum: 0 }), w: Type.Number({ exclusiveMinimum: 0 }), h: Type.Number({ exclusiveMinimum: 0 }) },
        { description: 'Classify only this part: canvas coordinates when `canvas` is given (and the image its width and height), else image pixels. Fetched as a IIIF region' },
      ),
    ),
  },
  { $id: 'ClassifyInput' },
);
export type ClassifyInput = Static<typeof ClassifyInput>;

export const HeadRef = Type.Object(
  {
    id: Type.String(),
    version: Type.String(),
    source: Type.Union([Type.Literal('trained'), Type.Literal('zero-shot')]),
    kind: Type.Union([Type.Literal('softmax'), Type.Literal('sigmoid')]),
    embedding: Type.Object({ model: Type.String(), version: Type.String() }),
  },
  { $id: 'HeadRef' },
);

export const ClassifyPrediction = Type.Object({
  concept: Type.String({ description: 'Concept URI' }),
  label: Type.Optional(Type.String({ description: "The concept's preferred label" })),
  probability: Type.Number({ minimum: 0, maximum: 1, description: 'Calibrated (temperature-scaled) probability' }),
  threshold: Type.Number({ description: "The concept's threshold for the head's target precision" }),
  aboveThreshold: Type.Boolean(),
});

/** Said of a head whose own evaluation puts it close to guessing (closeToChance in @loupe/heads). */
const Caution = Type.String({
  description:
    "Present when the head's own cross-validation puts it close to chance (its accuracy closes less than a fifth of the gap between always answering the commonest class and answering every image right): its labels are hints, not findings",
});

export const ClassifyOutput = Type.Object(
  {
    head: HeadRef,
    mode: Type.Union(CLASSIFY_MODES.map((m) => Type.Literal(m)), { description: 'Which rule chose the predictions' }),
    k: Type.Optional(Type.Integer()),
    predictions: Type.Array(ClassifyPrediction),
    uncertainty: Type.Object({
      margin: Type.Number({ description: '1 - (p1 - p2): higher is less sure' }),
      entropy: Type.Number({ description: 'Normalised entropy of the distribution: higher is less sure' }),
    }),
    request: Type.String({ description: 'The IIIF Image API request (or plain URL) that was embedded' }),
    caution: Type.Optional(Caution),
    ms: Type.Record(Type.String(), Type.Number()),
  },
  { $id: 'ClassifyOutput' },
);
export type ClassifyOutput = Static<typeof ClassifyOutput>;

export const HeadsOutput = Type.Object(
  {
    items: Type.Array(
      Type.Object({
        id: Type.String(),
        versions: Type.Array(Type.String()),
        latest: Type.Object({}, { additionalProperties: true, description: "The latest version's card" }),
        caution: Type.Optional(Caution),
      }),
    ),
  },
  { $id: 'HeadsOutput' },
);

export const ReviewQueueQuery = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'The head (model id of its classifications) whose uncertainty orders the queue' }),
    strategy: Type.Union([Type.Literal('margin'), Type.Literal('entropy')], { default: 'margin' }),
    manifest: Type.Optional(Type.String()),
    dataset: Type.Optional(Type.String()),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  },
  { $id: 'ReviewQueueQuery' },
);
export type ReviewQueueQuery = Static<typeof ReviewQueueQuery>;

export const ReviewQueueOutput = Type.Object(
  {
    model: Type.String(),
    strategy: Type.String(),
    items: Type.Array(
      Type.Object({
        canvas: Type.String(),
        manifest: Type.String(),
        uncertainty: Type.Number(),
        predictions: Type.Array(Type.Object({ concept: Type.String(), label: Type.Optional(Type.String()), confidence: Type.Number() })),
      }),
    ),
  },
  { $id: 'ReviewQueueOutput' },
);
