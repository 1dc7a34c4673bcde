/** What one image's Image API service offers; every field has a default. */
export interface ImageProfile {
  /** Image API version: 2 (2.1) or 3. Default 3. */
  readonly version?: 2 | 3;
  /** Compliance level. Default 2. */
  readonly level?: 0 | 1 | 2;
  /**
   * Sizes listed in info.json (and, at level 0, the only sizes served besides full/max): `true`
   * lists halvings of the full size down to ~64 px, `false` none. Default `true`.
   */
  readonly sizes?: readonly Size[] | boolean;
  /**
   * Tile grid listed in info.json (at level 0, the only region requests served): `true` is 256 px
   * tiles with scale factors 1, 2, 4... until one tile holds the image, `false` none.
   * Default `true`, except at level 0 where it is `false` unless asked for.
   * Level 0 "sizes only" is `{ level: 0 }`; "tiles only" is `{ level: 0, sizes: false, tiles: true }`.
   */
  readonly tiles?: TileSpec | boolean;
  readonly maxWidth?: number;
  /** Defaults to maxWidth when only that is given, as the spec tells clients to assume. */
  readonly maxHeight?: number;
  readonly maxArea?: number;
  /** Features beyond the level that the server advertises and honours (e.g. `mirroring`, `sizeUpscaling`). */
  readonly extraFeatures?: readonly string[];
  /** Qualities beyond the level (e.g. `bitonal` on v3, `gray` on level 1). */
  readonly extraQualities?: readonly string[];
  /** Formats beyond the level (`png`, `webp`). */
  readonly extraFormats?: readonly string[];
}

export interface Size {
  readonly width: number;
  readonly height: number;
}

export interface TileSpec {
  readonly width: number;
  readonly height?: number;
  readonly scaleFactors?: readonly number[];
}

/** A profile with every default applied, for one source image of known size. */
export interface ResolvedProfile {
  readonly version: 2 | 3;
  readonly level: 0 | 1 | 2;
  readonly width: number;
  readonly height: number;
  readonly maxWidth: number | undefined;
  readonly maxHeight: number | undefined;
  readonly maxArea: number | undefined;
  readonly sizes: readonly Size[];
  readonly tiles: readonly { width: number; height: number; scaleFactors: readonly number[] }[];
  readonly features: ReadonlySet<string>;
  readonly qualities: ReadonlySet<string>;
  readonly formats: ReadonlySet<string>;
  readonly extraFeatures: readonly string[];
  readonly extraQualities: readonly string[];
  readonly extraFormats: readonly string[];
}

/** The formats this server can encode; a profile may offer no others. */
export const RENDERABLE_FORMATS: ReadonlySet<string> = new Set(['jpg', 'png', 'webp']);

const V3_L1 = ['baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPx', 'regionSquare', 'sizeByH', 'sizeByW', 'sizeByWh'];
const V2_L1 = ['baseUriRedirect', 'cors', 'jsonldMediaType', 'regionByPx', 'sizeByH', 'sizeByPct', 'sizeByW'];

/** Features, qualities and formats each level guarantees (Image API 3.0 and 2.1 compliance documents). */
const LEVELS = {
  3: {
    0: { features: [], qualities: ['default'], formats: ['jpg'] },
    1: { features: V3_L1, qualities: ['default'], formats: ['jpg'] },
    2: {
      features: [...V3_L1, 'regionByPct', 'rotationBy90s', 'sizeByConfinedWh', 'sizeByPct'],
      qualities: ['default', 'color', 'gray'],
      formats: ['jpg', 'png'],
    },
  },
  2: {
    0: { features: [], qualities: ['default'], formats: ['jpg'] },
    1: { features: V2_L1, qualities: ['default'], formats: ['jpg'] },
    2: {
      features: [...V2_L1, 'regionByPct', 'rotationBy90s', 'sizeByConfinedWh', 'sizeByDistortedWh', 'sizeByWh'],
      qualities: ['default', 'color', 'gray', 'bitonal'],
      formats: ['jpg', 'png'],
    },
  },
} as const;

const UNIMPLEMENTED_FEATURES = new Set(['rotationArbitrary']);

