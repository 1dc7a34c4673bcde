import { LoupeError } from '@loupe/contracts';
import type { VectorCollectionSpec, VectorPoint } from '../port.js';

/** Every failure of the store leaves as LOUPE_ERR_STORE naming the operation; LoupeErrors pass as they are. */
export function storeError(operation: string, err: unknown, details?: Record<string, unknown>): LoupeError {
  if (err instanceof LoupeError) return err;
  return new LoupeError('LOUPE_ERR_STORE', `The vector store failed (${operation})`, { cause: err, details: { operation, ...details } });
}

export const invalid = (message: string, details?: Record<string, unknown>) => new LoupeError('LOUPE_ERR_VALIDATION', message, details ? { details } : undefined);

export function closedError(operation: string): LoupeError {
  return new LoupeError('LOUPE_ERR_STORE', 'The vector store is closed', { details: { operation } });
}

export function checkVector(v: unknown, spec: VectorCollectionSpec, what: string): asserts v is Float32Array {
  if (!(v instanceof Float32Array)) throw invalid(`${what}: the vector must be a Float32Array`);
  if (v.length !== spec.dims) {
    throw invalid(`${what}: the vector has ${v.length} dimensions; collection ${spec.modelId}@${spec.modelVersion} has ${spec.dims}`, {
      expected: spec.dims,
      actual: v.length,
    });
  }
  for (let k = 0; k < v.length; k++) if (!Number.isFinite(v[k]!)) throw invalid(`${what}: the vector has a non-finite value at ${k}`);
}

/**
 * The points of an upsert, checked before anything is written (a batch is stored whole or not at
 * all), one per id: the last write of an id wins, in its position.
 */
export function checkBatch(points: readonly VectorPoint[], spec: VectorCollectionSpec): VectorPoint[] {
  const byId = new Map<string, VectorPoint>();
  for (const p of points) {
    if (typeof p?.id !== 'string' || p.id === '') throw invalid('A point needs a non-empty string id');
    checkVector(p.vector, spec, `point ${p.id}`);
    if (typeof p.payload !== 'object' || p.payload === null || typeof p.payload.manifestId !== 'string') throw invalid(`point ${p.id}: the payload needs a manifestId`);
    byId.delete(p.id);
    byId.set(p.id, p);
  }
  return [...byId.values()];
}
