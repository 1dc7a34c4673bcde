import type { Schemas } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { VectorFilter } from '../port.js';
import { qdrantPointId } from './ids.js';

export type QdrantFilter = Schemas['Filter'];
export type QdrantCondition = Schemas['Condition'];

/**
 * Which payload key each VectorFilter field reads. `collections` and `concepts` are lists in the
 * payload; Qdrant matches a list when any of its elements matches, which is what "the manifest
 * was harvested through this collection" and "the image shows this concept" mean.
 */
export const FILTER_KEYS = {
  manifestId: 'manifestId',
  collection: 'collections',
  rights: 'rights',
  concept: 'concepts',
} as const satisfies Record<keyof VectorFilter, string>;

const FIELDS = Object.keys(FILTER_KEYS) as (keyof VectorFilter)[];

function invalid(message: string, field?: string): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, field ? { details: { field } } : undefined);
}

/**
 * A VectorFilter (and the ids a search leaves out) as a Qdrant filter: every field given is one
 * `must` condition, a single value by `match.value`, a list by `match.any` (any of its values);
 * excluded ids are one `must_not` `has_id` condition on the derived point ids.
 *
 * Returns undefined when nothing is filtered, and null when no point can match (a field given an
 * empty list: "any of no values"), so that callers answer at once instead of asking Qdrant a
 * question whose reading of an empty `any` is not something to depend on.
 *
 * An unknown field or a value that is not a string is LOUPE_ERR_VALIDATION: silently ignoring a
 * misspelt `rights` would return images the caller meant to leave out.
 */
export function toQdrantFilter(filter?: VectorFilter, excludeIds?: readonly string[]): QdrantFilter | undefined | null {
  const must: QdrantCondition[] = [];
  if (filter !== undefined) {
    if (filter === null || typeof filter !== 'object') throw invalid('A vector filter must be an object');
    for (const key of Object.keys(filter)) {
      if (!Object.hasOwn(FILTER_KEYS, key)) throw invalid(`Unknown vector filter field ${JSON.stringify(key)} (known: ${FIELDS.join(', ')})`, key);
    }
    for (const field of FIELDS) {
      const value = filter[field];
      if (value === undefined) continue;
      const key = FILTER_KEYS[field];
      if (typeof value === 'string') {
        must.push({ key, match: { value } });
      } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
        if (value.length === 0) return null;
        must.push({ key, match: { any: [...(value as readonly string[])] } });
      } else {
        throw invalid(`Vector filter field ${field} must be a string or a list of strings`, field);
      }
    }
  }
  const out: QdrantFilter = {};
  if (must.length > 0) out.must = must;
  if (excludeIds !== undefined) {
    if (!Array.isArray(excludeIds) || !excludeIds.every((id) => typeof id === 'string')) throw invalid('excludeIds must be a list of point ids');
    if (excludeIds.length > 0) out.must_not = [{ has_id: excludeIds.map(qdrantPointId) }];
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
