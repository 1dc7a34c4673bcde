/**
 * The vector port: image embeddings kept for similarity search, duplicates and clusters. One
 * collection per embedding model and version (vectors of two models never meet), two adapters:
 * embedded (an on-disk approximate-nearest-neighbour index, the default) and Qdrant. Every adapter
 * passes the one contract suite (contract.ts).
 *
 * Vectors are L2-normalised by the embed service, so the score everywhere is the cosine similarity
 * (the inner product), 1 for identical directions.
 */

/** What travels with a vector: where the image is, and what search filters on. */
export interface VectorPayload {
  readonly canvasId: string;
  readonly imageIndex: number;
  readonly manifestId: string;
  /** The IIIF collections the manifest was harvested through, outermost first. */
  readonly collections?: readonly string[];
  /** The manifest's rights (Presentation 3 `rights`, 2.x `license`): a licence or rights statement URI. */
  readonly rights?: string;
  /** Concept URIs the image is known to show (accepted ground truth, classification). */
  readonly concepts?: readonly string[];
  /** 64-bit DCT perceptual hash, 16 lower-case hex digits. */
  readonly phash?: string;
  /** A IIIF Image API URL of a small version of the image, for result lists. */
  readonly thumbnail?: string;
}

export interface VectorPoint {
  /** Unique within a collection; Loupe uses `${canvasId}#${imageIndex}`. */
  readonly id: string;
  readonly vector: Float32Array;
  readonly payload: VectorPayload;
}

/** Every field given must match; a list matches any of its values. */
export interface VectorFilter {
  readonly manifestId?: string | readonly string[];
  readonly collection?: string | readonly string[];
  readonly rights?: string | readonly string[];
  readonly concept?: string | readonly string[];
}

export interface SearchOptions {
  /** Hits to return; 10 by default, at most 1000. */
  readonly limit?: number;
  /** Hits to skip first (paging); limit + offset at most 10,000. */
  readonly offset?: number;
  readonly filter?: VectorFilter;
  /** Hits scoring below this are left out. */
  readonly minScore?: number;
  /** Points never returned (e.g. the image the search started from). */
  readonly excludeIds?: readonly string[];
}

export interface SearchHit {
  readonly id: string;
  /** Cosine similarity, best first. */
  readonly score: number;
  readonly payload: VectorPayload;
}

export interface VectorCollectionSpec {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly dims: number;
  /** int8 scalar quantisation of the stored vectors where the adapter supports it (Qdrant); exact scores are rescored. */
  readonly quantization?: 'none' | 'int8';
}

export interface VectorCollection {
  readonly spec: VectorCollectionSpec;
  /** Inserts or replaces points by id: writing the same point twice leaves one. Vectors of the wrong length are refused. */
  upsert(points: readonly VectorPoint[]): Promise<void>;
  delete(ids: readonly string[]): Promise<void>;
  get(id: string): Promise<VectorPoint | undefined>;
  /** Nearest points by cosine similarity, best first. */
  search(vector: Float32Array, opts?: SearchOptions): Promise<SearchHit[]>;
  count(filter?: VectorFilter): Promise<number>;
  /** Every point (matching the filter), in batches, in a stable order: what duplicates and clusters read. */
  scroll(opts?: { filter?: VectorFilter; batch?: number }): AsyncIterable<VectorPoint[]>;
}

export interface VectorStore {
  readonly kind: 'embedded' | 'qdrant';
  /**
   * The collection of one model and version, created on first use. Asking again with other
   * dimensions is LOUPE_ERR_VALIDATION (a model version always has one size).
   */
  collection(spec: VectorCollectionSpec): Promise<VectorCollection>;
  /** The collections that exist, with their specs. */
  collections(): Promise<VectorCollectionSpec[]>;
  close(): Promise<void>;
}

/** Loupe's point id for an image of a canvas. */
export function pointId(canvasId: string, imageIndex: number): string {
  return `${canvasId}#${imageIndex}`;
}
