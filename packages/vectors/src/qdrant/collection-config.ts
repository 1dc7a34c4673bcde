import type { Schemas } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { VectorCollectionSpec } from '../port.js';

/** Qdrant's largest dense vector. */
export const MAX_DIMS = 65_536;

/**
 * The body that creates a model's collection: one unnamed dense vector of the model's size,
 * Cosine distance (Qdrant normalises on write and scores by the inner product, so its score is
 * the cosine the port promises). With `quantization: 'int8'`, int8 scalar quantisation of the
 * stored vectors, kept in RAM, the 0.99 quantile bounding the range so that rare outliers do not
 * waste the 256 levels; searches then rescore with the original vectors (searchParams) so that
 * the scores handed back are still exact cosines.
 */
export function createCollectionBody(spec: Pick<VectorCollectionSpec, 'dims' | 'quantization'>): Schemas['CreateCollection'] {
  const body: Schemas['CreateCollection'] = { vectors: { size: spec.dims, distance: 'Cosine' } };
  if (spec.quantization === 'int8') body.quantization_config = { scalar: { type: 'int8', quantile: 0.99, always_ram: true } };
  return body;
}

/** The payload keys search filters on (filter.ts), indexed as keywords so filtered search stays fast. */
export const PAYLOAD_INDEXES: readonly Schemas['CreateFieldIndex'][] = [
  { field_name: 'manifestId', field_schema: 'keyword' },
  { field_name: 'collections', field_schema: 'keyword' },
  { field_name: 'rights', field_schema: 'keyword' },
  { field_name: 'concepts', field_schema: 'keyword' },
];

/** The payload indexes a collection still lacks, given its `payload_schema`. */
export function missingPayloadIndexes(payloadSchema: Schemas['CollectionInfo']['payload_schema'] | undefined): Schemas['CreateFieldIndex'][] {
  return PAYLOAD_INDEXES.filter((index) => !payloadSchema?.[index.field_name]);
}

/** Search params: on a quantised collection, rescore with the original vectors (exact cosines). */
export function searchParams(quantized: boolean): Schemas['SearchParams'] | undefined {
  return quantized ? { quantization: { rescore: true } } : undefined;
}

export interface CollectionShape {
  readonly dims: number;
  /** What the port can say about it: int8 scalar quantisation, or none. */
  readonly quantization: 'none' | 'int8';
  /** Whether any quantisation is configured (an operator may have set another kind): searches rescore. */
  readonly quantized: boolean;
}

type QuantizationLike = Schemas['QuantizationConfig'] | Record<string, unknown> | null | undefined;

function isScalarInt8(q: QuantizationLike): boolean {
  const scalar = q && typeof q === 'object' && 'scalar' in q ? (q.scalar as { type?: unknown } | undefined) : undefined;
  return scalar?.type === 'int8';
}

/**
 * The vector size and quantisation of an existing collection, read from Qdrant's own
 * configuration (so they can never disagree with what Qdrant enforces), or a description of why
 * it is not a collection Loupe made: named vectors, or a distance other than Cosine.
 */
export function describeCollection(info: { readonly config: { readonly params: { readonly vectors?: unknown }; readonly quantization_config?: unknown } }): CollectionShape | string {
  const vectors = info.config.params.vectors as Record<string, unknown> | undefined;
  if (!vectors || typeof vectors.size !== 'number') return 'it has named vectors or none, not one unnamed vector';
  if (vectors.distance !== 'Cosine') return `its distance is ${String(vectors.distance)}, not Cosine`;
  const own = vectors.quantization_config as QuantizationLike;
  const shared = info.config.quantization_config as QuantizationLike;
  const quantization = own ?? shared;
  return {
    dims: vectors.size,
    quantization: isScalarInt8(quantization) ? 'int8' : 'none',
    quantized: quantization !== null && quantization !== undefined,
  };
}

/** A spec as given, checked: what a collection name and creation body can be built from. */
export function checkSpec(spec: VectorCollectionSpec): VectorCollectionSpec {
  const bad = (message: string): LoupeError => new LoupeError('LOUPE_ERR_VALIDATION', message, { details: { spec } });
  if (!spec || typeof spec !== 'object') throw bad('A vector collection spec must be an object');
  if (typeof spec.modelId !== 'string' || spec.modelId.length === 0) throw bad('A vector collection spec needs a modelId');
  if (typeof spec.modelVersion !== 'string' || spec.modelVersion.length === 0) throw bad('A vector collection spec needs a modelVersion');
  if (!Number.isInteger(spec.dims) || spec.dims < 1 || spec.dims > MAX_DIMS) throw bad(`Vector dimensions must be an integer from 1 to ${MAX_DIMS}, not ${String(spec.dims)}`);
  if (spec.quantization !== undefined && spec.quantization !== 'none' && spec.quantization !== 'int8') throw bad(`Unknown quantization ${String(spec.quantization)} (none or int8)`);
  return spec;
}
