import type { ApiDeclaration } from '@loupe/contracts';

type Json = Record<string, unknown>;

/** The schema OpenAPI gives a body of raw bytes. */
export const BINARY_SCHEMA = Object.freeze({ type: 'string', format: 'binary' });

/**
 * Text formats (ALTO, hOCR, CSV...) travel as strings; every other media type (images above all)
 * is bytes. `+xml` and `+json` suffixes are text whatever their main type says.
 */
export function isBinaryMediaType(mediaType: string | undefined): mediaType is string {
  if (mediaType === undefined) return false;
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('text/') || /\+(xml|json)$/.test(type)) return false;
  return !['application/xml', 'application/json', 'application/ld+json', 'application/javascript'].includes(type);
}

const isBinarySchema = (schema: unknown): boolean => !!schema && typeof schema === 'object' && (schema as Json).format === 'binary';

/**
 * The 200 response as OpenAPI and Fastify see it. A binary declaration's output may be bytes only
 * (a `format: 'binary'` schema), or bytes or JSON (`anyOf` of one and the other, as an overlay
 * that also answers `format=json`): the bytes are documented under the declared media type, what
 * is left under application/json. A text format is a string under its own type; no type is JSON.
 */
export function successResponse(decl: ApiDeclaration): unknown {
  if (!decl.mediaType) return decl.output;
  if (!isBinaryMediaType(decl.mediaType)) return { content: { [decl.mediaType]: { schema: decl.output } } };
  const output = decl.output as unknown as Json;
  const branches = Array.isArray(output.anyOf) ? (output.anyOf as unknown[]) : [output];
  const json = branches.filter((b) => !isBinarySchema(b));
  const content: Json = { [decl.mediaType]: { schema: { ...BINARY_SCHEMA } } };
  if (json.length > 0) content['application/json'] = { schema: json.length === 1 ? json[0] : { anyOf: json } };
  return { description: `${decl.mediaType}${json.length > 0 ? ', or JSON' : ''}`, content };
}

/** The bus carries JSON: bytes cross it as a base64 string (what `contentEncoding: base64` means in a schema). */
export function toBusValue(output: unknown): unknown {
  return output instanceof Uint8Array ? Buffer.from(output.buffer, output.byteOffset, output.byteLength).toString('base64') : output;
}

/**
 * The HTTP edge of a route served over the bus: a binary declaration's base64 string becomes
 * bytes again; its JSON alternative (an object) and every other output pass unchanged.
 */
export function fromBusValue(decl: Pick<ApiDeclaration, 'mediaType'>, value: unknown): unknown {
  return isBinaryMediaType(decl.mediaType) && typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

/** Bytes as Fastify sends them as they are (a Buffer over the same memory). */
export function asBuffer(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : undefined;
}
