import { iou, occlusionSaliency, type Detector, type ImageScorer, type OcclusionOptions, type RawImage, type SaliencyMap } from '@loupe/inference';

export interface BoxToExplain {
  /** The detector's class name (a COCO class, or "face"). */
  readonly label: string;
  /** In the image's pixels. */
  readonly box: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
}

/**
 * Boxes far below any useful threshold are still read: as parts are hidden a box's score falls
 * smoothly through them, and cutting it off at the detector's usual 0.3 would turn the map into steps.
 */
const FAINT = 0.01;

/**
 * The detector's belief in this box as a function of the image: the best score among boxes of
 * the same class, each weighted by its overlap (IoU) with the box explained, so that a hidden
 * part which moves the box or shrinks it counts as well as one which removes it.
 */
export function boxScorer(detector: Detector, target: BoxToExplain, frame: { readonly width: number; readonly height: number }): ImageScorer {
  // Detectors rarely take batches, so each image waits its turn in the engine's queue: starting them together keeps that queue full.
  return (images, signal) =>
    Promise.all(
      images.map(async (image) => {
        // Occlusion may mask a smaller copy than the image the box was found on.
        const sx = image.width / frame.width;
        const sy = image.height / frame.height;
        const { x, y, w, h } = target.box;
        const wanted = { x1: x * sx, y1: y * sy, x2: (x + w) * sx, y2: (y + h) * sy };
        const found = await detector.detect(image, { minScore: FAINT, ...(signal && { signal }) });
        let best = 0;
        for (const d of found) {
          if (d.label !== target.label) continue;
          best = Math.max(best, d.score * iou(wanted, { x1: d.box.x, y1: d.box.y, x2: d.box.x + d.box.w, y2: d.box.y + d.box.h }));
        }
        return best;
      }),
    );
}

/** Why the detector drew this box: the parts of the image whose hiding weakens or moves it most. */
export function explainBox(image: RawImage, detector: Detector, target: BoxToExplain, opts: OcclusionOptions = {}): Promise<SaliencyMap> {
  return occlusionSaliency(image, boxScorer(detector, target, image), opts);
}
