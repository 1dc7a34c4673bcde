import type { Rect } from '@loupe/contracts';
import { LoupeError } from '@loupe/contracts/core';
import type { CanvasTransform, ImageInfo, ImageRequestPlan, PlanTarget, PlannedTile, UpscaleOffer } from './types.js';

/**
 * What one extra request costs, in pixels, when level 0 weighs stitched tiles against one request:
 * about one 256 x 256 tile, so that fetching fewer pixels in many requests must save more than the
 * round trips cost.
 */
export const REQUEST_COST_PX = 256 * 256;
/** A stitched plan never has more tiles than this: beyond it, one full-size request is politer to the server. */
export const MAX_TILES = 64;
/**
 * From a server that scales to any size, a listed size is used when it is at most this many times
 * the needed size along the side that matters: listed sizes are often cached (faster), but each
 * step past the need costs its square in bytes, and a twice-too-large size (which 2 allowed) is
 * four times the pixels: a 2048 px fit took the 3000x4000 master over an exact 1536x2048.
 */
export const LISTED_SIZE_SLACK = 1.25;
/**
 * Upscaling is offered when the target wants at least this many times what the server gives: an
 * image a little short of the target loses little, and an x2 model's output would mostly be
 * resized down again.
 */
export const UPSCALE_OFFER_RATIO = 1.5;
const UPSCALE_FACTORS = [2, 4, 8] as const;

interface Need {
  /** The side of the region that the target binds. */
  readonly axis: 'w' | 'h';
  /** Result pixels needed along it (never more than the region has: no upscaling). */
  readonly px: number;
  /** Result pixels the target asks for along it, whatever the region has (what an upscale could reach). */
  readonly wanted: number;
}

/** A request form under consideration; `region` is the full-image pixels the result covers. */
interface Candidate extends Pick<ImageRequestPlan, 'kind' | 'url' | 'tiles' | 'width' | 'height' | 'region' | 'reason'> {
  readonly requests: number;
}

interface Syntax {
  /** Size keyword for the full resolution of a region. */
  readonly fullSize: 'max' | 'full';
  readonly quality: 'default' | 'native';
  /** The canonical form of an aspect-preserving size: `w,h` in 3.0, `w,` before. */
  size(width: number, height: number): string;
  /** The result height a server computes for a requested width (3.0 is told both). */
  readonly sendsHeight: boolean;
}

const SYNTAX: Record<1 | 2 | 3, Syntax> = {
  3: { fullSize: 'max', quality: 'default', size: (w, h) => `${w},${h}`, sendsHeight: true },
  2: { fullSize: 'full', quality: 'default', size: (w) => `${w},`, sendsHeight: false },
  1: { fullSize: 'full', quality: 'native', size: (w) => `${w},`, sendsHeight: false },
};

/**
 * The cheapest valid Image API request (or set of tiles) that gives `target`:
 * 1. a listed size (full image only) that reaches the target;
 * 2. level 1/2: the canonical size for the version (`w,h` in 3.0, `w,` in 2.x and 1.1), clamped by
 *    maxWidth/maxHeight/maxArea;
 * 3. level 0: whichever of listed sizes, stitched tiles and `full/max` (`full/full` before 3.0)
 *    reaches the target for the fewest pixels plus REQUEST_COST_PX per request.
 * Never an upscaled size: an image (or region) smaller than the target comes at full resolution.
 * When no valid request reaches the target (limits), the largest allowed comes, with resizeLocally false.
 * When what comes is well short of the target (UPSCALE_OFFER_RATIO), the plan offers an upscale.
 */
