import { type ResolvedProfile, withinLimits } from './image-profile.js';

/** An Image API request this server refuses, with the status a real server would answer. */
export class RequestRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 501,
    message: string,
  ) {
    super(message);
  }
}

/** What to render: a crop of the source, scaled, mirrored, rotated, recoloured and encoded. */
export interface RenderSpec {
  readonly region: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly width: number;
  readonly height: number;
  readonly mirror: boolean;
  readonly rotation: 0 | 90 | 180 | 270;
  readonly quality: 'default' | 'color' | 'gray' | 'bitonal';
  readonly format: 'jpg' | 'png' | 'webp';
}

type Region = { kind: 'full' } | { kind: 'square' } | { kind: 'px' | 'pct'; x: number; y: number; w: number; h: number };

type SizeForm =
  | { kind: 'max' | 'full'; upscale: boolean }
  | { kind: 'w'; upscale: boolean; w: number }
  | { kind: 'h'; upscale: boolean; h: number }
  | { kind: 'pct'; upscale: boolean; n: number }
  | { kind: 'wh' | 'confined'; upscale: boolean; w: number; h: number };

const bad = (message: string): RequestRefused => new RequestRefused(400, message);

const INT = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

function parseRegion(text: string): Region {
  if (text === 'full') return { kind: 'full' };
  if (text === 'square') return { kind: 'square' };
  const pct = text.startsWith('pct:');
  const parts = (pct ? text.slice(4) : text).split(',');
  if (parts.length !== 4 || !parts.every((p) => (pct ? DECIMAL : INT).test(p))) throw bad(`Invalid region "${text}"`);
  const [x, y, w, h] = parts.map(Number) as [number, number, number, number];
  return { kind: pct ? 'pct' : 'px', x, y, w, h };
}

function parseSize(text: string, version: 2 | 3): SizeForm {
  const upscale = text.startsWith('^');
  if (upscale && version === 2) throw bad(`Invalid size "${text}": "^" is Image API 3`);
  const body = upscale ? text.slice(1) : text;
  if (body === 'max') return { kind: 'max', upscale };
  if (body === 'full' && version === 2) return { kind: 'full', upscale };
  if (body.startsWith('pct:')) {
    const n = body.slice(4);
    if (!DECIMAL.test(n) || Number(n) <= 0) throw bad(`Invalid size "${text}"`);
    return { kind: 'pct', upscale, n: Number(n) };
  }
  const confined = body.startsWith('!');
  const dims = (confined ? body.slice(1) : body).split(',');
  if (dims.length !== 2) throw bad(`Invalid size "${text}"`);
  const [ws, hs] = dims as [string, string];
  const w = ws === '' ? undefined : INT.test(ws) ? Number(ws) : Number.NaN;
  const h = hs === '' ? undefined : INT.test(hs) ? Number(hs) : Number.NaN;
  if (Number.isNaN(w) || Number.isNaN(h) || w === 0 || h === 0) throw bad(`Invalid size "${text}"`);
  if (confined) {
    if (w === undefined || h === undefined) throw bad(`Invalid size "${text}"`);
    return { kind: 'confined', upscale, w, h };
  }
  if (w !== undefined && h !== undefined) return { kind: 'wh', upscale, w, h };
  if (w !== undefined) return { kind: 'w', upscale, w };
  if (h !== undefined) return { kind: 'h', upscale, h };
  throw bad(`Invalid size "${text}"`);
}

function parseRotation(text: string): { mirror: boolean; degrees: number } {
  const mirror = text.startsWith('!');
  const n = mirror ? text.slice(1) : text;
  if (!DECIMAL.test(n) || Number(n) > 360) throw bad(`Invalid rotation "${text}"`);
  return { mirror, degrees: Number(n) % 360 };
}

function parseQualityFormat(text: string): { quality: string; format: string } {
  const dot = text.lastIndexOf('.');
  if (dot <= 0) throw bad(`Invalid quality.format "${text}"`);
  const quality = text.slice(0, dot);
  if (!['default', 'color', 'gray', 'bitonal'].includes(quality)) throw bad(`Invalid quality "${quality}"`);
  return { quality, format: text.slice(dot + 1) };
}

/**
 * Validates one image request against a profile and works out what to render, or throws
 * RequestRefused. Anything the level (plus extras) does not offer is refused with 400 (501 for
 * `^` without sizeUpscaling), so a client that asks for more than info.json promised finds out.
 */
