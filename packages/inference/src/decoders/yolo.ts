import type { PixelTransform } from '../image-ops.js';
import { floatOutput, type RunModel, shapeError, type Tensor } from './model-io.js';

/**
 * YOLOv8/v11 detection heads as Ultralytics exports them: one output of [N, 4 + C, A]
 * (box centre x, centre y, width, height in network-input pixels, then C class scores, no
 * objectness) for A anchors; some exports transpose it to [N, A, 4 + C].
 */

export interface YoloOptions {
  /** A box is kept when its best class score is at least this; 0.25 as Ultralytics predicts. */
  minScore?: number;
  /** Of two boxes of one class overlapping more than this (intersection over union), the lower-scoring goes; 0.7 as Ultralytics. */
  iouThreshold?: number;
  /** At most this many boxes per image, best first; 300 by default. */
  maxDetections?: number;
  /** Suppress overlaps across classes too (one box per object whatever its class). */
  classAgnostic?: boolean;
  /** Class count, which tells the layout apart when the anchor count is not the larger dimension; taken from `labels` when absent. */
  numClasses?: number;
  /** Class names by index (COCO's 80 for the stock detectors). */
  labels?: readonly string[];
  /** Boxes that enter suppression, best first; bounds the work on a noisy image. 30000 as Ultralytics. */
  maxCandidates?: number;
}

/** Where one image's boxes go: network pixels map to its pixels through `transform` (input = output * scale + offset), then are clamped to its size. */
export interface YoloFrame {
  transform?: PixelTransform;
  width?: number;
  height?: number;
}

export interface Detection {
  classIndex: number;
  label?: string;
  score: number;
  /** Top-left corner and size in the original image's pixels. */
  box: { x: number; y: number; w: number; h: number };
}

/** A box in network-input pixels, before suppression. */
export interface BoxCandidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classIndex: number;
}

/** What finishDetections needs to know: the suppression, how many boxes, and the class names. */
export interface FinishOptions {
  iouThreshold: number;
  maxDetections: number;
  /** Boxes that enter suppression, best first; bounds the work on a busy image. All by default. */
  maxCandidates?: number;
  /** Suppress overlaps across classes too (one box per object whatever its class). */
  classAgnostic?: boolean;
  labels?: readonly string[];
}

/** Runs a detector on a batch of images ([N, 3, 640, 640]) and decodes every image's boxes. */
export async function detectObjects(
  run: RunModel,
  images: Tensor,
  frames: readonly YoloFrame[],
  opts: YoloOptions & { inputName?: string; outputName?: string } = {},
): Promise<Detection[][]> {
  const outputName = opts.outputName ?? 'output0';
  const outputs = await run({ [opts.inputName ?? 'images']: images });
  return decodeYolo(floatOutput(outputs, outputName, 'detection'), frames, opts);
}

/** One list of detections per batch item, best score first. */
export function decodeYolo(output: { data: Float32Array; dims: readonly number[] }, frames: readonly YoloFrame[] = [], opts: YoloOptions = {}): Detection[][] {
  const dims = output.dims.length === 2 ? [1, ...output.dims] : [...output.dims];
  const [n, a, b] = dims;
  if (dims.length !== 3 || n === undefined || a === undefined || b === undefined || n * a * b !== output.data.length) {
    throw shapeError('detection', 'an output', output.dims);
  }
  const numClasses = opts.numClasses ?? opts.labels?.length;
  let channelsFirst: boolean;
  if (numClasses !== undefined) {
    if (a === 4 + numClasses) channelsFirst = true;
    else if (b === 4 + numClasses) channelsFirst = false;
    else throw shapeError('detection', `an output that fits no layout of 4 + ${numClasses} classes`, output.dims);
  } else {
    // A head has far more anchors (8400 at 640 x 640) than channels (84 for COCO).
    channelsFirst = a <= b;
  }
  const channels = channelsFirst ? a : b;
  const anchors = channelsFirst ? b : a;
  if (channels < 5) throw shapeError('detection', 'an output with fewer than 5 channels', output.dims);

  const minScore = opts.minScore ?? 0.25;
  const iouThreshold = opts.iouThreshold ?? 0.7;
  const maxDetections = opts.maxDetections ?? 300;
  const maxCandidates = opts.maxCandidates ?? 30_000;
  const perImage = channels * anchors;
  const results: Detection[][] = [];
  for (let img = 0; img < n; img++) {
    const base = img * perImage;
    // Strides of (channel, anchor) within one image.
    const [cs, as] = channelsFirst ? [anchors, 1] : [1, channels];
    const at = (c: number, k: number) => output.data[base + c * cs + k * as]!;
    const candidates: BoxCandidate[] = [];
    for (let k = 0; k < anchors; k++) {
      let best = -1;
      let score = -Infinity;
      for (let c = 4; c < channels; c++) {
        const s = at(c, k);
        if (s > score) {
          score = s;
          best = c - 4;
        }
      }
      if (!(score >= minScore)) continue;
      const cx = at(0, k);
      const cy = at(1, k);
      const hw = at(2, k) / 2;
      const hh = at(3, k) / 2;
      candidates.push({ x1: cx - hw, y1: cy - hh, x2: cx + hw, y2: cy + hh, score, classIndex: best });
    }
    results.push(finishDetections(candidates, frames[img] ?? {}, { ...opts, iouThreshold, maxDetections, maxCandidates }));
  }
  return results;
}

