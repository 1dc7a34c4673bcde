import sharp from 'sharp';
import { LoupeError, type DerivedImage, type ImageRef, type PreparedImage, type Rect } from '@loupe/contracts';
import type { Fetcher } from './fetch/index.js';
import { parseImageInfo } from './image-info.js';
import { planImageRequest } from './planner.js';
import type { ImageRequestPlan, PlanTarget } from './types.js';

/**
 * A canvas image as a model stage receives it: upright 8-bit RGB (EXIF orientation applied, sRGB,
 * alpha flattened on white), cut to the part that is painted and turned as it is painted.
 * `canvasRegion` is the part of the canvas, in canvas units, that these pixels cover, so a point in
 * result pixels maps to the canvas as region.x + px * region.w / width.
 */
export interface CanvasImage {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3;
  /** The Image API request (or plain URL) that was fetched. */
  readonly request: string;
  /**
   * A request for just these pixels at this size (a small IIIF URL, e.g. for a thumbnail): the same
   * as `request` unless these pixels were cut and resized locally from the job's shared request.
   */
  readonly sizedRequest: string;
  readonly canvasRegion: Rect;
  /** The whole image's size in its own pixels (upright), which `toImage` measures in. */
  readonly imageSize: { readonly width: number; readonly height: number };
  /** EXIF orientation applied to a plain image (1: none; Image API responses are already upright). */
  readonly exifOrientation: number;
  readonly fromCache: boolean;
  /** Maps a box in these pixels to canvas coordinates, undoing the rotations and the cut. */
  toCanvas(box: Rect): Rect;
  /** Maps a box in these pixels to full-image pixels (what FetchHints.region and IIIF regions use). */
  toImage(box: Rect): Rect;
}

/** What an earlier stage found that changes what later stages fetch. */
export interface FetchHints {
  /** Only this part of the image (image pixels), e.g. the object background removal found. */
  readonly region?: Rect;
  /** Turn the image this much more (clockwise) than it is painted, e.g. a page scanned upside down. */
  readonly rotation?: 0 | 90 | 180 | 270;
  /**
   * The request the job's first stage made (the painted image fitted inside this box): fetched
   * again by URL, which the fetcher's cache answers, then cut and resized locally, whenever it
   * holds at least the pixels this fetch needs.
   */
  readonly shared?: { readonly fit: { readonly width: number; readonly height: number } };
  /**
   * An image preprocess made from this one (enhanced, upscaled), read from the fetcher's derived
   * images instead of fetching: its regions map what is found on it back to the image and canvas.
   */
  readonly derived?: DerivedImage;
}

type Quarter = 0 | 90 | 180 | 270;

/** A point of a w x h picture turned clockwise by `turn`, and the turned picture's size. */
function turnPoint(x: number, y: number, w: number, h: number, turn: Quarter): [number, number] {
  switch (turn) {
    case 90:
      return [h - y, x];
    case 180:
      return [w - x, h - y];
    case 270:
      return [y, w - x];
    default:
      return [x, y];
  }
}
const turnedSize = (w: number, h: number, turn: Quarter): [number, number] => (turn === 90 || turn === 270 ? [h, w] : [w, h]);
const undo = (turn: Quarter): Quarter => ((360 - turn) % 360) as Quarter;

type Raw = { data: Buffer; width: number; height: number };

async function toRaw(pipeline: sharp.Sharp): Promise<Raw> {
  const { data, info } = await pipeline.toColourspace('srgb').flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const fromRaw = (raw: Raw): sharp.Sharp => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: 3 } });

/**
 * Fetches the image painted on a canvas at the size a model needs: through its Image API service
 * (info.json, then the cheapest valid request, or stitched tiles), or the plain URL when it has none.
 * Only the painted region is requested (a SpecificResource selector), and a painted rotation is applied.
 */
