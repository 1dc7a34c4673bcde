import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import type { RawImage } from '../image-ops.js';
import { floatOutput } from '../session.js';
import { decodedOutput } from './ppocr-cards.js';
import { lineTensor, nextTurn, type LineGeometry } from './line-crop.js';

export interface RecognizedText {
  text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  confidence: number;
}

/** Narrower lines are padded to this aspect ratio, the width the model was trained at (320 px for 48). */
const MIN_ASPECT = 320 / 48;
/** Lines cut out ahead of the engine at most, so a dense page does not hold every crop at once. */
const WINDOW_BATCHES = 4;

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
        result[idx[n]!] = ctcGreedy(probs.data, 0, probs.dims[0]!, this.#classes);
      }
    }
    return result;
  }
}

/** Best class per step, repeats merged, blanks dropped; confidence is the mean best probability of what is kept. */
export function ctcGreedy(probs: Float32Array, offset: number, steps: number, classes: readonly string[]): RecognizedText {
  const c = classes.length;
  let text = '';
  let sum = 0;
  let kept = 0;
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
    if (best !== 0 && best !== previous) {
      text += classes[best]!;
      sum += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept === 0 ? 0 : sum / kept };
}
