import { createHash } from 'node:crypto';

/**
 * Qdrant point ids must be unsigned integers or UUIDs, and Loupe's ids are strings
 * (`${canvasId}#${imageIndex}`). A name-based UUID (RFC 4122 §4.3, version 5, SHA-1) turns one
 * into the other deterministically: the same image always lands on the same point, so an upsert
 * replaces rather than duplicates, and get/delete/excludeIds need no lookup table. The Loupe id
 * itself travels in the payload (payload.ts), because a UUID cannot be turned back.
 */

/**
 * RFC 4122's namespace for URLs (Appendix C). Loupe ids are canvas URIs with a fragment, so this
 * is their natural namespace, and anyone can recompute a point id with a stock UUID library,
 * e.g. Python's `uuid.uuid5(uuid.NAMESPACE_URL, id)`.
 */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidBytes(uuid: string): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new TypeError(`Not a UUID: ${uuid}`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The version-5 (SHA-1, name-based) UUID of `name` (UTF-8) in `namespace`, lower-case. */
export function uuidV5(name: string, namespace: string): string {
  const digest = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5 in the high nibble of time_hi_and_version
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // the RFC 4122 variant (10xx) in clock_seq_hi
  return formatUuid(bytes);
}

/** The Qdrant point id of a Loupe point id. */
export function qdrantPointId(loupeId: string): string {
  return uuidV5(loupeId, URL_NAMESPACE);
}
