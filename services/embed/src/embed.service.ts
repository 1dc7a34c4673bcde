import { LoupeError, SERVICE_APIS, defineHandler, stageResult, type EmbedImageOutput, type ImageRef, type ServiceDefinition, type StageInput } from '@loupe/contracts';
import { fetchCanvasImage, fetchHints } from '@loupe/iiif';
import { describeModels, type ImageEmbedder } from '@loupe/inference';
import { pointId } from '@loupe/vectors';
import { analysisHandlers } from './analysis.handlers.js';
import { embedModels, type EmbedDeps } from './embed-models.js';
import { describeFaces, detectedFaces } from './face-descriptors.js';
import { searchHandler } from './search.handler.js';
import { createPeople } from './people.js';
import { peopleHandlers } from './people.handlers.js';

export type { EmbedDeps };
export { imageRefOfUrl, toVectorFilter } from './search.handler.js';

/**
 * Image embeddings for similarity search, duplicates and clustering. Every vector is
 * L2-normalised and kept in the collection of the model and version that made it, with the
 * image's 64-bit DCT perceptual hash (exact and near duplicates) and a IIIF thumbnail URL.
 */
export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  const models = embedModels(deps);
  const { embedOne, collectionOf } = models;

  const image = defineHandler({
    ...SERVICE_APIS['embed'].image,
    async handler(input, ctx): Promise<EmbedImageOutput> {
      const modelId = input.model ?? deps.defaultModel;
      const ref: ImageRef = input.image;
      const canvas = input.canvas ?? (ref.width && ref.height ? { width: ref.width, height: ref.height } : undefined);
      const { embedder, image, vector, phash } = await embedOne(
        modelId,
        (size) => fetchCanvasImage(deps.fetcher, ref, canvas ?? { width: size.width, height: size.height }, { fit: size }, fetchHints(input.hints)),
        ctx.signal,
      );
      return { model: { id: embedder.model.id, version: embedder.model.version }, dims: vector.length, vector: Array.from(vector), phash, request: image.request };
    },
  });

  const canvas = defineHandler({
    ...SERVICE_APIS.embed.canvas,
    async handler({ task, results, options }, ctx) {
      const modelId = typeof options['model'] === 'string' ? options['model'] : deps.defaultModel;
      const prepared = stageResult(results, 'preprocess');
      const { embedder, image, vector, phash, ms } = await embedOne(
        modelId,
        (size) => fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, { fit: size }, fetchHints(prepared)),
        ctx.signal,
      );
      ctx.working();
      const id = pointId(task.canvasId, task.imageIndex);
      const collection = await collectionOf(embedder, vector.length);
      // An upsert by id: a redelivered task writes the same point again, never a second one.
      await collection.upsert([
        {
          id,
          vector,
          payload: {
            canvasId: task.canvasId,
            imageIndex: task.imageIndex,
            manifestId: task.manifestId,
            phash,
            // A request for the model's input size (the pixels may have been cut from the job's shared
            // request): a real, small IIIF URL of this image.
            thumbnail: image.sizedRequest,
            ...(task.rights && { rights: task.rights }),
            ...(task.collections && { collections: task.collections }),
          },
        },
      ]);
      const facesStarted = performance.now();
      const faces = await describeFacesOf({ task, results }, ctx.signal);
      return { model: { id: embedder.model.id, version: embedder.model.version }, id, dims: vector.length, phash, ms: faces === undefined ? ms : { ...ms, faces: performance.now() - facesStarted } };
    },
  });

  /**
   * Descriptors of the faces detect found, when the face model is installed: a pack without it
   * still embeds whole images. Undefined when nothing was described for want of the model.
   */
  async function describeFacesOf(input: { task: StageInput['task']; results: StageInput['results'] }, signal: AbortSignal): Promise<number | undefined> {
    if (!deps.faceEmbedder || detectedFaces(input.results).length === 0) return undefined;
    let faceEmbedder: ImageEmbedder;
    try {
      faceEmbedder = await deps.faceEmbedder();
    } catch (err) {
      if (err instanceof LoupeError && err.code === 'LOUPE_ERR_MODEL_NOT_INSTALLED') return undefined;
      throw err;
    }
    return describeFaces(input, { fetcher: deps.fetcher, embedder: faceEmbedder, collection: (dims) => collectionOf(faceEmbedder, dims) }, signal);
  }

  const search = searchHandler(models, deps.texts);
  const [duplicates, clusters] = analysisHandlers(models);

  return {
    name: 'embed',
    version: '0.3.0',
    description: 'Embeds canvas images (L2-normalised vectors with model id and version, perceptual hashes) and searches them: similar images, duplicates, clusters',
    handlers: [image, canvas, search, duplicates, clusters, ...peopleHandlers(createPeople({ vectors: deps.vectors, registry: deps.people, names: deps.names }))],
    readiness: () => ({ default: deps.defaultModel, vectors: deps.vectors.kind, models: describeModels(deps.models, 'image-embedding') }),
  };
}
