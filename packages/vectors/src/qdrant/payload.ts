import type { Schemas } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { SearchHit, VectorPayload, VectorPoint } from '../port.js';
import { qdrantPointId } from './ids.js';

/**
 * Points as Qdrant stores them: the payload is the VectorPayload as it is (the fields search
 * filters on stay top-level keys, lists stay lists, so the payload indexes and filter.ts see
 * them directly) plus `loupeId`, the Loupe point id, which the UUID point id cannot give back.
 */

export const LOUPE_ID_KEY = 'loupeId';

export type QdrantPayload = Schemas['Payload'];
export type QdrantPointStruct = Schemas['PointStruct'];

/** The stored payload of a point: its fields (undefined ones left out) and its Loupe id. */
export function encodePayload(id: string, payload: VectorPayload): QdrantPayload {
  const out: QdrantPayload = {};
  for (const [key, value] of Object.entries(payload)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
  out[LOUPE_ID_KEY] = id;
  return out;
}

function corrupt(message: string, details: Record<string, unknown>): LoupeError {
  // Not retryable: another attempt reads the same point. Typically written by something other than Loupe.
  return new LoupeError('LOUPE_ERR_INTERNAL', message, { details });
}

/** The Loupe id and VectorPayload of a stored payload; a payload Loupe did not write is LOUPE_ERR_INTERNAL. */
export function decodePayload(stored: QdrantPayload | null | undefined, where: { collection: string; pointId: unknown }): { id: string; payload: VectorPayload } {
  if (!stored || typeof stored !== 'object') throw corrupt(`Point ${String(where.pointId)} in Qdrant collection ${where.collection} has no payload`, where);
  const { [LOUPE_ID_KEY]: id, ...rest } = stored;
  if (typeof id !== 'string' || typeof rest.canvasId !== 'string' || typeof rest.manifestId !== 'string' || typeof rest.imageIndex !== 'number') {
    throw corrupt(`Point ${String(where.pointId)} in Qdrant collection ${where.collection} has no Loupe payload (loupeId, canvasId, imageIndex, manifestId)`, where);
  }
  return { id, payload: rest as unknown as VectorPayload };
}

/** A point as Qdrant's upsert takes it: UUID id, the vector as plain numbers, the encoded payload. */
export function toQdrantPoint(point: VectorPoint): QdrantPointStruct {
  return { id: qdrantPointId(point.id), vector: Array.from(point.vector), payload: encodePayload(point.id, point.payload) };
}

/** A retrieved or scrolled record (with payload and vector) as a VectorPoint. */
export function fromQdrantRecord(record: Schemas['Record'], collection: string): VectorPoint {
  const { id, payload } = decodePayload(record.payload, { collection, pointId: record.id });
  const vector = record.vector;
  if (!Array.isArray(vector) || !vector.every((v) => typeof v === 'number')) {
    throw corrupt(`Point ${id} in Qdrant collection ${collection} has no single dense vector`, { collection, pointId: record.id });
  }
  return { id, vector: Float32Array.from(vector as number[]), payload };
}

/** A scored point of a query as a SearchHit: Qdrant's Cosine score is the cosine itself. */
export function fromQdrantHit(hit: Schemas['ScoredPoint'], collection: string): SearchHit {
  const { id, payload } = decodePayload(hit.payload, { collection, pointId: hit.id });
  return { id, score: hit.score, payload };
}
