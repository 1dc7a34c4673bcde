import { LoupeError } from '@loupe/contracts';

/**
 * Collection names: one Qdrant collection per model and version,
 * `<prefix>__<model id>__<model version>`, e.g. `loupe__mobilenet-v2-features__4_2e2_2e1`.
 *
 * Why this shape:
 * - Only [a-z0-9-] is kept as it is; every other byte of the UTF-8 text (upper case, `.`, `_`,
 *   anything else) becomes `_` and two lower-case hex digits, like percent-encoding with `_`.
 *   Names stay within [a-zA-Z0-9_-], readable for Loupe's usual lower-case kebab ids, and
 *   distinct even where Qdrant's storage sits on a case-insensitive file system (`CLIP` and
 *   `clip` would otherwise share a directory).
 * - An escape is `_` followed by two hex digits, so an encoded part never holds `__` and never
 *   ends with `_`: `__` separates the parts unambiguously. The encoding is therefore reversible,
 *   and the name alone tells which model and version a collection holds (parseCollectionName):
 *   the store lists its collections from Qdrant itself, with no registry to keep in step.
 * - The prefix (default `loupe`) lets several Loupe installations, or test runs, share a cluster.
 *   It may not hold `__` nor start or end with `_`, so no prefix's names ever start with
 *   another prefix followed by `__`: each store sees only its own collections.
 */

export const DEFAULT_COLLECTION_PREFIX = 'loupe';

/** Qdrant keeps a collection in a directory named after it; 255 bytes is the usual file-name limit. */
export const MAX_COLLECTION_NAME_LENGTH = 255;

const SEPARATOR = '__';
const PREFIX_PATTERN = /^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/;
const ENCODED_PART = /^(?:[a-z0-9-]|_[0-9a-f]{2})+$/;
const KEPT = /[a-z0-9-]/;

/** Refuses a prefix that could make two stores' names meet (see above). */
export function assertCollectionPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new LoupeError(
      'LOUPE_ERR_CONFIG_INVALID',
      `Qdrant collection prefix ${JSON.stringify(prefix)}: use letters, digits, '-' and single '_' (not first, last or doubled)`,
      { details: { collectionPrefix: prefix } },
    );
  }
}

/** One part (model id or version), escaped to [a-z0-9_-]. */
export function encodeNamePart(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && KEPT.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The text of an encoded part, or undefined when `part` is not one encodeNamePart would write. */
export function decodeNamePart(part: string): string | undefined {
  if (!ENCODED_PART.test(part)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    if (part[i] === '_') {
      bytes.push(Number.parseInt(part.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(part.charCodeAt(i));
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  // Only the canonical spelling counts (e.g. `_61` for `a` is not), so one pair has one name.
  return encodeNamePart(text) === part ? text : undefined;
}

/** The collection of one model and version. Too long a name is LOUPE_ERR_VALIDATION. */
export function collectionName(prefix: string, modelId: string, modelVersion: string): string {
  assertCollectionPrefix(prefix);
  const name = `${prefix}${SEPARATOR}${encodeNamePart(modelId)}${SEPARATOR}${encodeNamePart(modelVersion)}`;
  if (name.length > MAX_COLLECTION_NAME_LENGTH) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `The Qdrant collection name for ${modelId}@${modelVersion} would be ${name.length} characters, more than ${MAX_COLLECTION_NAME_LENGTH}`,
      { details: { modelId, modelVersion } },
    );
  }
  return name;
}

/** The model id and version a collection name stands for, or undefined when it is not one of this prefix's. */
export function parseCollectionName(prefix: string, name: string): { modelId: string; modelVersion: string } | undefined {
  const head = `${prefix}${SEPARATOR}`;
  if (!name.startsWith(head)) return undefined;
  const rest = name.slice(head.length);
  const cut = rest.indexOf(SEPARATOR);
  if (cut < 0) return undefined;
  const modelId = decodeNamePart(rest.slice(0, cut));
  const modelVersion = decodeNamePart(rest.slice(cut + SEPARATOR.length));
  return modelId === undefined || modelVersion === undefined ? undefined : { modelId, modelVersion };
}