export function planRender(
  profile: ResolvedProfile,
  params: { region: string; size: string; rotation: string; qualityFormat: string },
): RenderSpec {
  const region = parseRegion(params.region);
  const size = parseSize(params.size, profile.version);
  const rotation = parseRotation(params.rotation);
  const { quality, format } = parseQualityFormat(params.qualityFormat);

  if (!profile.qualities.has(quality)) throw bad(`Quality "${quality}" is not supported by this level ${profile.level} service`);
  if (!profile.formats.has(format)) throw bad(`Format "${format}" is not supported by this level ${profile.level} service`);
  if (rotation.mirror && !profile.features.has('mirroring')) throw bad('Mirroring is not supported');
  if (rotation.degrees % 90 !== 0) throw bad(`Rotation ${rotation.degrees} is not supported (only multiples of 90)`);
  if (rotation.degrees !== 0 && !profile.features.has('rotationBy90s')) throw bad(`Rotation ${rotation.degrees} is not supported`);

  const base = { mirror: rotation.mirror, rotation: rotation.degrees as RenderSpec['rotation'], quality: quality as RenderSpec['quality'], format: format as RenderSpec['format'] };
  if (profile.level === 0) return { ...base, ...planLevel0(profile, region, size, params) };

  const featureOfRegion = { full: undefined, square: 'regionSquare', px: 'regionByPx', pct: 'regionByPct' }[region.kind];
  if (featureOfRegion && !profile.features.has(featureOfRegion)) throw bad(`Region "${params.region}" needs ${featureOfRegion}, which this service lacks`);
  const rect = resolveRegion(profile, region, params.region);
  const { width, height } = resolveSize(profile, size, rect, params.size);
  return { ...base, region: rect, width, height };
}

function resolveRegion(profile: ResolvedProfile, region: Region, text: string): RenderSpec['region'] {
  const { width: W, height: H } = profile;
  if (region.kind === 'full') return { x: 0, y: 0, w: W, h: H };
  if (region.kind === 'square') {
    const side = Math.min(W, H);
    return { x: Math.floor((W - side) / 2), y: Math.floor((H - side) / 2), w: side, h: side };
  }
  let { x, y, w, h } = region;
  if (region.kind === 'pct') {
    x = Math.round((x * W) / 100);
    y = Math.round((y * H) / 100);
    w = Math.round((w * W) / 100);
    h = Math.round((h * H) / 100);
  }
  // Overflow is cropped; a region with nothing left in the image is an error.
  w = Math.min(w, W - x);
  h = Math.min(h, H - y);
  if (w <= 0 || h <= 0) throw bad(`Region "${text}" is empty or outside the ${W}x${H} image`);
  return { x, y, w, h };
}

function resolveSize(profile: ResolvedProfile, size: SizeForm, region: RenderSpec['region'], text: string): { width: number; height: number } {
  const { w: rw, h: rh } = region;
  const v3 = profile.version === 3;
  const need = (feature: string): void => {
    if (!profile.features.has(feature)) throw bad(`Size "${text}" needs ${feature}, which this service lacks`);
  };
  if (size.upscale && !profile.features.has('sizeUpscaling')) throw new RequestRefused(501, `Size "${text}": upscaling is not supported`);

  let width: number;
  let height: number;
  switch (size.kind) {
    case 'max':
    case 'full': {
      let scale = 1;
      if (size.kind === 'max' || size.upscale) scale = limitScale(profile, rw, rh, size.upscale);
      width = Math.max(1, Math.floor(rw * scale + 1e-9));
      height = Math.max(1, Math.floor(rh * scale + 1e-9));
      break;
    }
    case 'w':
      need('sizeByW');
      width = size.w;
      height = Math.max(1, Math.round((rh * size.w) / rw));
      break;
    case 'h':
      need('sizeByH');
      height = size.h;
      width = Math.max(1, Math.round((rw * size.h) / rh));
      break;
    case 'pct':
      need('sizeByPct');
      width = Math.max(1, Math.round((rw * size.n) / 100));
      height = Math.max(1, Math.round((rh * size.n) / 100));
      break;
    case 'wh': {
      if (v3) need('sizeByWh');
      else {
        const keepsAspect = Math.round((rh * size.w) / rw) === size.h || Math.round((rw * size.h) / rh) === size.w;
        need(keepsAspect && profile.features.has('sizeByWh') ? 'sizeByWh' : 'sizeByDistortedWh');
      }
      width = size.w;
      height = size.h;
      break;
    }
    case 'confined': {
      need('sizeByConfinedWh');
      let scale = Math.min(size.w / rw, size.h / rh);
      if (!size.upscale && !(profile.version === 2 && profile.features.has('sizeAboveFull'))) scale = Math.min(scale, 1);
      width = Math.min(size.w, Math.max(1, Math.round(rw * scale)));
      height = Math.min(size.h, Math.max(1, Math.round(rh * scale)));
      break;
    }
  }
  if ((width > rw || height > rh) && !size.upscale) {
    if (v3) throw bad(`Size "${text}" (${width}x${height}) is larger than the ${rw}x${rh} region; upscaling needs "^"`);
    if (!profile.features.has('sizeAboveFull')) throw bad(`Size "${text}" (${width}x${height}) is larger than the ${rw}x${rh} region`);
  }
  if (!withinLimits(width, height, profile)) {
    throw bad(`Size "${text}" (${width}x${height}) exceeds the server's maxWidth/maxHeight/maxArea`);
  }
  return { width, height };
}

