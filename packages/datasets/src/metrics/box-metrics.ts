import { LoupeError, isRecord } from '@loupe/contracts';
import type { Box } from '../model.js';

/**
 * Detection quality the Pascal VOC way: detections of one class, from every image, are taken best
 * score first and matched greedily to the ground truth; the area under the resulting
 * precision/recall curve is the average precision (AP). The rules follow the VOC devkit
 * (VOCevaldet.m, 2010 onwards) so that numbers can be compared with published ones:
 *
 * - A detection is compared with every ground-truth object of its class in its image, difficult
 *   ones included, and goes with the one it overlaps most. It is a true positive when that overlap
 *   is at least the threshold (`>=`, as the devkit's `ovmax >= minoverlap`; some Python ports use `>`,
 *   which only differs on an exact tie) and the object was not matched before; a second detection
 *   of a matched object is a false positive. It does not fall back to a less-overlapping free object
 *   (COCO's evaluator does; VOC does not).
 * - When the best object is "difficult" the detection is ignored: neither a true nor a false
 *   positive, and left out of the curve. Difficult objects do not count as positives either, so
 *   finding them neither helps nor hurts.
 * - AP is the all-point interpolated area: precision is first made non-increasing from the right
 *   (each point takes the best precision at any higher recall), then summed over the recall steps.
 *
 * Boxes are continuous: [x, x + w) by [y, y + h), area w * h. The devkit's "+1 pixel" inclusive
 * convention is not used; it belongs to integer corner coordinates, which Loupe does not have.
 */

// Top-left corner and size, in the image's pixels: the package's one box type, so a label's box
// is what AP measures.
export type { Box };

export interface GroundTruthObject {
  class: string;
  box: Box;
  /** Excluded from AP: neither a positive to find nor a false positive when found. */
  difficult?: boolean;
}

export interface ScoredDetection {
  class: string;
  box: Box;
  score: number;
}

/** Objects or detections by image id (a file name, a canvas id); every image has one entry. */
export type PerImage<T> = Readonly<Record<string, readonly T[]>>;

export interface ApOptions {
  /** The class evaluated; objects and detections of other classes are left out. */
  className: string;
  /** The overlap (intersection over union) a detection needs to match an object; 0.5 by default. */
  iouThreshold?: number;
}

export interface ApResult {
  /**
   * Area under the interpolated precision/recall curve, 0..1. `null` when the class has no
   * positives (no non-difficult object anywhere): recall is then undefined, and a number here would
   * be made up. JSON keeps `null` (it would turn NaN into null anyway).
   */
  ap: number | null;
  /** Precision after each counted detection, best score first (ignored detections have no point). */
  precision: number[];
  /** Recall at the same points; both are empty when there are no positives. */
  recall: number[];
  /** The score of the detection that made each point, so a point can be turned into a threshold. */
  scores: number[];
  tp: number;
  fp: number;
  /** Detections that matched a difficult object, left out of the counts and the curve. */
  ignored: number;
  /** Non-difficult objects of the class: what recall is measured against. */
  positives: number;
}

export interface EvaluateOptions {
  /** Classes to evaluate; by default every class seen in the ground truth or the detections, sorted. */
  classes?: readonly string[];
  iouThreshold?: number;
}

export interface DetectionEvaluation {
  byClass: Record<string, ApResult>;
  /** Mean AP over the classes that have positives; `null` when none has. */
  map: number | null;
  /** The classes that entered the mean. */
  mapClasses: string[];
  iouThreshold: number;
}

/** Intersection over union of two boxes; 0 when they only touch or when both are empty. */
export function boxIou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

const DEFAULT_IOU = 0.5;

export function averagePrecision(groundTruth: PerImage<GroundTruthObject>, detections: PerImage<ScoredDetection>, options: ApOptions): ApResult {
  const iouThreshold = checkThreshold(options.iouThreshold ?? DEFAULT_IOU);
  checkInputs(groundTruth, detections);
  const { className } = options;

  let positives = 0;
  const objects = new Map<string, { box: Box; difficult: boolean; taken: boolean }[]>();
  for (const [image, list] of Object.entries(groundTruth)) {
    const own = list.filter((o) => o.class === className).map((o) => ({ box: o.box, difficult: o.difficult === true, taken: false }));
    positives += own.filter((o) => !o.difficult).length;
    objects.set(image, own);
  }

  // Best first; a stable sort keeps equal scores in input order (images, then detections, as
  // given), which is what the devkit's MATLAB sort does, so ties are reproducible.
  const ranked: { image: string; det: ScoredDetection }[] = [];
  for (const [image, list] of Object.entries(detections)) {
    for (const det of list) if (det.class === className) ranked.push({ image, det });
  }
  ranked.sort((p, q) => q.det.score - p.det.score);

  let tp = 0;
  let fp = 0;
  let ignored = 0;
  const precision: number[] = [];
  const recall: number[] = [];
  const scores: number[] = [];
  for (const { image, det } of ranked) {
    let best = -1;
    let bestIou = 0;
    const candidates = objects.get(image) ?? [];
    candidates.forEach((o, i) => {
      const v = boxIou(det.box, o.box);
      if (v > bestIou) [best, bestIou] = [i, v];
    });
    const hit = best >= 0 && bestIou >= iouThreshold ? candidates[best]! : undefined;
    if (hit?.difficult) {
      ignored++;
      continue;
    }
    if (hit && !hit.taken) {
      hit.taken = true;
      tp++;
    } else {
      fp++;
    }
    if (positives > 0) {
      precision.push(tp / (tp + fp));
      recall.push(tp / positives);
      scores.push(det.score);
    }
  }

  return { ap: positives > 0 ? interpolatedArea(precision, recall) : null, precision, recall, scores, tp, fp, ignored, positives };
}