export async function fetchCanvasImage(
  fetcher: Fetcher,
  image: ImageRef,
  canvas: { readonly width: number; readonly height: number },
  target: PlanTarget,
  hints: FetchHints = {},
): Promise<CanvasImage> {
  const painted: Rect = image.target ?? { x: 0, y: 0, w: canvas.width, h: canvas.height };
  const wanted = intersect(image.region, hints.region);
  let raw: Raw;
  let imageSize: { width: number; height: number };
  let cut: Rect;
  let request: string;
  let sizedRequest: string | undefined;
  let exifOrientation = 1;
  let fromCache: boolean;

  if (hints.derived) {
    const made = await derivedPixels(fetcher, hints.derived, wanted, target);
    ({ raw, cut } = made);
    imageSize = hints.derived.image;
    request = hints.derived.source;
    sizedRequest = `derived:${hints.derived.id}`;
    fromCache = true;
  } else if (!image.service) {
    const fetched = await fetcher.getImage(image.id);
    exifOrientation = await decoding(fetched.url, async () => (await sharp(fetched.data).metadata()).orientation ?? 1);
    // As lenient as the fetcher's check, which this image passed: a JPEG with a damaged scan decodes with a smudge, as viewers show it.
    let pipeline = sharp(fetched.data, { failOn: 'truncated', limitInputPixels: fetcher.options.maxPixels }).rotate();
    imageSize = exifOrientation >= 5 ? { width: fetched.height, height: fetched.width } : { width: fetched.width, height: fetched.height };
    cut = { x: 0, y: 0, w: imageSize.width, h: imageSize.height };
    if (wanted) {
      cut = clampRegion(wanted, imageSize.width, imageSize.height, image.id);
      // After rotate(): sharp extracts from the upright image, whose axes the region is given in.
      pipeline = pipeline.extract({ left: cut.x, top: cut.y, width: cut.w, height: cut.h });
    }
    // The master decoded whole: it waits for room in the process's pixel budget like every other decode.
    raw = await fetcher.pixels.hold(fetched.width * fetched.height, () => decoding(fetched.url, () => toRaw(pipeline)));
    request = fetched.url;
    fromCache = fetched.fromCache;
  } else {
    const infoUrl = `${image.service.id}/info.json`;
    const info = parseImageInfo(await fetcher.getJson(infoUrl), infoUrl);
    imageSize = { width: info.width, height: info.height };
    const region = wanted ? clampRegion(wanted, info.width, info.height, infoUrl) : undefined;
    cut = region ?? { x: 0, y: 0, w: info.width, h: info.height };
    const own = planImageRequest(info, region ? { ...target, region } : target);
    const describe = (plan: ImageRequestPlan): string => (plan.kind === 'single' ? plan.url! : `${plan.tiles!.length} tiles of ${image.service!.id}`);
    const shared = hints.shared && covers(hints.shared, target) ? hints.shared : undefined;
    if (shared) {
      // The job's one request for the painted image; the stage's own part and size are made here.
      const paintedPart = image.region ? clampRegion(image.region, info.width, info.height, infoUrl) : { x: 0, y: 0, w: info.width, h: info.height };
      const plan = planImageRequest(info, image.region ? { ...shared, region: paintedPart } : shared);
      const result = await runPlan(fetcher, plan);
      raw = result.raw;
      cut = paintedPart;
      if (region) ({ raw, cut } = await cutLocally(raw, paintedPart, region));
      const [width, height] = fitInside(raw.width, raw.height, target);
      if (width !== raw.width || height !== raw.height) raw = await toRaw(fromRaw(raw).resize(width, height, { fit: 'fill' }));
      request = describe(plan);
      sizedRequest = describe(own);
      fromCache = result.fromCache;
    } else {
      const result = await runPlan(fetcher, own);
      raw = result.raw;
      request = describe(own);
      fromCache = result.fromCache;
    }
  }
  const paintedTurn = (image.rotation ?? 0) as Quarter;
  const extraTurn = (hints.rotation ?? 0) as Quarter;
  const turn = ((paintedTurn + extraTurn) % 360) as Quarter;
  if (turn) raw = await toRaw(fromRaw(raw).rotate(turn));

  // Result pixels -> image pixels (undo both turns, then the scale and the cut) -> canvas (the painted turn, then the target).
  const [cutW, cutH] = [cut.w, cut.h];
  const [unturnedW, unturnedH] = turnedSize(raw.width, raw.height, turn);
  const full = { w: image.region?.w ?? imageSize.width, h: image.region?.h ?? imageSize.height };
  const origin = { x: image.region?.x ?? 0, y: image.region?.y ?? 0 };
  const [paintedW, paintedH] = turnedSize(full.w, full.h, paintedTurn);
  const toImagePoint = (x: number, y: number): [number, number] => {
    const [ux, uy] = turnPoint(x, y, raw.width, raw.height, undo(turn));
    return [cut.x + (ux * cutW) / unturnedW, cut.y + (uy * cutH) / unturnedH];
  };
  const toCanvasPoint = (x: number, y: number): [number, number] => {
    const [ix, iy] = toImagePoint(x, y);
    const [px, py] = turnPoint(ix - origin.x, iy - origin.y, full.w, full.h, paintedTurn);
    return [painted.x + (px * painted.w) / paintedW, painted.y + (py * painted.h) / paintedH];
  };
  const mapBox = (point: (x: number, y: number) => [number, number]) => (box: Rect): Rect => {
    const [ax, ay] = point(box.x, box.y);
    const [bx, by] = point(box.x + box.w, box.y + box.h);
    return { x: Math.min(ax, bx), y: Math.min(ay, by), w: Math.abs(bx - ax), h: Math.abs(by - ay) };
  };
  const toCanvas = mapBox(toCanvasPoint);
  const toImage = mapBox(toImagePoint);
  const canvasRegion = toCanvas({ x: 0, y: 0, w: raw.width, h: raw.height });
  return { ...raw, channels: 3, request, sizedRequest: sizedRequest ?? request, canvasRegion, imageSize, exifOrientation, fromCache, toCanvas, toImage };
}