/** Largest scale (<= 1 unless upscaling) that keeps a region within maxWidth/maxHeight/maxArea. */
function limitScale(profile: ResolvedProfile, rw: number, rh: number, upscale: boolean): number {
  const bounds = [upscale ? Number.POSITIVE_INFINITY : 1];
  if (profile.maxWidth !== undefined) bounds.push(profile.maxWidth / rw);
  if (profile.maxHeight !== undefined) bounds.push(profile.maxHeight / rh);
  if (profile.maxArea !== undefined) bounds.push(Math.sqrt(profile.maxArea / (rw * rh)));
  const scale = Math.min(...bounds);
  return Number.isFinite(scale) ? scale : 1;
}

/**
 * Level 0: only what a static file tree can hold. `full` at `max` (2.1 also `full`), a listed size
 * of the full image, or one tile of the grid at its canonical size; nothing else.
 */
function planLevel0(
  profile: ResolvedProfile,
  region: Region,
  size: SizeForm,
  params: { region: string; size: string; rotation: string; qualityFormat: string },
): Pick<RenderSpec, 'region' | 'width' | 'height'> {
  if (params.rotation !== '0') throw bad(`Rotation "${params.rotation}" is not available at level 0`);
  if (size.upscale) throw new RequestRefused(501, `Size "${params.size}": upscaling is not supported`);
  const { width: W, height: H } = profile;
  const isFull = region.kind === 'full' || (region.kind === 'px' && region.x === 0 && region.y === 0 && region.w === W && region.h === H);

  if (region.kind === 'full' && (size.kind === 'max' || size.kind === 'full')) {
    const scale = limitScale(profile, W, H, false);
    if (size.kind === 'full' && scale < 1) throw bad(`Size "full" exceeds the server's limits; ask for "max"`);
    return { region: { x: 0, y: 0, w: W, h: H }, width: Math.floor(W * scale + 1e-9), height: Math.floor(H * scale + 1e-9) };
  }

  const sizeMatches = (w: number, h: number): boolean =>
    profile.version === 3 ? size.kind === 'wh' && size.w === w && size.h === h : (size.kind === 'wh' && size.w === w && size.h === h) || (size.kind === 'w' && size.w === w);

  if (region.kind === 'full') {
    for (const listed of profile.sizes) {
      if (sizeMatches(listed.width, listed.height)) return { region: { x: 0, y: 0, w: W, h: H }, width: listed.width, height: listed.height };
    }
  }

  if (region.kind === 'px' || isFull) {
    const r = region.kind === 'px' ? region : { x: 0, y: 0, w: W, h: H };
    for (const tile of profile.tiles) {
      for (const s of tile.scaleFactors) {
        const stepX = tile.width * s;
        const stepY = tile.height * s;
        if (r.x % stepX !== 0 || r.y % stepY !== 0 || r.x >= W || r.y >= H) continue;
        if (r.w !== Math.min(stepX, W - r.x) || r.h !== Math.min(stepY, H - r.y)) continue;
        const tw = Math.ceil(r.w / s);
        const th = Math.ceil(r.h / s);
        if (sizeMatches(tw, th)) return { region: { x: r.x, y: r.y, w: r.w, h: r.h }, width: tw, height: th };
      }
    }
  }
  throw bad(`"${params.region}/${params.size}" is neither full/max, a listed size nor a tile of this level 0 service`);
}
