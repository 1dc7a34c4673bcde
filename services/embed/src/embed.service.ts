import {
  LoupeError,
  SERVICE_APIS,
  defineHandler,
  stageResult,
  type AnalysisOutput,
  type EmbedImageOutput,
  type ImageRef,
  type SearchFilter,
  type SearchInput,
  type SearchOutput,
  type ServiceDefinition,
} from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import { describeModels, findModel, perceptualHash, prepareImage, type ImageEmbedder, type ModelRegistryLike, type TextEmbedder } from '@loupe/inference';
import {
  clusterImages,
  clustersCsv,
  collectionNeighbours,
  duplicatesCsv,
  findDuplicates,
  pointId,
  readPoints,
  type VectorCollection,
  type VectorFilter,
  type VectorCollectionSpec,
  type VectorPoint,
  type VectorStore,
} from '@loupe/vectors';

export interface EmbedDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
  readonly fetcher: Fetcher;
  /** Opens an image-embedding card through the process's inference engine (loaded once per id). */
  readonly embedder: (modelId: string) => Promise<ImageEmbedder>;
  /** Opens the text-embedding card for text queries (CLIP's text tower), once. */
  readonly textEmbedder?: () => Promise<TextEmbedder>;
  /** The model used when a request or pipeline names none (LOUPE_EMBED_MODEL). */
  readonly defaultModel: string;
  /** Where vectors are kept and searched: embedded index or Qdrant. */
  readonly vectors: VectorStore;
  /** int8 quantisation for new collections where the vector store supports it. */
  readonly quantization?: 'none' | 'int8';
}

/** Models take small inputs (224 px for MobileNetV2): fetch a little more so resizing stays sharp. */
function fetchSize(card: { input: { width?: number | undefined; height?: number | undefined } }): { width: number; height: number } {
  const w = card.input.width ?? 224;
  const h = card.input.height ?? 224;
  return { width: Math.max(64, Math.ceil(w * 1.5)), height: Math.max(64, Math.ceil(h * 1.5)) };
}

/** The port's filter from the API's (which names `manifest` as users do). */
export function toVectorFilter(filter: SearchFilter | undefined): VectorFilter | undefined {
  if (!filter) return undefined;
  return {
    ...(filter.manifest !== undefined && { manifestId: filter.manifest }),
    ...(filter.collection !== undefined && { collection: filter.collection }),
    ...(filter.rights !== undefined && { rights: filter.rights }),
    ...(filter.concept !== undefined && { concept: filter.concept }),
  };
}

/** An image URL as a ImageRef: an info.json or an Image API request goes through its service, anything else is a plain image. */
export function imageRefOfUrl(url: string): ImageRef {
  const info = /^(.*)\/info\.json$/.exec(url);
  const request = /^(.*)\/(full|square|pct:[^/]+|\d+,\d+,\d+,\d+)\/[^/]+\/!?\d*\.?\d*\/(default|color|gray|grey|bitonal|native)\.\w+$/.exec(url);
  const base = info?.[1] ?? request?.[1];
  // The Image API version is read from info.json by the fetcher; 3 is only where the planner starts.
  return base ? { id: url, service: { id: base, version: 3, level: null } } : { id: url };
}

/**
 * Image embeddings for similarity search, duplicates and clustering. Every vector is
 * L2-normalised and kept in the collection of the model and version that made it, with the
 * image's 64-bit DCT perceptual hash (exact and near duplicates) and a IIIF thumbnail URL.
 */
