/**
 * The plan of a synthetic watermark set: from each base picture, a few views (crops at different
 * places and scales), each written twice, clean and with a mark. Every file carries its base
 * picture as its group, so folds and splits keep a clean view and its marked twin together (see
 * groupedKFold): otherwise a fold would be scored on the twin of a picture it trained on.
 */
import { seededRandom } from '../random.js';
import { watermarkStream, type WatermarkSpec } from './marks.js';

/**
 * The concepts a watermark head decides between. No vocabulary on this machine has a concept for
 * a watermark that could be checked, so they are Loupe's own, named by the page that defines them.
 */
export const WATERMARK_CONCEPT = 'https://github.com/loupe-iiif/loupe/blob/main/docs/watermarks.md#watermark';
export const NO_WATERMARK_CONCEPT = 'https://github.com/loupe-iiif/loupe/blob/main/docs/watermarks.md#no-watermark';
export const WATERMARK_LABELS: Readonly<Record<string, string>> = { [WATERMARK_CONCEPT]: 'watermark', [NO_WATERMARK_CONCEPT]: 'no watermark' };

export interface WatermarkSetOptions {
  readonly seed: string | number;
  /** Views per base picture, default 4. */
  readonly views?: number;
}

export interface PlannedImage {
  /** The file to write, e.g. `harvesters.v2.marked.jpg`. */
  readonly file: string;
  /** The base picture it is cut from (its file name): the group. */
  readonly source: string;
  /** The crop as shares of the base picture. */
  readonly crop: { readonly left: number; readonly top: number; readonly width: number; readonly height: number };
  /** The mark, or none for the clean twin. */
  readonly mark?: WatermarkSpec;
  readonly concept: string;
}

/** Every file of the set, in a fixed order: the same sources and seed give the same plan. */
export function planWatermarkSet(sources: readonly string[], options: WatermarkSetOptions): PlannedImage[] {
  const views = options.views ?? 4;
  const nextMark = watermarkStream(options.seed);
  const plan: PlannedImage[] = [];
  for (const source of [...sources].sort()) {
    const random = seededRandom(`watermark-crop:${options.seed}:${source}`);
    const stem = source.replace(/\.[^.]+$/u, '');
    for (let v = 0; v < views; v++) {
      // The first view is the whole picture; the others keep 55 to 90 % of each side.
      const share = v === 0 ? 1 : 0.55 + random() * 0.35;
      const crop = { left: (1 - share) * random(), top: (1 - share) * random(), width: share, height: share };
      plan.push({ file: `${stem}.v${v}.clean.jpg`, source, crop, concept: NO_WATERMARK_CONCEPT });
      plan.push({ file: `${stem}.v${v}.marked.jpg`, source, crop, mark: nextMark(), concept: WATERMARK_CONCEPT });
    }
  }
  return plan;
}
