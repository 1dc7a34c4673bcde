import { LoupeError, isRecord } from '@loupe/contracts/core';
import { asArray, readTraits, serviceBase, type ComplianceLevel, type ImageApiVersion } from './image-service.js';
import type { ImageInfo } from './types.js';

interface Guarantees {
  readonly formats: readonly string[];
  readonly qualities: readonly string[];
  readonly features: readonly string[];
}

/**
 * What each compliance level guarantees, per version, in that version's own vocabulary
 * (https://iiif.io/api/image/3.0/compliance/, https://iiif.io/api/image/2.1/compliance/,
 * https://iiif.io/api/image/1.1/compliance.html; 1.1 named no features, so its rows use the 2.1 names).
 * Optional features count only when the info.json lists them.
 */
const GUARANTEES: Record<ImageApiVersion, Record<ComplianceLevel, Guarantees>> = {
  3: {
    0: { formats: ['jpg'], qualities: ['default'], features: [] },
    1: {
      formats: ['jpg'],
      qualities: ['default'],
      features: ['baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPx', 'regionSquare', 'sizeByH', 'sizeByW', 'sizeByWh'],
    },
    2: {
      formats: ['jpg', 'png'],
      qualities: ['default', 'color', 'gray'],
      features: [
        'baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPct', 'regionByPx', 'regionSquare',
        'rotationBy90s', 'sizeByConfinedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh',
      ],
    },
  },
  2: {
    0: { formats: ['jpg'], qualities: ['default'], features: [] },
    1: {
      formats: ['jpg'],
      qualities: ['default'],
      features: ['baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPx', 'sizeByH', 'sizeByPct', 'sizeByW'],
    },
    2: {
      formats: ['jpg', 'png'],
      qualities: ['default', 'color', 'gray', 'bitonal'],
      features: [
        'baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPct', 'regionByPx', 'rotationBy90s',
        'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByH', 'sizeByPct', 'sizeByW', 'sizeByWh',
      ],
    },
  },
  1: {
    // 1.1 requires no format at level 0; what a server serves is in its `formats`.
    0: { formats: [], qualities: ['native'], features: [] },
    1: { formats: ['jpg'], qualities: ['native'], features: ['regionByPx', 'rotationBy90s', 'sizeByH', 'sizeByPct', 'sizeByW'] },
    2: {
      formats: ['jpg', 'png'],
      qualities: ['native', 'color', 'grey', 'bitonal'],
      features: ['regionByPct', 'regionByPx', 'rotationBy90s', 'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByH', 'sizeByPct', 'sizeByW'],
    },
  },
};

/**
 * Reads an Image API 1.1, 2.x or 3.0 info.json into one shape. `document` is the URL (or path) it
 * came from: it names the document in errors and resolves a relative id. Throws LoupeError
 * LOUPE_ERR_IIIF_INFO_INVALID naming the document and the field when the image cannot be described.
 */
export function parseImageInfo(json: unknown, document: string): ImageInfo {
  const invalid = (field: string, problem: string): LoupeError =>
    new LoupeError('LOUPE_ERR_IIIF_INFO_INVALID', `${document} is not a valid Image API description: ${field} ${problem}`, {
      details: { document, field },
    });
  if (!isRecord(json)) throw invalid('the document', 'is not a JSON object');

  const traits = readTraits(json);
  // Without a version marker: `id` is 3.0's key, `@id` that of earlier versions.
  const version: ImageApiVersion = traits.version ?? (typeof json.id === 'string' ? 3 : 2);
  // An unknown or missing level is read as level 0: it only promises what every server can do.
  const level: ComplianceLevel = traits.level ?? 0;

  const rawId = typeof json.id === 'string' ? json.id : typeof json['@id'] === 'string' ? json['@id'] : undefined;
  if (rawId === undefined || rawId.trim() === '') throw invalid('"id"', 'is missing');
  const id = resolveId(rawId, document);

  const width = positiveInteger(json.width);
  if (width === undefined) throw invalid('"width"', `must be a positive integer below 2^31, got ${show(json.width)}`);
  const height = positiveInteger(json.height);
  if (height === undefined) throw invalid('"height"', `must be a positive integer below 2^31, got ${show(json.height)}`);

  // 2.x puts limits and extras in profile objects after the compliance URI; 3.0 at the top level.
  const profiles = asArray(json.profile).filter(isRecord);
  const limit = (key: 'maxWidth' | 'maxHeight' | 'maxArea'): number | undefined => {
    for (const source of [json, ...profiles]) {
      if (source[key] === undefined) continue;
      const value = positiveInteger(source[key], key === 'maxArea' ? Number.MAX_SAFE_INTEGER : MAX_SIDE);
      if (value === undefined) throw invalid(`"${key}"`, `must be a positive integer, got ${show(source[key])}`);
      return value;
    }
    return undefined;
  };
  const maxWidth = limit('maxWidth');
  const maxHeight = limit('maxHeight') ?? maxWidth;
  const maxArea = limit('maxArea');

  if (json.sizes !== undefined && !Array.isArray(json.sizes)) throw invalid('"sizes"', 'must be a list');
  if (json.tiles !== undefined && !Array.isArray(json.tiles)) throw invalid('"tiles"', 'must be a list');

  const guaranteed = GUARANTEES[version][level];
  const strings = (key: string): string[] =>
    [json, ...profiles].flatMap((source) => asArray(source[key]).filter((v): v is string => typeof v === 'string'));

  const info: { -readonly [K in keyof ImageInfo]: ImageInfo[K] } = {
    id,
    version,
    level,
    width,
    height,
    sizes: readSizes(json.sizes),
    tiles: version === 1 ? readTiles11(json) : readTiles(json.tiles),
    formats: unique([...guaranteed.formats, ...strings('formats'), ...strings('extraFormats')]),
    qualities: unique([...guaranteed.qualities, ...strings('qualities'), ...strings('extraQualities')]),
    features: unique([...guaranteed.features, ...strings('supports'), ...strings('extraFeatures')]),
  };
  if (maxWidth !== undefined) info.maxWidth = maxWidth;
  if (maxHeight !== undefined) info.maxHeight = maxHeight;
  if (maxArea !== undefined) info.maxArea = maxArea;
  return info;
}

