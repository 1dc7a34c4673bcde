import { LoupeError, SERVICE_APIS, defineHandler, type ImageRef, type SearchFilter, type SearchInput, type SearchOutput } from '@loupe/contracts';
import { fetchCanvasImage } from '@loupe/iiif';
import { prepareImage } from '@loupe/inference';
import { pointId, type VectorCollection, type VectorFilter, type VectorPayload } from '@loupe/vectors';
import type { EmbedModels } from './embed-models.js';
import { hybridHits, rankingDepth, type TextRanker, type Weights } from './hybrid-search.js';

/**
 * `embed.search`: similar images to a canvas, an image, a URL, an upload or a text; with words
 * (`q`), the canvases they find, fused with the visual ranking when an image is given too
 * (hybrid-search.ts). `texts` asks the ground-truth service; without it words are refused.
 */
export function searchHandler(models: EmbedModels, texts?: TextRanker) {
  const { deps, fetchSizeOf, collectionOf, existingCollection } = models;

  /** The query vector, the collection to search, and the point to leave out of the hits. */
  async function queryOf(input: SearchInput, signal: AbortSignal): Promise<{ query: SearchOutput['query']; vector: Float32Array; collection: VectorCollection; exclude?: string }> {
    const given = imagesOf(input);
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

  /** Words, alone or with an image: the rankings fused, each hit with why it matched. */
  async function withWords(input: SearchInput & { q: string }, signal: AbortSignal): Promise<SearchOutput> {
    if (!texts) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', 'searching by words needs the ground-truth service (its full-text index and concepts), which this process cannot reach');
    const weights: Weights = { text: input.weights?.text ?? 1, concept: input.weights?.concept ?? 1, visual: input.weights?.visual ?? 1 };
    const filter = toVectorFilter(input.filter);
    const withImage = imagesOf(input).length > 0;
    let collection: VectorCollection | undefined;
    let visual: { payload: VectorPayload; score: number }[] | undefined;
    if (withImage) {
      const q = await queryOf(input, signal);
      collection = q.collection;
      visual = await collection.search(q.vector, {
        limit: rankingDepth(input.limit, input.offset),
        ...(filter && { filter }),
        ...(input.minScore !== undefined && { minScore: input.minScore }),
        ...(q.exclude && { excludeIds: [q.exclude] }),
      });
    } else {
      collection = await wordsCollection(input.model);
    }
    const { hits, fusion } = await hybridHits({ q: input.q, weights, filter, limit: input.limit, offset: input.offset, collection, ...(visual && { visual }) }, texts, signal);
    return {
      ...(collection && { model: { id: collection.spec.modelId, version: collection.spec.modelVersion } }),
      query: withImage ? 'hybrid' : 'words',
      limit: input.limit,
      offset: input.offset,
      fusion,
      hits,
    };
  }

  /** The image model's collection, for the thumbnails and filters of what words found; none when that model is not installed or has embedded nothing. */
  async function wordsCollection(model: string | undefined): Promise<VectorCollection | undefined> {
    try {
      return await existingCollection(await deps.embedder(model ?? deps.defaultModel));
    } catch (err) {
      if (err instanceof LoupeError && err.code === 'LOUPE_ERR_MODEL_NOT_INSTALLED' && model === undefined) return undefined;
      throw err;
    }
  }

  return defineHandler({
    ...SERVICE_APIS['embed'].search,
    async handler(input, ctx): Promise<SearchOutput> {
      if (input.q !== undefined) return withWords({ ...input, q: input.q }, ctx.signal);
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

}

/** The image queries a search names (words aside). */
function imagesOf(input: SearchInput): ('canvas' | 'image' | 'url' | 'upload' | 'text')[] {
  return (['canvas', 'image', 'url', 'upload', 'text'] as const).filter((k) => input[k] !== undefined);
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

