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
}

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
): Promise<CanvasImage> {
  const painted: Rect = image.target ?? { x: 0, y: 0, w: canvas.width, h: canvas.height };
  let raw: Raw;
  let request: string;
  let exifOrientation = 1;
  let fromCache: boolean;

  if (!image.service) {
    const fetched = await fetcher.getImage(image.id);
    exifOrientation = (await sharp(fetched.data).metadata()).orientation ?? 1;
    let pipeline = sharp(fetched.data, { limitInputPixels: fetcher.options.maxPixels }).rotate();
    if (image.region) {
      const r = clampRegion(image.region, exifOrientation >= 5 ? fetched.height : fetched.width, exifOrientation >= 5 ? fetched.width : fetched.height, image.id);
      // After rotate(): sharp extracts from the upright image, whose axes the region is given in.
      pipeline = pipeline.extract({ left: r.x, top: r.y, width: r.w, height: r.h });
    }
    raw = await toRaw(pipeline);
    request = fetched.url;
    fromCache = fetched.fromCache;
  } else {
    const infoUrl = `${image.service.id}/info.json`;
    const info = parseImageInfo(await fetcher.getJson(infoUrl), infoUrl);
    const region = image.region ? clampRegion(image.region, info.width, info.height, infoUrl) : undefined;
    const plan = planImageRequest(info, region ? { ...target, region } : target);
    const result = await fetcher.getPlanned(plan);
    raw = { data: result.data, width: result.width, height: result.height };
    // A level-0 server may only offer more than the region: keep just the region.
    if (plan.crop) raw = await toRaw(fromRaw(raw).extract({ left: plan.crop.x, top: plan.crop.y, width: plan.crop.w, height: plan.crop.h }));
    request = plan.kind === 'single' ? plan.url! : `${plan.tiles!.length} tiles of ${image.service.id}`;
    fromCache = result.fromCache;
  }
  if (image.rotation) raw = await toRaw(fromRaw(raw).rotate(image.rotation));
  return { ...raw, channels: 3, request, canvasRegion: painted, exifOrientation, fromCache };
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