export function resolveProfile(profile: ImageProfile, width: number, height: number): ResolvedProfile {
  const version = profile.version ?? 3;
  const level = profile.level ?? 2;
  const guaranteed = LEVELS[version][level];
  const extraFeatures = [...(profile.extraFeatures ?? [])];
  const extraQualities = [...(profile.extraQualities ?? [])];
  const extraFormats = [...(profile.extraFormats ?? [])];
  for (const feature of extraFeatures) {
    if (UNIMPLEMENTED_FEATURES.has(feature)) throw new Error(`The test image server does not implement ${feature}`);
  }
  for (const format of extraFormats) {
    if (!RENDERABLE_FORMATS.has(format)) throw new Error(`The test image server cannot encode ${format}`);
  }
  const maxWidth = profile.maxWidth;
  const maxHeight = profile.maxHeight ?? profile.maxWidth;
  const maxArea = profile.maxArea;
  const limits = { maxWidth, maxHeight, maxArea };

  const tileOption = profile.tiles ?? level !== 0;
  const tiles =
    tileOption === false
      ? []
      : [defaultTiles(tileOption === true ? { width: 256 } : tileOption, width, height)];

  const sizeOption = profile.sizes ?? true;
  const sizes = sizeOption === false ? [] : sizeOption === true ? defaultSizes(width, height, limits) : [...sizeOption];

  return {
    version,
    level,
    width,
    height,
    maxWidth,
    maxHeight,
    maxArea,
    sizes,
    tiles,
    features: new Set([...guaranteed.features, ...extraFeatures]),
    qualities: new Set([...guaranteed.qualities, ...extraQualities]),
    formats: new Set([...guaranteed.formats, ...extraFormats]),
    extraFeatures,
    extraQualities,
    extraFormats,
  };
}

function defaultTiles(spec: TileSpec, width: number, height: number): { width: number; height: number; scaleFactors: number[] } {
  const tileWidth = spec.width;
  const tileHeight = spec.height ?? spec.width;
  let scaleFactors = spec.scaleFactors ? [...spec.scaleFactors] : undefined;
  if (!scaleFactors) {
    scaleFactors = [1];
    while (Math.ceil(width / scaleFactors.at(-1)!) > tileWidth || Math.ceil(height / scaleFactors.at(-1)!) > tileHeight) {
      scaleFactors.push(scaleFactors.at(-1)! * 2);
    }
  }
  return { width: tileWidth, height: tileHeight, scaleFactors };
}

/** Halvings of the full image, smallest first, within the limits, down to about 64 px on the long side. */
function defaultSizes(width: number, height: number, limits: Limits): Size[] {
  const sizes: Size[] = [];
  for (let s = 1; ; s *= 2) {
    const size = { width: Math.ceil(width / s), height: Math.ceil(height / s) };
    if (withinLimits(size.width, size.height, limits)) sizes.unshift(size);
    if (Math.max(size.width, size.height) <= 64 || s > 1 << 20) break;
  }
  return sizes;
}

export interface Limits {
  readonly maxWidth: number | undefined;
  readonly maxHeight: number | undefined;
  readonly maxArea: number | undefined;
}

export function withinLimits(width: number, height: number, limits: Limits): boolean {
  return (
    (limits.maxWidth === undefined || width <= limits.maxWidth) &&
    (limits.maxHeight === undefined || height <= limits.maxHeight) &&
    (limits.maxArea === undefined || width * height <= limits.maxArea)
  );
}

/** The info.json a real server of this version and level would answer. */
export function infoJson(serviceId: string, p: ResolvedProfile): Record<string, unknown> {
  const sizes = p.sizes.length > 0 ? { sizes: p.sizes.map((s) => ({ width: s.width, height: s.height })) } : {};
  const tiles = p.tiles.length > 0 ? { tiles: p.tiles.map((t) => ({ width: t.width, height: t.height, scaleFactors: [...t.scaleFactors] })) } : {};
  const limits = {
    ...(p.maxWidth === undefined ? {} : { maxWidth: p.maxWidth }),
    ...(p.maxHeight === undefined || p.maxHeight === p.maxWidth ? {} : { maxHeight: p.maxHeight }),
    ...(p.maxArea === undefined ? {} : { maxArea: p.maxArea }),
  };
  if (p.version === 3) {
    return {
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: serviceId,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: `level${p.level}`,
      width: p.width,
      height: p.height,
      ...limits,
      ...sizes,
      ...tiles,
      ...(p.extraFormats.length > 0 ? { extraFormats: p.extraFormats } : {}),
      ...(p.extraQualities.length > 0 ? { extraQualities: p.extraQualities } : {}),
      ...(p.extraFeatures.length > 0 ? { extraFeatures: p.extraFeatures } : {}),
    };
  }
  const extras = {
    ...(p.extraFormats.length > 0 ? { formats: p.extraFormats } : {}),
    ...(p.extraQualities.length > 0 ? { qualities: p.extraQualities } : {}),
    ...(p.extraFeatures.length > 0 ? { supports: p.extraFeatures } : {}),
    ...limits,
    // 2.1 has no default for maxHeight: say it whenever there is a maxWidth.
    ...(p.maxHeight === undefined ? {} : { maxHeight: p.maxHeight }),
  };
  const complianceUri = `http://iiif.io/api/image/2/level${p.level}.json`;
  return {
    '@context': 'http://iiif.io/api/image/2/context.json',
    '@id': serviceId,
    protocol: 'http://iiif.io/api/image',
    width: p.width,
    height: p.height,
    profile: Object.keys(extras).length > 0 ? [complianceUri, extras] : [complianceUri],
    ...sizes,
    ...tiles,
  };
}
