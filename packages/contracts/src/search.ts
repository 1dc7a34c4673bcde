import { Type, type Static } from '@sinclair/typebox';
import { ImageRef } from './task.js';

// The words half of hybrid search is asked of the ground-truth service: its declaration reaches
// callers with the rest of search's contract.
export { TEXT_RANKING_API, TextRankingInput, TextRankingOutput } from './apis/text-ranking.api.js';

const OneOrMany = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100 })]);

/** Payload filters of a search: every field given must match; a list matches any of its values. */
export const SearchFilter = Type.Object(
  {
    manifest: Type.Optional(OneOrMany),
    collection: Type.Optional(OneOrMany),
    rights: Type.Optional(OneOrMany),
    concept: Type.Optional(OneOrMany),
  },
  { additionalProperties: false },
);
export type SearchFilter = Static<typeof SearchFilter>;

export const SearchInput = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'Image-embedding model whose vectors are searched; LOUPE_EMBED_MODEL by default' })),
    canvas: Type.Optional(
      Type.Object({ id: Type.String({ minLength: 1 }), imageIndex: Type.Integer({ minimum: 0, default: 0 }) }, { description: 'Images similar to a canvas already embedded' }),
    ),
    image: Type.Optional(ImageRef),
    url: Type.Optional(Type.String({ minLength: 1, description: 'An image URL: a IIIF info.json or Image API URL, or a plain image' })),
    upload: Type.Optional(
      Type.Object({ data: Type.String({ minLength: 1, description: 'The image file, base64' }), contentType: Type.Optional(Type.String()) }, { description: 'An uploaded image' }),
    ),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'A text query; needs a text-embedding model paired with the image model (CLIP)' })),
    q: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description:
          'Words: full-text hits over OCR, tags, labels and captions, and annotations of the concept they name (a label or a URI). With an image as well, the word and visual rankings are fused (reciprocal rank fusion)',
      }),
    ),
    weights: Type.Optional(
      Type.Object(
        {
          text: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
          concept: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
          visual: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
        },
        { additionalProperties: false, description: "Each ranking's weight in the fusion; 1 when absent, 0 leaves it out" },
      ),
    ),
    filter: Type.Optional(SearchFilter),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    offset: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
    minScore: Type.Optional(Type.Number({ minimum: -1, maximum: 1 })),
  },
  { $id: 'SearchInput' },
);
export type SearchInput = Static<typeof SearchInput>;

export const SearchHit = Type.Object({
  canvasId: Type.String(),
  imageIndex: Type.Integer(),
  manifestId: Type.String(),
  score: Type.Number({ description: 'Cosine similarity, 1 for the same direction; with words, the fused score (sum of weight / (k + rank))' }),
  thumbnail: Type.Optional(Type.String({ description: 'A IIIF Image API URL of a small version of the image' })),
  rights: Type.Optional(Type.String()),
  matched: Type.Optional(
    Type.Object(
      {
        text: Type.Optional(Type.Object({ rank: Type.Integer({ minimum: 1 }), snippet: Type.String(), motivation: Type.String() })),
        concept: Type.Optional(Type.Object({ rank: Type.Integer({ minimum: 1 }), label: Type.Optional(Type.String()), uri: Type.Optional(Type.String()) })),
        visual: Type.Optional(Type.Object({ rank: Type.Integer({ minimum: 1 }), score: Type.Number() })),
      },
      { description: 'Why it matched (searches with words): its rank in each ranking that found it, with the text, the concept or the cosine' },
    ),
  ),
});
export type SearchHit = Static<typeof SearchHit>;

export const SearchOutput = Type.Object(
  {
    model: Type.Optional(Type.Object({ id: Type.String(), version: Type.String() }, { description: 'The image model searched; absent when only words were' })),
    query: Type.Union([
      Type.Literal('canvas'),
      Type.Literal('image'),
      Type.Literal('url'),
      Type.Literal('upload'),
      Type.Literal('text'),
      Type.Literal('words'),
      Type.Literal('hybrid'),
    ], { description: "What was searched: 'words' for q alone, 'hybrid' for q with an image" }),
    fusion: Type.Optional(
      Type.Object({
        method: Type.Literal('rrf'),
        k: Type.Integer(),
        weights: Type.Object({ text: Type.Number(), concept: Type.Number(), visual: Type.Number() }),
      }),
    ),
    limit: Type.Integer(),
    offset: Type.Integer(),
    hits: Type.Array(SearchHit),
  },
  { $id: 'SearchOutput' },
);
export type SearchOutput = Static<typeof SearchOutput>;