/** Greedy suppression over boxes sorted best first; returns the survivors in the same order. */
export function nonMaxSuppression<T extends BoxCandidate>(sorted: readonly T[], iouThreshold: number, classAgnostic = false): T[] {
  const kept: T[] = [];
  for (const box of sorted) {
    if (!kept.some((k) => (classAgnostic || k.classIndex === box.classIndex) && iou(k, box) > iouThreshold)) kept.push(box);
  }
  return kept;
}

export function iou(p: { x1: number; y1: number; x2: number; y2: number }, q: { x1: number; y1: number; x2: number; y2: number }): number {
  const w = Math.min(p.x2, q.x2) - Math.max(p.x1, q.x1);
  const h = Math.min(p.y2, q.y2) - Math.max(p.y1, q.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (p.x2 - p.x1) * (p.y2 - p.y1) + (q.x2 - q.x1) * (q.y2 - q.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Suppression, mapping to the image and labelling, shared by every box detector: candidates in
 * network pixels, any order, become detections in the image's pixels, best first. `extra` adds
 * fields (BlazeFace's keypoints) to each detection kept.
 */
export function finishDetections<C extends BoxCandidate, D extends Detection = Detection>(
  candidates: readonly C[],
  frame: YoloFrame,
  opts: FinishOptions,
  extra?: (c: C) => Omit<D, keyof Detection>,
): D[] {
  const sorted = [...candidates].sort((p, q) => q.score - p.score);
  if (opts.maxCandidates !== undefined) sorted.length = Math.min(sorted.length, opts.maxCandidates);
  const kept = nonMaxSuppression(sorted, opts.iouThreshold, opts.classAgnostic === true);
  const out: D[] = [];
  for (const c of kept) {
    if (out.length >= opts.maxDetections) break;
    const box = placeBox(frame, c);
    // A box that lies wholly in the letterbox padding has nothing of the image left.
    if (!box) continue;
    const label = opts.labels?.[c.classIndex];
    out.push({ classIndex: c.classIndex, ...(label === undefined ? {} : { label }), score: c.score, box, ...(extra?.(c) ?? {}) } as D);
  }
  return out;
}

/** A box in network pixels as x, y, w, h in the image's pixels, clamped to it; undefined when nothing of it is inside. */
export function placeBox(frame: YoloFrame, c: { x1: number; y1: number; x2: number; y2: number }): Detection['box'] | undefined {
  const t = frame.transform ?? { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 };
  const clampX = (v: number) => Math.min(frame.width ?? Infinity, Math.max(0, v));
  const clampY = (v: number) => Math.min(frame.height ?? Infinity, Math.max(0, v));
  const x1 = clampX(c.x1 * t.scaleX + t.offsetX);
  const y1 = clampY(c.y1 * t.scaleY + t.offsetY);
  const x2 = clampX(c.x2 * t.scaleX + t.offsetX);
  const y2 = clampY(c.y2 * t.scaleY + t.offsetY);
  return x2 > x1 && y2 > y1 ? { x: x1, y: y1, w: x2 - x1, h: y2 - y1 } : undefined;
}
