import { Type, type Static } from '@sinclair/typebox';
import { ModelRef, ResultSet } from './annotation.js';

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