/**
 * A derived image's pixels as the image shows them (the painted turn undone, so the turns below
 * apply as to any fetch), cut to `region` and no larger than `target` asks: a stage that wants
 * fewer pixels than the enhancement made gets them resized, never more than it made.
 */
async function derivedPixels(fetcher: Fetcher, derived: DerivedImage, region: Rect | undefined, target: PlanTarget): Promise<{ raw: Raw; cut: Rect }> {
  if (!fetcher.derived) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `the job's prepared image is derived image ${derived.id}, and this process keeps no derived images (LOUPE_DATA_DIR)`, { details: { id: derived.id } });
  }
  const { png } = await fetcher.derived.get(derived.id);
  let raw = await decoding(`derived:${derived.id}`, () => toRaw(sharp(png).rotate(undo(derived.rotation as Quarter))));
  let cut: Rect = derived.imageRegion;
  if (region) ({ raw, cut } = await cutLocally(raw, cut, region));
  const [width, height] = fitInside(raw.width, raw.height, target);
  if (width !== raw.width || height !== raw.height) raw = await toRaw(fromRaw(raw).resize(width, height, { fit: 'fill' }));
  return { raw, cut };
}

/** A plan's pixels, decoded: a level-0 server may only offer more than the region, so just the region is kept. */
async function runPlan(fetcher: Fetcher, plan: ImageRequestPlan): Promise<{ raw: Raw; fromCache: boolean }> {
  const result = await fetcher.getPlanned(plan);
  let raw: Raw = { data: result.data, width: result.width, height: result.height };
  if (plan.crop) raw = await toRaw(fromRaw(raw).extract({ left: plan.crop.x, top: plan.crop.y, width: plan.crop.w, height: plan.crop.h }));
  return { raw, fromCache: result.fromCache };
}

/** Whether a shared request fitted inside `shared` holds every pixel `target` asks for. */
function covers(shared: NonNullable<FetchHints['shared']>, target: PlanTarget): boolean {
  // A short side has no bound in a fitted box (a long strip's short side can be tiny): never shared.
  return 'fit' in target && shared.fit.width >= target.fit.width && shared.fit.height >= target.fit.height;
}

/**
 * `region` (image pixels) cut out of `raw`, which shows `shown` (image pixels): the edges round
 * outwards to whole result pixels, and the cut returned is the image rectangle those pixels show
 * exactly, so mapping back to the image stays exact.
 */
