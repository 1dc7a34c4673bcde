import { Type, type Static } from '@sinclair/typebox';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/*
 * The words half of hybrid search (POST /v1/search with `q`): the ground-truth service ranks
 * canvases by its full-text index and its concept matches, and the embed service fuses that with
 * the visual ranking. Bus-only: readers reach it through /v1/search, never on its own.
 */

const CanvasImage = {
  canvasId: Type.String(),
  manifestId: Type.String(),
  imageIndex: Type.Integer({ minimum: 0 }),
};

export const TextRankingInput = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 500, description: 'Words (every one must be in a hit), or a concept URI or label' }),
    manifests: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 100, description: 'Only canvases of these manifests; every manifest with text by default' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Canvases per list' }),
  },
  { $id: 'TextRankingInput', additionalProperties: false },
);
export type TextRankingInput = Static<typeof TextRankingInput>;

export const TextRankingOutput = Type.Object(
  {
    text: Type.Array(
      Type.Object({
        ...CanvasImage,
        hits: Type.Integer({ minimum: 1, description: 'Lines and annotation texts of the canvas that hold every word' }),
        snippet: Type.String({ description: 'The best of them: a tag, label or caption before an OCR line' }),
        motivation: Type.String({ description: "The snippet's motivation; OCR lines are 'supplementing'" }),
      }),
      { description: 'Canvases by full-text hits, most first' },
    ),
    concept: Type.Array(
      Type.Object({
        ...CanvasImage,
        label: Type.Optional(Type.String()),
        uri: Type.Optional(Type.String()),
        confidence: Type.Optional(Type.Number()),
      }),
      { description: 'Canvases with an annotation of the concept (by URI or label), most confident first' },
    ),
  },
  { $id: 'TextRankingOutput' },
);
export type TextRankingOutput = Static<typeof TextRankingOutput>;

export const TEXT_RANKING_API = {
  textRanking: {
    name: 'textRanking',
    summary: 'Canvases ranked by words: full-text hits over OCR lines, tags, labels and captions, and annotations of a concept named by URI or label (current revisions, rejected ones left out)',
    subject: SUBJECTS.textRanking,
    mode: 'request',
    input: TextRankingInput,
    output: TextRankingOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE', 'LOUPE_ERR_CONFIG_INVALID'],
    role: 'reader',
  },
} as const satisfies Record<string, ApiDeclaration>;