export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  // An embedder is loaded once per model, so its card's input size is read once too (a card
  // lookup lists the models folder and checks every file of the task's models).
  const fetchSizes = new WeakMap<ImageEmbedder, { width: number; height: number }>();
  const fetchSizeOf = (embedder: ImageEmbedder) => {
    let size = fetchSizes.get(embedder);
    if (!size) fetchSizes.set(embedder, (size = fetchSize(findModel(deps.models, 'image-embedding', embedder.model.id).card)));
    return size;
  };

  const collectionOf = (embedder: ImageEmbedder, dims: number): Promise<VectorCollection> =>
    deps.vectors.collection({ modelId: embedder.model.id, modelVersion: embedder.model.version, dims, ...(deps.quantization && { quantization: deps.quantization }) });

  // Collections once seen to exist, by model: the store keeps their handles, so asking again is
  // cheap, while listing them (a round trip per collection on Qdrant) is not.
  const existing = new Map<string, VectorCollectionSpec>();
  /** The model's collection when it already holds vectors; a lookup never creates one. */
  async function existingCollection(embedder: ImageEmbedder): Promise<VectorCollection | undefined> {
    const key = `${embedder.model.id}\u0000${embedder.model.version}`;
    let spec = existing.get(key);
    if (!spec) {
      spec = (await deps.vectors.collections()).find((c) => c.modelId === embedder.model.id && c.modelVersion === embedder.model.version);
      if (spec) existing.set(key, spec);
    }
    return spec ? deps.vectors.collection(spec) : undefined;
  }

  async function embedOne(modelId: string, fetch: (size: { width: number; height: number }) => Promise<CanvasImage>, signal?: AbortSignal) {
    const embedder = await deps.embedder(modelId);
    const started = performance.now();
    const image = await fetch(fetchSizeOf(embedder));
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
      return { model: { id: embedder.model.id, version: embedder.model.version }, id, dims: vector.length, phash, ms };
    },
  });

  /** The query vector, the collection to search, and the point to leave out of the hits. */
  async function queryOf(input: SearchInput, signal: AbortSignal): Promise<{ query: SearchOutput['query']; vector: Float32Array; collection: VectorCollection; exclude?: string }> {
    const given = (['canvas', 'image', 'url', 'upload', 'text'] as const).filter((k) => input[k] !== undefined);
    if (given.length !== 1) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `a search needs exactly one of canvas, image, url, upload or text; got ${given.length === 0 ? 'none' : given.join(', ')}`, {
        details: { given },
      });
    }
    const query = given[0]!;
    if (query === 'text') {
      if (!deps.textEmbedder) throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', 'text search needs a text-embedding model (LOUPE_TEXT_MODEL); none is configured');
      const text = await deps.textEmbedder();
      if (input.model !== undefined && input.model !== text.imageModel) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `text queries search the vectors of ${text.imageModel} (the image model of ${text.model.id}), not ${input.model}`);
      }
      const embedder = await deps.embedder(text.imageModel);
      const [vector] = await text.embed([input.text!], { signal });
      return { query, vector: vector!, collection: await collectionOf(embedder, vector!.length) };
    }
    const embedder = await deps.embedder(input.model ?? deps.defaultModel);
    if (query === 'canvas') {
      const id = pointId(input.canvas!.id, input.canvas!.imageIndex);
      const collection = await existingCollection(embedder);
      const point = await collection?.get(id);
      if (!collection || !point) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `canvas ${input.canvas!.id} (image ${input.canvas!.imageIndex}) has no ${embedder.model.id} ${embedder.model.version} embedding; run the embed pipeline on its manifest first`, {
          details: { canvas: input.canvas!.id, imageIndex: input.canvas!.imageIndex, model: embedder.model.id },
        });
      }
      return { query, vector: point.vector, collection, exclude: id };
    }
    let vector: Float32Array;
    if (query === 'upload') {
      const bytes = Buffer.from(input.upload!.data, 'base64');
      if (bytes.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'upload.data is empty or not base64');
      vector = await embedder.embed(await prepareImage(bytes), { signal });
    } else {
      const ref = query === 'url' ? imageRefOfUrl(input.url!) : input.image!;
      const size = fetchSizeOf(embedder);
      const image = await fetchCanvasImage(deps.fetcher, ref, { width: ref.width ?? size.width, height: ref.height ?? size.height }, { fit: size });
      vector = await embedder.embed(image, { signal });
    }
    return { query, vector, collection: await collectionOf(embedder, vector.length) };
  }

  const search = defineHandler({
    ...SERVICE_APIS['embed'].search,
    async handler(input, ctx): Promise<SearchOutput> {
      const { query, vector, collection, exclude } = await queryOf(input, ctx.signal);
      const filter = toVectorFilter(input.filter);
      const hits = await collection.search(vector, {
        limit: input.limit,
        offset: input.offset,
        ...(filter && { filter }),
        ...(input.minScore !== undefined && { minScore: input.minScore }),
        ...(exclude && { excludeIds: [exclude] }),
      });
      return {
        model: { id: collection.spec.modelId, version: collection.spec.modelVersion },
        query,
        limit: input.limit,
        offset: input.offset,
        hits: hits.map((h) => ({
          canvasId: h.payload.canvasId,
          imageIndex: h.payload.imageIndex,
          manifestId: h.payload.manifestId,
          score: Math.round(h.score * 1e6) / 1e6,
          ...(h.payload.thumbnail && { thumbnail: h.payload.thumbnail }),
          ...(h.payload.rights && { rights: h.payload.rights }),
        })),
      };
    },
  });

  /** The collection of the model, and the filter that picks the source's images: its collection, else its manifest. */
  async function scopeOf(source: string, model: string | undefined): Promise<{ collection: VectorCollection; filter: VectorFilter; scope: 'collection' | 'manifest'; images: number }> {
    const embedder = await deps.embedder(model ?? deps.defaultModel);
    const collection = await existingCollection(embedder);
    if (collection) {
      for (const [scope, filter] of [
        ['collection', { collection: source }],
        ['manifest', { manifestId: source }],
      ] as const) {
        const images = await collection.count(filter);
        if (images > 0) return { collection, filter, scope, images };
      }
    }
    throw new LoupeError(
      'LOUPE_ERR_NOT_FOUND',
      `no image of ${source} is embedded with ${embedder.model.id} ${embedder.model.version}; run: loupe run ${source} --pipeline embed`,
      { details: { source, model: embedder.model.id, version: embedder.model.version } },
    );
  }

  /** What an analysis answers: the report, what it covered, and the CSV when asked for. */
  function analysisOutput(
    input: { source: string; format: 'json' | 'csv' },
    scope: { collection: VectorCollection; scope: 'collection' | 'manifest'; images: number },
    started: number,
    report: object,
    csv: () => string,
  ): AnalysisOutput {
    return {
      model: { id: scope.collection.spec.modelId, version: scope.collection.spec.modelVersion },
      source: input.source,
      scope: scope.scope,
      images: scope.images,
      ms: Math.round(performance.now() - started),
      report: report as Record<string, unknown>,
      ...(input.format === 'csv' && { csv: csv() }),
    };
  }

  const duplicates = defineHandler({
    ...SERVICE_APIS['embed'].duplicates,
    async handler(input, ctx): Promise<AnalysisOutput> {
      const started = performance.now();
      const { collection, filter, scope, images } = await scopeOf(input.source, input.model);
      // Payloads only: the similar tier asks the index for each image's neighbours, so 100,000
      // images never sit in memory as vectors.
      const points = await readPoints(collection, { filter, vectors: false });
      const report = await findDuplicates(points, {
        neighbours: collectionNeighbours(collection, { filter }),
        ...(input.nearHamming !== undefined && { nearHamming: input.nearHamming }),
        ...(input.similarCosine !== undefined && { similarCosine: input.similarCosine }),
        ...(input.k !== undefined && { k: input.k }),
        onProgress: () => ctx.working(),
      });
      return analysisOutput(input, { collection, scope, images }, started, report, () => duplicatesCsv(report));
    },
  });

  const clusters = defineHandler({
    ...SERVICE_APIS['embed'].clusters,
    async handler(input): Promise<AnalysisOutput> {
      const started = performance.now();
      const { collection, filter, scope, images } = await scopeOf(input.source, input.model);
      if (input.kMin !== undefined && input.kMax !== undefined && input.kMin > input.kMax) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `kMin (${input.kMin}) is above kMax (${input.kMax})`);
      }
      const points = (await readPoints(collection, { filter })) as { id: string; vector: Float32Array; payload: VectorPoint['payload'] }[];
      const report = clusterImages(points, {
        ...(input.k !== undefined && { k: input.k }),
        ...(input.kMin !== undefined && { kMin: input.kMin }),
        ...(input.kMax !== undefined && { kMax: input.kMax }),
        ...(input.central !== undefined && { central: input.central }),
        ...(input.seed !== undefined && { seed: input.seed }),
      });
      return analysisOutput(input, { collection, scope, images }, started, report, () => clustersCsv(report));
    },
  });

  return {
    name: 'embed',
    version: '0.3.0',
    description: 'Embeds canvas images (L2-normalised vectors with model id and version, perceptual hashes) and searches them: similar images, duplicates, clusters',
    handlers: [image, canvas, search, duplicates, clusters],
    readiness: () => ({ default: deps.defaultModel, vectors: deps.vectors.kind, models: describeModels(deps.models, 'image-embedding') }),
  };
}