export function planImageRequest(info: ImageInfo, target: PlanTarget): ImageRequestPlan {
  if (!(Number.isInteger(info.width) && info.width > 0 && Number.isInteger(info.height) && info.height > 0)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Image ${info.id} has no valid size (${info.width}x${info.height})`, { details: { id: info.id } });
  }
  const region = clipRegion(info, target.region);
  const need = needOf(target, region);
  const planner = new Planner(info, region, need);
  // Level 1 and 2 give any size: the exact one needed is asked for. (A level 0 server's extra size
  // features are not trusted: static tile sets copy them from level 2 profiles they do not honour.)
  const chosen = info.level === 0 ? planner.levelZero() : planner.levelOneOrTwo();
  return planner.finish(chosen);
}

class Planner {
  readonly #info: ImageInfo;
  readonly #region: Rect;
  readonly #need: Need;
  readonly #syntax: Syntax;
  readonly #isFull: boolean;
  readonly #maxWidth: number;
  readonly #maxHeight: number;
  readonly #maxArea: number;

  constructor(info: ImageInfo, region: Rect, need: Need) {
    this.#info = info;
    this.#region = region;
    this.#need = need;
    this.#syntax = SYNTAX[info.version];
    this.#isFull = region.x === 0 && region.y === 0 && region.w === info.width && region.h === info.height;
    this.#maxWidth = info.maxWidth ?? Infinity;
    this.#maxHeight = info.maxHeight ?? info.maxWidth ?? Infinity;
    this.#maxArea = info.maxArea ?? Infinity;
  }

  levelOneOrTwo(): Candidate {
    // The full size is the master, not a derivative a server keeps ready: it is never taken for being listed.
    const listed = this.#listedSizes().filter(
      (c) => this.#reaches(c) && this.#along(c) <= LISTED_SIZE_SLACK * this.#need.px && (c.width < this.#info.width || this.#along(c) <= this.#need.px),
    );
    const smallest = minBy(listed, (c) => c.width * c.height);
    if (smallest) return smallest;

    const { w: rw, h: rh } = this.#region;
    const regionText = this.#regionText(this.#region);
    const reach = this.#need.axis === 'w' ? rw : rh;
    if (this.#need.px >= reach && this.#fits(rw, rh)) {
      return this.#single(regionText, this.#syntax.fullSize, rw, rh, this.#region, 'full resolution: the region is no larger than the target (never upscaled)');
    }
    let size = this.#sizeFor(this.#need);
    let why = `canonical size ${size.w}x${size.h} (level ${this.#info.level}, Image API ${this.#info.version})`;
    if (this.#need.px >= reach || !this.#fits(size.w, size.h)) {
      size = this.#largestAllowed(rw, rh);
      why = `largest size the server allows (${this.#limitsText()}): ${size.w}x${size.h}, smaller than the target`;
    }
    return this.#single(regionText, this.#syntax.size(size.w, size.h), size.w, size.h, this.#region, why);
  }

  /** Level 0 guarantees only listed sizes, tiles and the full image: cost each and take the cheapest that reaches the target. */
  levelZero(): Candidate {
    const { width: W, height: H } = this.#info;
    const candidates: Candidate[] = this.#listedSizes();
    for (const tileSet of this.#info.tiles) {
      for (const factor of tileSet.scaleFactors) {
        const tiles = this.#tiles(tileSet.width, tileSet.height, factor);
        if (tiles) candidates.push(tiles);
      }
    }
    const max = this.#largestAllowed(W, H);
    // 2.x `full` is the image unscaled, which a server with limits may refuse; its `max` respects them.
    const keyword = this.#info.version === 3 || (max.w < W && this.#info.version === 2) ? 'max' : 'full';
    const fullImage = { x: 0, y: 0, w: W, h: H };
    const fullMax = this.#single('full', keyword, max.w, max.h, fullImage, `full/${keyword}: the whole image at the largest size allowed`);
    candidates.push(fullMax);

    const cost = (c: Candidate): number => c.width * c.height + c.requests * REQUEST_COST_PX;
    const reaching = candidates.filter((c) => this.#reaches(c));
    if (reaching.length > 0) return minBy(reaching, cost) ?? fullMax;
    // Nothing reaches the target (limits): the most detail on offer, the cheapest of equals.
    const most = Math.max(...candidates.map((c) => this.#along(c)));
    return minBy(candidates.filter((c) => this.#along(c) >= most - 1e-9), cost) ?? fullMax;
  }

  finish(chosen: Candidate): ImageRequestPlan {
    const along = this.#along(chosen);
    const plan: { -readonly [K in keyof ImageRequestPlan]: ImageRequestPlan[K] } = {
      kind: chosen.kind,
      width: chosen.width,
      height: chosen.height,
      region: chosen.region,
      scale: Math.max(chosen.region.w / chosen.width, chosen.region.h / chosen.height),
      resizeLocally: Math.round(along) > this.#need.px,
      reason: chosen.reason,
    };
    if (chosen.url !== undefined) plan.url = chosen.url;
    if (chosen.tiles !== undefined) plan.tiles = chosen.tiles;
    const offer = upscaleOffer(Math.round(along), this.#need.wanted);
    if (offer) plan.upscale = offer;
    const r = this.#region;
    const c = chosen.region;
    if (r.x !== c.x || r.y !== c.y || r.w !== c.w || r.h !== c.h) {
      const sx = chosen.width / c.w;
      const sy = chosen.height / c.h;
      const x = Math.max(0, Math.floor((r.x - c.x) * sx));
      const y = Math.max(0, Math.floor((r.y - c.y) * sy));
      const right = Math.min(chosen.width, Math.ceil((r.x + r.w - c.x) * sx));
      const bottom = Math.min(chosen.height, Math.ceil((r.y + r.h - c.y) * sy));
      plan.crop = { x, y, w: Math.max(1, right - x), h: Math.max(1, bottom - y) };
    }
    return plan;
  }

  /**
   * Listed sizes are offers for the full image; with a region they serve only by cropping locally
   * (level 0). One beyond the declared limits is left out: SPK Berlin lists its full 11458x17014
   * size beside a maxWidth of 10000, and which of the two the server honours is anyone's guess.
   */
  #listedSizes(): Candidate[] {
    if (!this.#isFull && this.#info.level !== 0) return [];
    const fullImage = { x: 0, y: 0, w: this.#info.width, h: this.#info.height };
    const crop = this.#isFull ? '' : ', cropped locally to the region';
    return this.#info.sizes.filter((s) => this.#fits(s.width, s.height)).map((s) =>
      this.#single('full', this.#syntax.size(s.width, s.height), s.width, s.height, fullImage, `listed size ${s.width}x${s.height}${crop}`),
    );
  }

  /**
   * The tiles at one scale factor that cover the region, per the Image API's tile formula
   * (https://iiif.io/api/image/3.0/implementation/#3-tile-region-parameter-calculation).
   */
  #tiles(tileWidth: number, tileHeight: number, factor: number): Candidate | undefined {
    const { width: W, height: H } = this.#info;
    const stepX = tileWidth * factor;
    const stepY = tileHeight * factor;
    const r = this.#region;
    const x0 = Math.floor(r.x / stepX) * stepX;
    const y0 = Math.floor(r.y / stepY) * stepY;
    const x1 = Math.min(W, Math.ceil((r.x + r.w) / stepX) * stepX);
    const y1 = Math.min(H, Math.ceil((r.y + r.h) / stepY) * stepY);
    const columns = Math.ceil((x1 - x0) / stepX);
    const rows = Math.ceil((y1 - y0) / stepY);
    if (columns * rows > MAX_TILES) return undefined;
    const tiles: PlannedTile[] = [];
    for (let row = 0; row < rows; row++) {
      for (let column = 0; column < columns; column++) {
        const x = x0 + column * stepX;
        const y = y0 + row * stepY;
        const w = Math.min(stepX, x1 - x);
        const h = Math.min(stepY, y1 - y);
        const outW = Math.ceil(w / factor);
        const outH = Math.ceil(h / factor);
        const url = this.#url(this.#regionText({ x, y, w, h }), this.#syntax.size(outW, outH));
        tiles.push({ url, x: column * tileWidth, y: row * tileHeight, width: outW, height: outH });
      }
    }
    const covered = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    const width = Math.ceil(covered.w / factor);
    const height = Math.ceil(covered.h / factor);
    const crop = this.#sameRect(covered) ? '' : ', cropped locally to the region';
    const first = tiles[0];
    if (tiles.length === 1 && first) {
      return { kind: 'single', url: first.url, width, height, region: covered, requests: 1, reason: `one ${tileWidth}x${tileHeight} tile at scale factor ${factor}${crop}` };
    }
    return {
      kind: 'tiles',
      tiles,
      width,
      height,
      region: covered,
      requests: tiles.length,
      reason: `${tiles.length} tiles of ${tileWidth}x${tileHeight} at scale factor ${factor}, stitched locally${crop}`,
    };
  }

  #single(region: string, size: string, width: number, height: number, covered: Rect, reason: string): Candidate {
    return { kind: 'single', url: this.#url(region, size), width, height, region: covered, requests: 1, reason };
  }

  #url(region: string, size: string): string {
    // The id already carries the identifier percent-encoded as the server gave it: it is not encoded again.
    return `${this.#info.id}/${region}/${size}/0/${this.#syntax.quality}.jpg`;
  }

  #regionText(rect: Rect): string {
    return rect.x === 0 && rect.y === 0 && rect.w === this.#info.width && rect.h === this.#info.height ? 'full' : `${rect.x},${rect.y},${rect.w},${rect.h}`;
  }

  #sameRect(rect: Rect): boolean {
    const r = this.#region;
    return rect.x === r.x && rect.y === r.y && rect.w === r.w && rect.h === r.h;
  }

  /** Result pixels the candidate gives along the bound side of the requested region. */
  #along(c: Candidate): number {
    return this.#need.axis === 'w' ? (this.#region.w * c.width) / c.region.w : (this.#region.h * c.height) / c.region.h;
  }

  #reaches(c: Candidate): boolean {
    return this.#along(c) >= this.#need.px - 1e-9;
  }

  #fits(w: number, h: number): boolean {
    return w <= this.#maxWidth && h <= this.#maxHeight && w * h <= this.#maxArea;
  }

  #heightFor(width: number): number {
    return Math.max(1, Math.round((this.#region.h * width) / this.#region.w));
  }

  /** The aspect-preserving size whose bound side is exactly what is needed. */
  #sizeFor(need: Need): { w: number; h: number } {
    const { w: rw, h: rh } = this.#region;
    if (need.axis === 'w') return { w: need.px, h: this.#heightFor(need.px) };
    if (this.#syntax.sendsHeight) return { w: Math.max(1, Math.round((rw * need.px) / rh)), h: need.px };
    // Only the width is sent: round it up so that the height the server derives still reaches the need.
    const w = Math.ceil((rw * need.px) / rh);
    return { w, h: this.#heightFor(w) };
  }

  #largestAllowed(rw: number, rh: number): { w: number; h: number } {
    const k = Math.min(1, this.#maxWidth / rw, this.#maxHeight / rh, Math.sqrt(this.#maxArea / (rw * rh)));
    if (k >= 1) return { w: rw, h: rh };
    let w = Math.max(1, Math.floor(rw * k));
    let h = Math.max(1, Math.round((rh * w) / rw));
    while (w > 1 && !this.#fits(w, h)) {
      w -= 1;
      h = Math.max(1, Math.round((rh * w) / rw));
    }
    return { w, h };
  }

  #limitsText(): string {
    const parts: string[] = [];
    if (this.#info.maxWidth !== undefined) parts.push(`maxWidth ${this.#info.maxWidth}`);
    if (this.#info.maxHeight !== undefined) parts.push(`maxHeight ${this.#info.maxHeight}`);
    if (this.#info.maxArea !== undefined) parts.push(`maxArea ${this.#info.maxArea}`);
    return parts.join(', ');
  }
}

function clipRegion(info: ImageInfo, region: Rect | undefined): Rect {
  if (region === undefined) return { x: 0, y: 0, w: info.width, h: info.height };
  const values = [region.x, region.y, region.w, region.h];
  if (!values.every(Number.isFinite) || region.w <= 0 || region.h <= 0) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Invalid region ${JSON.stringify(region)}: x, y, w, h must be finite, w and h positive`, { details: { region } });
  }
  // Overflow is cropped, as an Image API server would; the edges round outwards to whole pixels.
  const x0 = Math.max(0, Math.floor(region.x));
  const y0 = Math.max(0, Math.floor(region.y));
  const x1 = Math.min(info.width, Math.ceil(region.x + region.w));
  const y1 = Math.min(info.height, Math.ceil(region.y + region.h));
  if (x1 <= x0 || y1 <= y0) {
    throw new LoupeError('LOUPE_ERR_IIIF_NO_PLAN', `Region ${region.x},${region.y},${region.w},${region.h} lies outside the image ${info.id} (${info.width}x${info.height})`, {
      details: { id: info.id, region },
    });
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

function needOf(target: PlanTarget, region: Rect): Need {
  if ('shortSide' in target) {
    const n = target.shortSide;
    if (!(Number.isFinite(n) && n > 0)) throw invalidTarget(target);
    const axis = region.w <= region.h ? 'w' : 'h';
    return { axis, px: Math.min(Math.ceil(n), axis === 'w' ? region.w : region.h), wanted: Math.ceil(n) };
  }
  const { width, height } = target.fit;
  if (!(Number.isFinite(width) && width > 0 && Number.isFinite(height) && height > 0)) throw invalidTarget(target);
  // The side whose ratio to the box is larger is the one the box binds.
  return region.w * height >= region.h * width
    ? { axis: 'w', px: Math.min(Math.ceil(width), region.w), wanted: Math.ceil(width) }
    : { axis: 'h', px: Math.min(Math.ceil(height), region.h), wanted: Math.ceil(height) };
}

/** The upscale that would bring `have` pixels to `want`, when the shortfall is worth one. */
export function upscaleOffer(have: number, want: number): UpscaleOffer | undefined {
  if (!(have > 0) || have * UPSCALE_OFFER_RATIO > want) return undefined;
  const suggested = UPSCALE_FACTORS.find((f) => have * f >= want) ?? 8;
  return { suggested, have, want };
}

function invalidTarget(target: PlanTarget): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', `Invalid plan target ${JSON.stringify(target)}: sizes must be positive numbers`, { details: { target } });
}

function minBy<T>(items: readonly T[], key: (item: T) => number): T | undefined {
  let best: T | undefined;
  let bestKey = Infinity;
  for (const item of items) {
    const k = key(item);
    if (k < bestKey) {
      best = item;
      bestKey = k;
    }
  }
  return best;
}

/**
 * Maps pixels of a plan's result to canvas coordinates: canvas = offset + result * scale, per axis.
 * `image` is the full size of the image the plan was made for (info.json width and height);
 * `target` is where on the canvas the image is painted (ImageRef.target), the whole canvas when
 * absent. A result cropped to `plan.crop` maps by adding crop.x / crop.y to its pixels first.
 */
export function canvasTransform(
  plan: ImageRequestPlan,
  image: { width: number; height: number },
  canvas: { width: number; height: number },
  target?: Rect,
): CanvasTransform {
  const painted = target ?? { x: 0, y: 0, w: canvas.width, h: canvas.height };
  const sizes = [plan.width, plan.height, plan.region.w, plan.region.h, image.width, image.height, painted.w, painted.h];
  if (!sizes.every((v) => Number.isFinite(v) && v > 0)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'canvasTransform needs positive sizes for the plan, the image and the canvas (or target)', {
      details: { plan: { width: plan.width, height: plan.height, region: plan.region }, image, canvas, target },
    });
  }
  const canvasPerImageX = painted.w / image.width;
  const canvasPerImageY = painted.h / image.height;
  return {
    scaleX: (plan.region.w / plan.width) * canvasPerImageX,
    scaleY: (plan.region.h / plan.height) * canvasPerImageY,
    offsetX: painted.x + plan.region.x * canvasPerImageX,
    offsetY: painted.y + plan.region.y * canvasPerImageY,
  };
}

/** A rectangle in result pixels, in canvas coordinates. */
export function toCanvasRect(transform: CanvasTransform, rect: Rect): Rect {
  return {
    x: transform.offsetX + rect.x * transform.scaleX,
    y: transform.offsetY + rect.y * transform.scaleY,
    w: rect.w * transform.scaleX,
    h: rect.h * transform.scaleY,
  };
}
