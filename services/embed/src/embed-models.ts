import type { CanvasImage, Fetcher } from '@loupe/iiif';
import { findModel, perceptualHash, type ImageEmbedder, type ModelRegistryLike, type TextEmbedder } from '@loupe/inference';
import type { VectorCollection, VectorCollectionSpec, VectorStore } from '@loupe/vectors';
import type { PeopleRegistry } from './people-registry.js';
import type { TextRanker } from './hybrid-search.js';
import type { NameWriter } from './people.js';

export interface EmbedDeps {
  /** Ranks canvases by words (the ground-truth service's full-text index and concepts), for hybrid search. */
  readonly texts?: TextRanker;
  /** Writes people's names into their faces' annotations (the ground-truth service, over the bus). */
  readonly names?: NameWriter;
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
  /** Opens the face-embedding card (faceres-embedding) once: the embed stage describes the faces detect found. */
  readonly faceEmbedder?: () => Promise<ImageEmbedder>;
  /** Curators' names, merges and splits of people; without it the people routes only read. */
  readonly people?: PeopleRegistry;
}

/** What the embed service's handlers share: the models, their input sizes and their vector collections. */
export interface EmbedModels {
  readonly deps: EmbedDeps;
  /** The size to fetch for an embedder's card. */
  fetchSizeOf(embedder: ImageEmbedder): { width: number; height: number };
  /** The model's collection, created when it is missing. */
  collectionOf(embedder: ImageEmbedder, dims: number): Promise<VectorCollection>;
  /** The model's collection when it already holds vectors; a lookup never creates one. */
  existingCollection(embedder: ImageEmbedder): Promise<VectorCollection | undefined>;
  /** Fetches an image at the embedder's size, then embeds and hashes it. */
  embedOne(
    modelId: string,
    fetch: (size: { width: number; height: number }) => Promise<CanvasImage>,
    signal?: AbortSignal,
  ): Promise<{ embedder: ImageEmbedder; image: CanvasImage; vector: Float32Array; phash: string; ms: { fetch: number; embed: number } }>;
}

export function embedModels(deps: EmbedDeps): EmbedModels {
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

  return { deps, fetchSizeOf, collectionOf, existingCollection, embedOne };
}

/** Models take small inputs (224 px for MobileNetV2): fetch a little more so resizing stays sharp. */
function fetchSize(card: { input: { width?: number | undefined; height?: number | undefined } }): { width: number; height: number } {
  const w = card.input.width ?? 224;
  const h = card.input.height ?? 224;
  return { width: Math.max(64, Math.ceil(w * 1.5)), height: Math.max(64, Math.ceil(h * 1.5)) };
}