/** AP for each class, and their mean over the classes that have something to find. */
export function evaluateDetections(
  groundTruth: PerImage<GroundTruthObject>,
  detections: PerImage<ScoredDetection>,
  options: EvaluateOptions = {},
): DetectionEvaluation {
  const iouThreshold = checkThreshold(options.iouThreshold ?? DEFAULT_IOU);
  const classes = options.classes ?? [...new Set([...Object.values(groundTruth).flat(), ...Object.values(detections).flat()].map((o) => o.class))].sort();
  const byClass: Record<string, ApResult> = {};
  const mapClasses: string[] = [];
  let sum = 0;
  for (const className of classes) {
    const result = averagePrecision(groundTruth, detections, { className, iouThreshold });
    byClass[className] = result;
    if (result.ap !== null) {
      sum += result.ap;
      mapClasses.push(className);
    }
  }
  return { byClass, map: mapClasses.length > 0 ? sum / mapClasses.length : null, mapClasses, iouThreshold };
}

/**
 * All-point interpolation: the curve starts at recall 0 and ends at the last recall reached with
 * precision 0 beyond it; precision is made non-increasing from the right, and each rise in recall
 * contributes its width times the precision at its right end.
 */
function interpolatedArea(precision: readonly number[], recall: readonly number[]): number {
  const p = [0, ...precision, 0];
  const r = [0, ...recall, 1];
  for (let i = p.length - 2; i >= 0; i--) p[i] = Math.max(p[i]!, p[i + 1]!);
  let area = 0;
  for (let i = 1; i < r.length; i++) area += (r[i]! - r[i - 1]!) * p[i]!;
  return area;
}

function checkThreshold(value: number): number {
  if (!(value > 0 && value <= 1)) throw new LoupeError('LOUPE_ERR_VALIDATION', `iouThreshold must be in (0, 1], got ${value}`, { details: { iouThreshold: value } });
  return value;
}

/**
 * Bad numbers would not fail loudly (a NaN score sorts anywhere, a negative width overlaps
 * nothing), and detections for an image the ground truth does not list would all count as false
 * positives; a typo in an image id must not pass for a bad detector.
 */
function checkInputs(groundTruth: PerImage<GroundTruthObject>, detections: PerImage<ScoredDetection>): void {
  const bad = (image: string, what: string, item: unknown): never => {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${what} in image ${JSON.stringify(image)}`, { details: { image, item } });
  };
  for (const [image, list] of Object.entries(groundTruth)) {
    for (const o of list) if (!validBox(o.box)) bad(image, 'ground-truth box is not finite with non-negative size', o);
  }
  for (const [image, list] of Object.entries(detections)) {
    if (!Object.hasOwn(groundTruth, image)) bad(image, 'detections for an image without ground truth (list it with no objects if it has none)', list[0]);
    for (const d of list) {
      if (!validBox(d.box)) bad(image, 'detection box is not finite with non-negative size', d);
      if (!Number.isFinite(d.score)) bad(image, 'detection score is not a finite number', d);
    }
  }
}

function validBox(b: Box): boolean {
  return [b.x, b.y, b.w, b.h].every(Number.isFinite) && b.w >= 0 && b.h >= 0;
}

/** One image of a ground-truth file such as test/quality/detect-ground-truth.json. */
export interface GroundTruthImage {
  file: string;
  width: number;
  height: number;
  objects: GroundTruthObject[];
}

/**
 * Reads a ground-truth document ({ images: [{ file, width, height, objects: [{ class, box: [x, y, w, h],
 * difficult? }] }] }) into the shapes above; boxes must lie inside their image. Throws
 * LOUPE_ERR_VALIDATION naming the first problem.
 */
export function parseGroundTruth(doc: unknown): GroundTruthImage[] {
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `ground truth: ${message}`, { details });
  };
  const images = isRecord(doc) && Array.isArray(doc['images']) ? (doc['images'] as unknown[]) : fail('no "images" array', {});
  const seen = new Set<string>();
  return images.map((image, index) => {
    if (!isRecord(image)) return fail('an image entry is not an object', { index });
    const { file, width, height, objects } = image;
    if (typeof file !== 'string' || file === '') return fail('an image has no file name', { index });
    if (seen.has(file)) fail('an image is listed twice', { file });
    seen.add(file);
    if (!isPositiveInteger(width) || !isPositiveInteger(height)) return fail('width and height must be positive integers', { file });
    if (!Array.isArray(objects)) return fail('"objects" is not an array', { file });
    return {
      file,
      width,
      height,
      objects: objects.map((o: unknown, i): GroundTruthObject => {
        if (!isRecord(o) || typeof o['class'] !== 'string' || o['class'] === '') return fail('an object has no class', { file, object: i });
        const raw = o['box'];
        if (!Array.isArray(raw) || raw.length !== 4 || !raw.every((v) => typeof v === 'number' && Number.isFinite(v))) {
          return fail('a box is not [x, y, w, h]', { file, object: i });
        }
        const [x, y, w, h] = raw as [number, number, number, number];
        if (w <= 0 || h <= 0 || x < 0 || y < 0 || x + w > width || y + h > height) return fail('a box is empty or outside its image', { file, object: i, box: raw });
        if (o['difficult'] !== undefined && typeof o['difficult'] !== 'boolean') return fail('"difficult" is not a boolean', { file, object: i });
        return { class: o['class'], box: { x, y, w, h }, ...(o['difficult'] === true ? { difficult: true } : {}) };
      }),
    };
  });
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
