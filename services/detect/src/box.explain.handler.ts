import { LoupeError, SERVICE_APIS, defineHandler, explainOutput, type Rect } from '@loupe/contracts';
import { fetchCanvasImage, type Fetcher } from '@loupe/iiif';
import { saliencyOverlayPng, type Detector } from '@loupe/inference';
import { explainBox } from './box.explainer.js';

/** Masked copies are at most 512 px (occlusion's own limit); the overlay a curator sees is fetched a little larger. */
const EXPLANATION_FETCH_SIZE = 768;

/**
 * A canvas box in the fetched image's pixels: the inverse of the image's own toCanvas, read off
 * where the whole fetched frame lands on the canvas (the fetch scales; a painted rotation is not undone).
 */
function canvasBoxInPixels(box: Rect, image: { width: number; height: number; toCanvas(box: Rect): Rect }): Rect {
  const frame = image.toCanvas({ x: 0, y: 0, w: image.width, h: image.height });
  const sx = image.width / frame.w;
  const sy = image.height / frame.h;
  return { x: (box.x - frame.x) * sx, y: (box.y - frame.y) * sy, w: box.w * sx, h: box.h * sy };
}

/** POST /v1/detect/explain: why the detector drew a box, computed here where the detector is. */
export function boxExplainHandler(deps: { readonly fetcher: Fetcher; readonly detectorFor: (kind: 'objects' | 'faces') => Promise<Detector> }) {
  return defineHandler({
    ...SERVICE_APIS.detect.explain,
    async handler(input, ctx) {
      const started = performance.now();
      const canvas = input.canvas ?? (input.image.width && input.image.height ? { width: input.image.width, height: input.image.height } : undefined);
      if (!canvas) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', 'An explanation needs the canvas (`canvas`) or the image size (`image.width`, `image.height`) to place the box');
      }
      const detector = await deps.detectorFor(input.kind);
      const image = await fetchCanvasImage(deps.fetcher, input.image, canvas, { fit: { width: EXPLANATION_FETCH_SIZE, height: EXPLANATION_FETCH_SIZE } });
      const fetched = performance.now();
      const options = { ...(input.window !== undefined && { window: input.window }), ...(input.stride !== undefined && { stride: input.stride }), ...(input.baseline && { baseline: input.baseline }) };
      const target = { label: input.label, box: canvasBoxInPixels(input.box, image) };
      const map = await explainBox(image, detector, target, { ...options, signal: ctx.signal });
      const explained = performance.now();
      const overlay = await saliencyOverlayPng(image, map);
      return explainOutput(map, overlay, detector.model, (box) => image.toCanvas(box), { fetch: fetched - started, occlusion: explained - fetched, overlay: performance.now() - explained });
    },
  });
}
