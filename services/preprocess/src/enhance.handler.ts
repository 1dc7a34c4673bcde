import { LoupeError, SERVICE_APIS, defineHandler, type EnhanceInput, type ImageRef, type Rect } from '@loupe/contracts';
import { fetchCanvasImage, type Fetcher } from '@loupe/iiif';
import type { Enhancer } from './image-enhancer.js';

/**
 * POST /v1/preprocess/enhance: an image, or a region of it in canvas coordinates, deblurred and/or
 * upscaled. The source pixels are fetched at `size` (the region alone when there is one, so a
 * detail comes at the server's resolution); the result is kept as a derived image.
 */
export function enhanceHandler(fetcher: Fetcher, enhancer: () => Enhancer) {
  return defineHandler({
    ...SERVICE_APIS.preprocess.enhance,
    async handler(input: EnhanceInput, ctx) {
      const size = input.size ?? 1024;
      const target = { fit: { width: size, height: size } };
      const { image } = input;
      // Without a canvas the image is its own canvas: its size comes with the first fetch.
      let canvas = input.canvas ?? (image.width && image.height ? { width: image.width, height: image.height } : undefined);
      let fetched = await fetchCanvasImage(fetcher, image, canvas ?? { width: 1, height: 1 }, target);
      canvas ??= image.region ? { width: image.region.w, height: image.region.h } : fetched.imageSize;
      if (input.region) {
        fetched = await fetchCanvasImage(fetcher, image, canvas, target, { region: imageRegionOf(input.region, image, canvas, fetched.imageSize) });
      } else if (!input.canvas) {
        fetched = await fetchCanvasImage(fetcher, image, canvas, target);
      }
      const derived = await enhancer().enhance(fetched, input, {
        rotation: image.rotation ?? 0,
        ...(input.canvas?.id && { canvas: input.canvas.id }),
        signal: ctx.signal,
        working: () => ctx.working(),
      });
      return { ...derived, links: { image: `/v1/derived/${derived.id}`, provenance: `/v1/derived/${derived.id}.json` } };
    },
  });
}

/** A canvas rectangle in the pixels of the image painted there (unrotated paintings: a turned one is refused). */
function imageRegionOf(region: Rect, image: ImageRef, canvas: { width: number; height: number }, imageSize: { width: number; height: number }): Rect {
  if (image.rotation) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'a region is taken from unrotated paintings only: this image is painted turned', { details: { errors: [{ path: '/region', message: 'painting is rotated' }] } });
  }
  const painted = image.target ?? { x: 0, y: 0, w: canvas.width, h: canvas.height };
  const part = image.region ?? { x: 0, y: 0, w: imageSize.width, h: imageSize.height };
  const sx = part.w / painted.w;
  const sy = part.h / painted.h;
  const x = Math.max(region.x, painted.x);
  const y = Math.max(region.y, painted.y);
  const w = Math.min(region.x + region.w, painted.x + painted.w) - x;
  const h = Math.min(region.y + region.h, painted.y + painted.h) - y;
  if (!(w > 0 && h > 0)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `region ${region.x},${region.y},${region.w},${region.h} lies outside the image painted at ${painted.x},${painted.y},${painted.w},${painted.h}`, {
      details: { errors: [{ path: '/region', message: 'outside the painted image' }] },
    });
  }
  return { x: part.x + (x - painted.x) * sx, y: part.y + (y - painted.y) * sy, w: w * sx, h: h * sy };
}
