import { Type } from '@sinclair/typebox';
import {
  SERVICE_APIS,
  SUBJECTS,
  StageInput,
  defineHandler,
  type EmbedImageOutput,
  type ImageRef,
  type ServiceDefinition,
} from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import { describeModels, findModel, perceptualHash, type ImageEmbedder, type ModelRegistryLike } from '@loupe/inference';
import type { EmbeddingStore } from '@loupe/store';

export interface EmbedDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
  readonly fetcher: Fetcher;
  /** Opens an image-embedding card through the process's inference engine (loaded once per id). */
  readonly embedder: (modelId: string) => Promise<ImageEmbedder>;
  /** The model used when a request or pipeline names none (LOUPE_EMBED_MODEL). */
  readonly defaultModel: string;
  /** Where the pipeline stage keeps what it computes. */
  readonly store: EmbeddingStore;
}

const CanvasEmbedOutput = Type.Object({
  model: Type.Object({ id: Type.String(), version: Type.String() }),
  dims: Type.Integer(),
  phash: Type.String(),
  stored: Type.Union([Type.Literal('inserted'), Type.Literal('replaced'), Type.Literal('unchanged')]),
  ms: Type.Record(Type.String(), Type.Number()),
});

/** Models take small inputs (224 px for MobileNetV2): fetch a little more so resizing stays sharp. */
function fetchSize(card: { input: { width?: number | undefined; height?: number | undefined } }): { width: number; height: number } {
  const w = card.input.width ?? 224;
  const h = card.input.height ?? 224;
  return { width: Math.max(64, Math.ceil(w * 1.5)), height: Math.max(64, Math.ceil(h * 1.5)) };
}

/**
 * Image embeddings for similarity search, duplicates and clustering. Every vector is
 * L2-normalised and comes with the model id and version that made it, and a 64-bit DCT
 * perceptual hash of the image for exact and near duplicates (Hamming distance).
 */
export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  const cardOf = (id: string) => findModel(deps.models, 'image-embedding', id).card;

  async function embedOne(modelId: string, fetch: (size: { width: number; height: number }) => Promise<CanvasImage>, signal?: AbortSignal) {
    const card = cardOf(modelId);
    const embedder = await deps.embedder(modelId);
    const started = performance.now();
    const image = await fetch(fetchSize(card));
    const fetched = performance.now();
    const [vector, phash] = await Promise.all([embedder.embed(image, signal ? { signal } : {}), perceptualHash(image)]);
    return { embedder, image, vector, phash, ms: { fetch: fetched - started, embed: performance.now() - fetched } };
  }

  const image = defineHandler({
    ...SERVICE_APIS['embed'].image,
    async handler(input, ctx): Promise<EmbedImageOutput> {
      const modelId = input.model ?? deps.defaultModel;
      const ref: ImageRef = input.image;
      const canvas = input.canvas ?? (ref.width && ref.height ? { width: ref.width, height: ref.height } : undefined);
      const { embedder, image, vector, phash } = await embedOne(
        modelId,
        (size) => fetchCanvasImage(deps.fetcher, ref, canvas ?? { width: size.width, height: size.height }, { fit: size }),
        ctx.signal,
      );
      return { model: { id: embedder.model.id, version: embedder.model.version }, dims: vector.length, vector: Array.from(vector), phash, request: image.request };
    },
  });

  const canvas = defineHandler({
    name: 'canvas',
    summary: 'Pipeline stage: embed a canvas image (the object preprocess found, when it found one) and keep the vector and its perceptual hash',
    subject: SUBJECTS.embedCanvas,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/embed/canvas' },
    input: StageInput,
    output: CanvasEmbedOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_FETCH_TIMEOUT', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE', 'LOUPE_ERR_STORE'],
    async handler({ task, results, options }, ctx) {
      const modelId = typeof options['model'] === 'string' ? options['model'] : deps.defaultModel;
      const { embedder, vector, phash, ms } = await embedOne(
        modelId,
        (size) => fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, { fit: size }, fetchHints(results['preprocess'])),
        ctx.signal,
      );
      ctx.working();
      const stored = await deps.store.put({
        manifestId: task.manifestId,
        canvasId: task.canvasId,
        imageIndex: task.imageIndex,
        modelId: embedder.model.id,
        modelVersion: embedder.model.version,
        vector,
        phash,
      });
      return { model: { id: embedder.model.id, version: embedder.model.version }, dims: vector.length, phash, stored, ms };
    },
  });

  return {
    name: 'embed',
    version: '0.2.0',
    description: 'Embeds canvas images (L2-normalised vectors with model id and version, and a perceptual hash) for similarity search, duplicates and clustering',
    handlers: [image, canvas],
    readiness: () => ({ default: deps.defaultModel, models: describeModels(deps.models, 'image-embedding') }),
  };
}