async function cutLocally(raw: Raw, shown: Rect, region: Rect): Promise<{ raw: Raw; cut: Rect }> {
  const sx = raw.width / shown.w;
  const sy = raw.height / shown.h;
  const left = Math.max(0, Math.floor((region.x - shown.x) * sx));
  const top = Math.max(0, Math.floor((region.y - shown.y) * sy));
  const right = Math.min(raw.width, Math.max(left + 1, Math.ceil((region.x + region.w - shown.x) * sx)));
  const bottom = Math.min(raw.height, Math.max(top + 1, Math.ceil((region.y + region.h - shown.y) * sy)));
  if (left === 0 && top === 0 && right === raw.width && bottom === raw.height) return { raw, cut: shown };
  const cutRaw = await toRaw(fromRaw(raw).extract({ left, top, width: right - left, height: bottom - top }));
  return { raw: cutRaw, cut: { x: shown.x + left / sx, y: shown.y + top / sy, w: (right - left) / sx, h: (bottom - top) / sy } };
}

/**
 * The size a server would give for `target` from a w x h picture, as the planner asks for it: the
 * side the box binds at the box's size (never larger than the picture), the other in proportion.
 */
function fitInside(w: number, h: number, target: PlanTarget): [number, number] {
  if (!('fit' in target)) return [w, h];
  const { width, height } = target.fit;
  if (w * height >= h * width) {
    const px = Math.min(Math.ceil(width), w);
    return [px, Math.max(1, Math.round((h * px) / w))];
  }
  const px = Math.min(Math.ceil(height), h);
  return [Math.max(1, Math.round((w * px) / h)), px];
}

/** A decode that fails past the fetcher's checks is still the image's fault: a 422, not an internal error. */
async function decoding<T>(url: string, decode: () => Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (err) {
    if (err instanceof LoupeError) throw err;
    throw new LoupeError('LOUPE_ERR_IMAGE_DECODE', `${url}: the image cannot be decoded past its header (corrupt data)`, { cause: err, details: { url } });
  }
}

function intersect(a: Rect | undefined, b: Rect | undefined): Rect | undefined {
  if (!a || !b) return a ?? b;
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  return { x, y, w: Math.max(0, Math.min(a.x + a.w, b.x + b.w) - x), h: Math.max(0, Math.min(a.y + a.h, b.y + b.h) - y) };
}

function clampRegion(region: Rect, width: number, height: number, document: string): Rect {
  const x = Math.max(0, Math.floor(region.x));
  const y = Math.max(0, Math.floor(region.y));
  const w = Math.min(width, Math.ceil(region.x + region.w)) - x;
  const h = Math.min(height, Math.ceil(region.y + region.h)) - y;
  if (w <= 0 || h <= 0) {
    throw new LoupeError('LOUPE_ERR_IIIF_NO_PLAN', `the painted region ${region.x},${region.y},${region.w},${region.h} lies outside the ${width}x${height} image of ${document}`, {
      details: { region, width, height, document },
    });
  }
  return { x, y, w, h };
}

/** What an earlier stage said that changes a fetch: a preprocess result, or the hints of an embed request. */
export type FetchHintsSource = Pick<Partial<PreparedImage>, 'rotation' | 'region' | 'fetch' | 'enhanced'>;

/**
 * The hints a preprocess result carries for later stages: its `rotation`, the `region` of the
 * object it found, and the request the job shares. The result was checked where the stage took
 * it (`stageResult`). `region: false` leaves the object region out (text wants the whole page).
 */
export function fetchHints(preprocess: FetchHintsSource | undefined, use: { region?: boolean } = {}): FetchHints {
  if (!preprocess) return {};
  const { rotation, region, fetch, enhanced } = preprocess;
  const hints: { rotation?: Quarter; region?: Rect; shared?: FetchHints['shared']; derived?: DerivedImage } = {};
  if (rotation) hints.rotation = rotation;
  // A region without area would cut nothing out: the whole image is fetched, as without one.
  if (use.region !== false && region && region.w > 0 && region.h > 0) hints.region = region;
  if (fetch) hints.shared = { fit: fetch.fit };
  if (enhanced) hints.derived = enhanced;
  return hints;
}
