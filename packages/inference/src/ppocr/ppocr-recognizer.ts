import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import type { RawImage } from '../image-ops.js';
import { floatOutput } from '../session.js';
import { decodedOutput } from './ppocr-cards.js';
import { cropWidth, lineTensor, nextTurn, type LineGeometry } from './line-crop.js';

export interface RecognizedText {
  text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  confidence: number;
  /** The characters of `text` in order, each where the recogniser saw it. */
  chars: RecognizedChar[];
}

/**
 * One decoded character and the stretch of the line it was read from: `start` and `end` are
 * fractions of the crop's width (0: its left edge, 1: its right edge), from the CTC steps that
 * chose it. CTC places a character where it fires, not where its ink ends, so the stretch is
 * approximate: about one output step (8 px of a 48 px high crop) each side.
 */
export interface RecognizedChar {
  text: string;
  /** Probability of the step that emitted it. */
  confidence: number;
  start: number;
  end: number;
}

/** Narrower lines are padded to this aspect ratio, the width the model was trained at (320 px for 48). */
const MIN_ASPECT = 320 / 48;
/** Lines cut out ahead of the engine at most, so a dense page does not hold every crop at once. */
const WINDOW_BATCHES = 4;

/** Input columns per output step: PP-OCR's recognisers read a 320 px wide crop as 40 steps. */
const REC_STEP_PX = 8;

/** How the engine lets lines of different widths share a run: zeros on the right, as PaddleOCR pads its batches. */
export const REC_PADDING = { axes: [3], value: 0 } as const;

/** Reads horizontal text-line crops with a CTC recogniser. */
export class PpocrRecognizer {
  readonly #runner: ModelRunner;
  /** Class index to text: 0 is the CTC blank, then the dictionary, then a space. */
  readonly #classes: string[];
  readonly #output: string;

  /** The runner must be loaded with REC_PADDING on its input. */
  constructor(runner: ModelRunner, keys: readonly string[]) {
    this.#runner = runner;
    this.#classes = ['', ...keys, ' '];
    this.#output = decodedOutput(runner);
  }

  async recognize(image: RawImage, lines: readonly LineGeometry[], signal?: AbortSignal): Promise<RecognizedText[]> {
    const spec = this.#runner.card.input;
    const height = spec.height ?? 48;
    const step = spec.multipleOf ?? 8;
    const result: RecognizedText[] = new Array(lines.length);
    // Lines go to the engine sorted by shape, so that those sharing a run are alike and little of it is padding.
    const aspect = lines.map((l) => l.width / Math.max(l.height, 1e-6));
    const order = lines.map((_, i) => i).sort((a, b) => aspect[a]! - aspect[b]!);
    const window = this.#runner.limits.maxBatch * WINDOW_BATCHES;
    for (let start = 0; start < order.length; start += window) {
      const idx = order.slice(start, start + window);
      const feeds = [];
      for (const i of idx) {
        const width = Math.ceil((height * Math.max(MIN_ASPECT, aspect[i]!)) / step) * step;
        feeds.push(lineTensor(image, lines[i]!.quad, aspect[i]!, spec, width));
        await nextTurn();
      }
      const runs = feeds.map((x) => this.#runner.run({ [this.#runner.inputName]: x }, signal ? { signal } : {}));
      const outs = await Promise.all(runs);
      for (const [n, out] of outs.entries()) {
        if (n > 0) await nextTurn();
        const probs = floatOutput(out, this.#output, 'the text recogniser');
        if (probs.dims.length !== 2 || probs.dims[1] !== this.#classes.length) {
          throw new LoupeError(
            'LOUPE_ERR_INFERENCE',
            `Recogniser output has shape [${probs.dims.join(',')}], expected [T,${this.#classes.length}]`,
          );
        }
        const steps = probs.dims[0]!;
        const decoded = ctcGreedy(probs.data, 0, steps, this.#classes);
        // The line's own pixels fill only the left part of its tensor, and the engine may have padded
        // that tensor further to share a run, so a step is the model's stride, not a share of the
        // tensor. Too few steps for that stride means a coarser model: then share out its own tensor.
        const tensorWidth = feeds[n]!.dims[2]!;
        const stride = steps * REC_STEP_PX >= tensorWidth ? REC_STEP_PX : tensorWidth / steps;
        const lineWidth = cropWidth(height, aspect[idx[n]!]!, tensorWidth);
        const toCrop = (step: number) => Math.min(1, (step * stride) / lineWidth);
        decoded.chars = decoded.chars.map((c) => ({ ...c, start: toCrop(c.start), end: toCrop(c.end) }));
        result[idx[n]!] = decoded;
      }
    }
    return result;
  }
}

/**
 * Best class per step, repeats merged, blanks dropped; confidence is the mean best probability of
 * what is kept. Each character's `start` and `end` are output steps: from the first step of its
 * run to just after its last (so a one-step character spans half a step each side of its centre).
 */
export function ctcGreedy(probs: Float32Array, offset: number, steps: number, classes: readonly string[]): RecognizedText {
  const c = classes.length;
  let text = '';
  let sum = 0;
  const chars: RecognizedChar[] = [];
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const base = offset + t * c;
    let best = 0;
    let bestP = probs[base]!;
    for (let k = 1; k < c; k++) {
      const p = probs[base + k]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    if (best !== 0 && best === previous) chars.at(-1)!.end = t + 1;
    else if (best !== 0) {
      text += classes[best]!;
      sum += bestP;
      chars.push({ text: classes[best]!, confidence: bestP, start: t, end: t + 1 });
    }
    previous = best;
  }
  return { text, confidence: chars.length === 0 ? 0 : sum / chars.length, chars };
}
