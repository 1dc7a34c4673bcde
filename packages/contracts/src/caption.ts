import { Type, type Static } from '@sinclair/typebox';
import { ModelRef, ResultSet } from './annotation.js';
import { ImageRef } from './task.js';

/** The languages the composed caption has templates for. */
export const CAPTION_LANGUAGES = ['en', 'fr'] as const;
export type CaptionLanguage = (typeof CAPTION_LANGUAGES)[number];

/**
 * One finding a caption phrase was made from: a result set of the same canvas (its stage and model)
 * and the finding's index in it. The ground-truth store derives an annotation's id from exactly
 * these (result set key, content, occurrence), so the store turns each into its annotation's id.
 */
// No $id: a caption names its sources twice (per phrase and once each), and repeated ids break serialisation.
export const CaptionSource = Type.Object({ stage: Type.String(), model: Type.String(), finding: Type.Integer({ minimum: 0 }) });
export type CaptionSource = Static<typeof CaptionSource>;

export const ComposedCaption = Type.Object(
  {
    text: Type.String(),
    language: Type.Union(CAPTION_LANGUAGES.map((l) => Type.Literal(l))),
    /** Each phrase of `text` with the findings it says: nothing in a caption comes from nowhere. */
    phrases: Type.Array(Type.Object({ text: Type.String(), from: Type.Array(CaptionSource, { minItems: 1 }) })),
    /** Every finding the caption was made from, once each, in the order the phrases name them. */
    derivedFrom: Type.Array(CaptionSource),
  },
  { $id: 'ComposedCaption' },
);
export type ComposedCaption = Static<typeof ComposedCaption>;

/**
 * The caption stage's result: a result set with one `describing` finding (none when nothing was
 * found: no caption rather than an empty one, and a re-run removes a caption that no longer holds),
 * and the caption's phrases and sources, which the store links to the annotations they name.
 */
export const CaptionStageOutput = Type.Object(
  {
    resultSet: ResultSet,
    caption: Type.Optional(ComposedCaption),
    ms: Type.Optional(Type.Record(Type.String(), Type.Number())),
  },
  { $id: 'CaptionStageOutput' },
);
export type CaptionStageOutput = Static<typeof CaptionStageOutput>;

export const CaptionComposeInput = Type.Object(
  {
    /** What the other models said about one canvas: their result sets, as their stages return them. */
    resultSets: Type.Array(ResultSet),
    /** A caption language, or a manifest's ISO 639-3 codes (`fra`); English when none has templates. */
    language: Type.Optional(Type.String({ minLength: 2 })),
  },
  { $id: 'CaptionComposeInput' },
);
export type CaptionComposeInput = Static<typeof CaptionComposeInput>;

export const CaptionComposeOutput = Type.Object(
  { model: ModelRef, caption: Type.Union([ComposedCaption, Type.Null()], { description: 'null when nothing was found to say' }) },
  { $id: 'CaptionComposeOutput' },
);
export type CaptionComposeOutput = Static<typeof CaptionComposeOutput>;

/**
 * The ids of the annotations a caption was made from, given the annotations the store made of each
 * result set of the same canvas (in finding order, as it makes them). A source the store did not
 * write (a stage not stored) is left out rather than guessed.
 */
export function captionSourceIds(caption: ComposedCaption, annotationsOf: (stage: string, model: string) => readonly { readonly id: string }[] | undefined): string[] {
  return caption.derivedFrom.flatMap((s) => {
    const id = annotationsOf(s.stage, s.model)?.[s.finding]?.id;
    return id === undefined ? [] : [id];
  });
}

/** Beam widths a request or a job may ask a captioning model for: each beam is a decoder row at every step. */
export const CAPTION_MAX_BEAMS = 8;
/** Tokens a captioning model may be asked to write at most (ViT-GPT2's card says 16). */
export const CAPTION_MAX_TOKENS = 64;

const beamsOption = Type.Integer({ minimum: 1, maximum: CAPTION_MAX_BEAMS, description: '1 decodes greedily (the default); more runs a beam search that wide' });
const maxTokensOption = Type.Integer({ minimum: 1, maximum: CAPTION_MAX_TOKENS, description: "Tokens written at most, the end token included (default: the card's maxLength)" });

/** What a job's `caption` option may say: the composed caption's language, or a captioning model to use instead. */
export const captionOptionProperties = {
  language: Type.Optional(Type.String({ minLength: 2, description: 'The composed caption: BCP 47; en and fr have templates' })),
  model: Type.Optional(Type.String({ minLength: 1, description: 'A captioning model (loupe models pull vit-gpt2-captioning) that writes the caption instead of composing it' })),
  beams: Type.Optional(beamsOption),
  maxTokens: Type.Optional(maxTokensOption),
};

export const CaptionImageInput = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'Id of an installed captioning model (e.g. vit-gpt2-captioning)' }),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) })),
    image: ImageRef,
    beams: Type.Optional(beamsOption),
    maxTokens: Type.Optional(maxTokensOption),
  },
  { $id: 'CaptionImageInput', additionalProperties: false },
);
export type CaptionImageInput = Static<typeof CaptionImageInput>;

export const CaptionImageOutput = Type.Object(
  {
    model: ModelRef,
    caption: Type.Object({
      text: Type.String(),
      language: Type.String({ description: "The card's language: a captioning model writes in the language it learnt" }),
      confidence: Type.Number({ minimum: 0, maximum: 1, description: "exp(meanLogProb): the geometric mean of the tokens' probabilities" }),
      logProb: Type.Number({ description: 'Sum of the log probabilities of the tokens, the end token included' }),
      meanLogProb: Type.Number(),
      tokens: Type.Array(Type.Object({ id: Type.Integer(), text: Type.String(), logProb: Type.Number() })),
      finished: Type.Boolean({ description: 'false: stopped at maxTokens before the end token' }),
      beams: Type.Integer(),
    }),
    request: Type.String({ description: 'The IIIF Image API request (or plain URL) that was fetched' }),
  },
  { $id: 'CaptionImageOutput' },
);
export type CaptionImageOutput = Static<typeof CaptionImageOutput>;
