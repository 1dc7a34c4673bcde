import { Type, type Static } from '@sinclair/typebox';
import { AnalysisOutput, ClustersInput, DuplicatesInput } from '../analysis.js';
import { StageInput } from '../pipeline.js';
import { FetchTarget } from '../prepared-image.js';
import { SearchInput, SearchOutput } from '../search.js';
import { SUBJECTS } from '../subjects.js';
import { ImageRef } from '../task.js';
import type { ApiDeclaration } from './api-declaration.js';

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

/** What the embed stage hands on: the point it kept for the canvas image. */
export const EmbedCanvasOutput = Type.Object({
  model: Type.Object({ id: Type.String(), version: Type.String() }),
  id: Type.String({ description: 'The point id: canvas id # image index' }),
  dims: Type.Integer(),
  phash: Type.String(),
  ms: Type.Record(Type.String(), Type.Number()),
});
export type EmbedCanvasOutput = Static<typeof EmbedCanvasOutput>;

export const EMBED_API = {
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
  canvas: {
    name: 'canvas',
    summary: 'Pipeline stage: embed a canvas image (the object preprocess found, when it found one) and keep the vector, its perceptual hash and a thumbnail URL',
    subject: SUBJECTS.embedCanvas,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/embed/canvas' },
    role: 'operator',
    input: StageInput,
    output: EmbedCanvasOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_FETCH_TIMEOUT', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE', 'LOUPE_ERR_STORE'],
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
} as const satisfies Record<string, ApiDeclaration>;
