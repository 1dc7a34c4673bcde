import sharp from 'sharp';
import { LoupeError, type ImageRef, type Rect } from '@loupe/contracts';
import type { Fetcher } from './fetch/index.js';
import { parseImageInfo } from './image-info.js';
import { planImageRequest } from './planner.js';
import type { PlanTarget } from './types.js';

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
  readonly canvasRegion: Rect;
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
  let exifOrientation = 1;
  let fromCache: boolean;

  if (!image.service) {
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
    const plan = planImageRequest(info, region ? { ...target, region } : target);
    const result = await fetcher.getPlanned(plan);
    raw = { data: result.data, width: result.width, height: result.height };
    // A level-0 server may only offer more than the region: keep just the region.
    if (plan.crop) raw = await toRaw(fromRaw(raw).extract({ left: plan.crop.x, top: plan.crop.y, width: plan.crop.w, height: plan.crop.h }));
    request = plan.kind === 'single' ? plan.url! : `${plan.tiles!.length} tiles of ${image.service.id}`;
    fromCache = result.fromCache;
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
  return { ...raw, channels: 3, request, canvasRegion, exifOrientation, fromCache, toCanvas, toImage };
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

/**
 * The hints a preprocess result carries for later stages (its `rotation`, and the `region` of the
 * object it found), read defensively: a stage gets no hint from a result it cannot read.
 * `region: false` leaves the object region out (text wants the whole page).
 */
export function fetchHints(preprocess: unknown, use: { region?: boolean } = {}): FetchHints {
  if (!preprocess || typeof preprocess !== 'object') return {};
  const { rotation, region } = preprocess as { rotation?: unknown; region?: unknown };
  const hints: { rotation?: Quarter; region?: Rect } = {};
  if (rotation === 90 || rotation === 180 || rotation === 270) hints.rotation = rotation;
  if (use.region !== false && region && typeof region === 'object') {
    const r = region as Rect;
    if ([r.x, r.y, r.w, r.h].every((v) => typeof v === 'number' && Number.isFinite(v)) && r.w > 0 && r.h > 0) hints.region = r;
  }
  return hints;
}
