import type { Schemas } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { SearchOptions, VectorFilter, VectorPoint } from '../port.js';
import { searchParams } from './collection-config.js';
import { toQdrantFilter } from './filter.js';
import { toQdrantPoint, type QdrantPointStruct } from './payload.js';

/**
 * The request bodies the adapter sends, built and checked here as plain data, so that everything
 * but the HTTP exchange is testable without a server. A builder returns null where the answer is
 * known to be empty (a filter no point can match) and Qdrant need not be asked.
 */

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 1000;
/** limit + offset at most this: deeper pages cost Qdrant limit + offset candidates each. */
export const MAX_WINDOW = 10_000;
/** Points per upsert request: a few hundred keeps a request well under Qdrant's body limit even at 2048 dimensions. */
export const UPSERT_BATCH = 256;
export const DEFAULT_SCROLL_BATCH = 256;
export const MAX_SCROLL_BATCH = 10_000;

/** What the builders need to know about the collection they address. */
export interface CollectionTarget {
  readonly name: string;
  readonly dims: number;
  readonly quantized: boolean;
}

function invalid(message: string, details?: Record<string, unknown>): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);
}

/** A vector as plain numbers, after checking its length and that every value is finite (JSON has no NaN). */
export function checkVector(vector: Float32Array, target: CollectionTarget, what: string): number[] {
  if (!vector || typeof vector.length !== 'number') throw invalid(`${what} has no vector`, { collection: target.name });
  if (vector.length !== target.dims) {
    throw invalid(`${what} has ${vector.length} dimensions; Qdrant collection ${target.name} holds ${target.dims}-dimensional vectors`, {
      collection: target.name,
      dims: target.dims,
      got: vector.length,
    });
  }
  const values = Array.from(vector);
  if (!values.every(Number.isFinite)) throw invalid(`${what} has a value that is not a finite number`, { collection: target.name });
  return values;
}

/**
 * Upsert batches for `points`, every point checked before any batch is built, so that a bad
 * point refuses the whole call with nothing written.
 */
export function upsertBatches(points: readonly VectorPoint[], target: CollectionTarget, batch = UPSERT_BATCH): QdrantPointStruct[][] {
  if (!Array.isArray(points)) throw invalid('upsert takes a list of points');
  const structs = points.map((point) => {
    if (!point || typeof point.id !== 'string' || point.id.length === 0) throw invalid('Every point needs a non-empty string id', { collection: target.name });
    if (!point.payload || typeof point.payload !== 'object') throw invalid(`Point ${point.id} has no payload`, { collection: target.name, id: point.id });
    checkVector(point.vector, target, `Point ${point.id}`);
    return toQdrantPoint(point);
  });
  const batches: QdrantPointStruct[][] = [];
  for (let i = 0; i < structs.length; i += batch) batches.push(structs.slice(i, i + batch));
  return batches;
}

/** Checks a list of point ids (get, delete). */
export function checkIds(ids: readonly string[]): void {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw invalid('Point ids must be a list of strings');
}

/** The body of a nearest-neighbour query (POST /collections/{name}/points/query). */
export function queryRequest(vector: Float32Array, opts: SearchOptions | undefined, target: CollectionTarget): Schemas['QueryRequest'] | null {
  const query = checkVector(vector, target, 'The query vector');
  const { limit = DEFAULT_LIMIT, offset = 0, minScore, filter, excludeIds } = opts ?? {};
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}, not ${String(limit)}`);
  if (!Number.isInteger(offset) || offset < 0) throw invalid(`offset must be a whole number, not ${String(offset)}`);
  if (limit + offset > MAX_WINDOW) throw invalid(`limit + offset must be at most ${MAX_WINDOW}, not ${limit + offset}`);
  if (minScore !== undefined && !Number.isFinite(minScore)) throw invalid(`minScore must be a finite number, not ${String(minScore)}`);
  const qfilter = toQdrantFilter(filter, excludeIds);
  if (qfilter === null) return null;
  const body: Schemas['QueryRequest'] = { query, limit, with_payload: true, with_vector: false };
  if (offset > 0) body.offset = offset;
  if (qfilter) body.filter = qfilter;
  if (minScore !== undefined) body.score_threshold = minScore;
  const params = searchParams(target.quantized);
  if (params) body.params = params;
  return body;
}

/** The body of an exact count (POST /collections/{name}/points/count). */
export function countRequest(filter?: VectorFilter): Schemas['CountRequest'] | null {
  const qfilter = toQdrantFilter(filter);
  if (qfilter === null) return null;
  return qfilter ? { filter: qfilter, exact: true } : { exact: true };
}

/**
 * The body of one scroll page (POST /collections/{name}/points/scroll). Qdrant scrolls in point
 * id order and hands back the id to continue from (`next_page_offset`), which is passed here as
 * `offset`: a stable order in which each point comes once, however the batches are sized.
 */
export function scrollRequest(opts: { filter?: VectorFilter; batch?: number } | undefined, offset?: Schemas['ExtendedPointId']): Schemas['ScrollRequest'] | null {
  const { filter, batch = DEFAULT_SCROLL_BATCH } = opts ?? {};
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_SCROLL_BATCH) throw invalid(`batch must be an integer from 1 to ${MAX_SCROLL_BATCH}, not ${String(batch)}`);
  const qfilter = toQdrantFilter(filter);
  if (qfilter === null) return null;
  const body: Schemas['ScrollRequest'] = { limit: batch, with_payload: true, with_vector: true };
  if (qfilter) body.filter = qfilter;
  if (offset !== undefined && offset !== null) body.offset = offset;
  return body;
}
