import { Type, type Static } from '@sinclair/typebox';
import { AnnotationPage, AnnotationsQuery } from './annotation.js';
import { HarvestInput, HarvestOutput } from './harvest.js';
import { SearchInput, SearchOutput } from './search.js';
import { AnalysisOutput, ClustersInput, DuplicatesInput } from './analysis.js';
import type { HandlerDeclaration } from './service.js';
import { SUBJECTS } from './subjects.js';
import { ImageRef } from './task.js';

/** A request/reply handler's declaration without its implementation: what a caller in another process needs. */
export type ApiDeclaration = Omit<HandlerDeclaration, 'handler'>;

export const ModelRunInput = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'Id of the model to run' }),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
    image: ImageRef,
  },
  { $id: 'ModelRunInput' },
);

const ModelRunOutput = Type.Object({}, { additionalProperties: true });

export const EmbedImageInput = Type.Object(
  {
    model: Type.Optional(Type.String({ minLength: 1, description: 'Id of an image-embedding model; the configured default (LOUPE_EMBED_MODEL) when absent' })),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) })),
    image: ImageRef,
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

function modelApi(subject: string, url: string, summary: string) {
  return {
    name: 'image',
    summary,
    subject,
    mode: 'request',
    route: { method: 'POST', url },
    input: ModelRunInput,
    output: ModelRunOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
  } as const satisfies ApiDeclaration;
}

/**
 * The request/reply APIs of the services, by owning service. Each service implements its own; a
 * gateway process that does not run a service mounts that service's routes as proxies over the
 * bus, so the public HTTP API is the same in one process and in many.
 */
export const SERVICE_APIS = {
  'iiif-fetcher': {
    harvest: {
      name: 'harvest',
      summary: 'Harvest a IIIF manifest or collection into one task per canvas image',
      subject: SUBJECTS.harvest,
      mode: 'request',
      route: { method: 'POST', url: '/v1/harvest' },
      input: HarvestInput,
      output: HarvestOutput,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_IIIF_NOT_IIIF', 'LOUPE_ERR_IIIF_NOT_JSON', 'LOUPE_ERR_FETCH_HTTP'],
    },
  },
  'ground-truth': {
    annotations: {
      name: 'annotations',
      summary: 'Annotations as a IIIF AnnotationPage, filtered by canvas, manifest, motivation, model or review state',
      subject: SUBJECTS.annotationsQuery,
      mode: 'request',
      route: { method: 'GET', url: '/v1/annotations' },
      input: AnnotationsQuery,
      output: AnnotationPage,
      errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE'],
    },
  },
  classify: { image: modelApi(SUBJECTS.classifyImage, '/v1/classify', 'Classify a canvas image into a vocabulary with the named model') },
  embed: {
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
    },
  },
  caption: { image: modelApi(SUBJECTS.captionImage, '/v1/caption', 'Caption a canvas image with the named model') },
} as const satisfies Record<string, Record<string, ApiDeclaration>>;
