import type { ImageRef, Rect } from '@loupe/contracts';
import type { Fetcher } from './fetch/index.js';
import { parseImageInfo } from './image-info.js';
import { planImageRequest } from './planner.js';
import type { PlanTarget } from './types.js';

/**
 * A canvas image as a model stage receives it: either still encoded (a plain
 * image with no Image API service: EXIF orientation and colour space still to
 * apply) or raw RGB decoded from an Image API response. `canvasRegion` is the
 * part of the canvas, in canvas units, that the image's pixels cover, so a box in
 * result pixels maps to the canvas as region.x + px * region.w / width.
 */
export type CanvasImage =
  | { readonly kind: 'encoded'; readonly data: Buffer; readonly request: string; readonly canvasRegion: Rect; readonly fromCache: boolean }
  | {
      readonly kind: 'raw';
      readonly data: Buffer;
      readonly width: number;
      readonly height: number;
      readonly request: string;
      readonly canvasRegion: Rect;
      readonly fromCache: boolean;
    };

/**
 * Fetches the image painted on a canvas at the size a model needs: through its
 * Image API service (info.json, then the cheapest valid request or stitched
 * tiles), or the plain URL when it has no service.
 */
export async function fetchCanvasImage(
  fetcher: Fetcher,
  image: ImageRef,
  canvas: { readonly width: number; readonly height: number },
  target: PlanTarget,
): Promise<CanvasImage> {
  const painted: Rect = image.target ?? { x: 0, y: 0, w: canvas.width, h: canvas.height };
  if (!image.service) {
    const fetched = await fetcher.getImage(image.id);
    return { kind: 'encoded', data: fetched.data, request: fetched.url, canvasRegion: painted, fromCache: fetched.fromCache };
  }
  const infoUrl = `${image.service.id}/info.json`;
  const info = parseImageInfo(await fetcher.getJson(infoUrl), infoUrl);
  const plan = planImageRequest(info, target);
  const result = await fetcher.getPlanned(plan);
  // The plan's region is in full-image pixels; the painted area spans the full image.
  const sx = painted.w / info.width;
  const sy = painted.h / info.height;
  const canvasRegion: Rect = {
    x: painted.x + plan.region.x * sx,
    y: painted.y + plan.region.y * sy,
    w: plan.region.w * sx,
    h: plan.region.h * sy,
  };
  const request = plan.kind === 'single' ? plan.url! : `${plan.tiles!.length} tiles of ${image.service.id}`;
  return { kind: 'raw', data: result.data, width: result.width, height: result.height, request, canvasRegion, fromCache: result.fromCache };
}