/**
 * A relative id is resolved against the service base, the document without `/info.json`: a static
 * tile tree that says `"@id": "starfish"` in `.../starfish/info.json` means `.../starfish`, where
 * resolving against the document itself would give `.../starfish/starfish`.
 */
function resolveId(rawId: string, document: string): string {
  const id = rawId.trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(id)) return serviceBase(id);
  const base = serviceBase(document);
  if (!/^https?:\/\//i.test(base)) return serviceBase(id);
  try {
    return serviceBase(new URL(id, base).href);
  } catch {
    return serviceBase(id);
  }
}

/**
 * Entries of `sizes` without a sound width and height are dropped and the rest kept: each entry is
 * only an offer of a cheap request, so one malformed offer (v3-invalid-sizes.json lists
 * `{"width": 600}`) should not cost the whole image, whose own width and height are sound.
 */
function readSizes(value: unknown): { width: number; height: number }[] {
  const sizes: { width: number; height: number }[] = [];
  for (const entry of asArray(value)) {
    if (!isRecord(entry)) continue;
    const width = positiveInteger(entry.width);
    const height = positiveInteger(entry.height);
    if (width !== undefined && height !== undefined) sizes.push({ width, height });
  }
  return sizes.sort((a, b) => a.width * a.height - b.width * b.height);
}

/** Same policy as sizes: a malformed tile set is dropped, the others kept; `height` defaults to `width`. */
function readTiles(value: unknown): { width: number; height: number; scaleFactors: number[] }[] {
  const tiles: { width: number; height: number; scaleFactors: number[] }[] = [];
  for (const entry of asArray(value)) {
    if (!isRecord(entry)) continue;
    const tile = tileSet(entry.width, entry.height, entry.scaleFactors);
    if (tile) tiles.push(tile);
  }
  return tiles;
}

/** 1.1 describes one tile set with top-level `tile_width`, `tile_height` and `scale_factors`. */
function readTiles11(json: Record<string, unknown>): { width: number; height: number; scaleFactors: number[] }[] {
  if (json.tiles !== undefined) return readTiles(json.tiles);
  const tile = tileSet(json.tile_width, json.tile_height, json.scale_factors);
  return tile ? [tile] : [];
}

function tileSet(width: unknown, height: unknown, scaleFactors: unknown): { width: number; height: number; scaleFactors: number[] } | undefined {
  const w = positiveInteger(width);
  if (w === undefined) return undefined;
  const h = height === undefined ? w : positiveInteger(height);
  if (h === undefined) return undefined;
  const factors = unique(asArray(scaleFactors).filter((f): f is number => typeof f === 'number' && Number.isInteger(f) && f > 0)).sort((a, b) => a - b);
  return factors.length === 0 ? undefined : { width: w, height: h, scaleFactors: factors };
}

/** Past 2^31 a width or height is not an image's, and sizes computed from it stop being exact. */
const MAX_SIDE = 2 ** 31 - 1;

function positiveInteger(value: unknown, max = MAX_SIDE): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= max ? value : undefined;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** What was found instead, in a few words: a short excerpt of a string or number, else its kind (never the whole value). */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}
