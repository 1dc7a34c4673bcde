import { LoupeError } from '@loupe/contracts';
import type { RawImage } from '../image-ops.js';
import type { ModelSession } from '../session.js';
import { lineBatch, type LineGeometry } from './line-crop.js';

export interface RecognizedText {
  text: string;
  /** Mean probability of the characters kept; 0 for an empty line. */
  confidence: number;
}

const HEIGHT = 48;
/** Narrower batches are padded to this aspect ratio, the width the model was trained at (320 px). */
const MIN_ASPECT = 320 / 48;

/** Reads horizontal text-line crops with a CTC recogniser. */
export class PpocrRecognizer {
  readonly #session: ModelSession;
  /** Class index to text: 0 is the CTC blank, then the dictionary, then a space. */
  readonly #classes: string[];
  readonly #batchSize: number;
  readonly #input: string;
  readonly #output: string;

  constructor(session: ModelSession, keys: readonly string[], opts: { batchSize?: number } = {}) {
    this.#session = session;
    this.#classes = ['', ...keys, ' '];
    this.#batchSize = opts.batchSize ?? 8;
    this.#input = session.inputNames[0] ?? 'x';
    this.#output = session.outputNames[0] ?? 'softmax_11.tmp_0';
  }

  async recognize(image: RawImage, lines: readonly LineGeometry[], signal?: AbortSignal): Promise<RecognizedText[]> {
    const result: RecognizedText[] = new Array(lines.length);
    // Batching lines of similar shape keeps the zero padding (wasted compute) small.
    const aspect = lines.map((l) => l.width / Math.max(l.height, 1e-6));
    const order = lines.map((_, i) => i).sort((a, b) => aspect[a]! - aspect[b]!);
    for (let start = 0; start < order.length; start += this.#batchSize) {
      const idx = order.slice(start, start + this.#batchSize);
      const ratios = idx.map((i) => aspect[i]!);
      const maxAspect = Math.max(MIN_ASPECT, ...ratios);
      const width = Math.ceil((HEIGHT * maxAspect) / 8) * 8;
      const data = lineBatch(image, idx.map((i) => lines[i]!.quad), ratios, HEIGHT, width);
      const out = await this.#session.run({ [this.#input]: { data, dims: [idx.length, 3, HEIGHT, width] } }, signal ? { signal } : {});
      const probs = out[this.#output];
      if (!probs || probs.dims.length !== 3 || probs.dims[0] !== idx.length || probs.dims[2] !== this.#classes.length) {
        throw new LoupeError(
          'LOUPE_ERR_INFERENCE',
          `Recogniser output has shape [${probs?.dims.join(',')}], expected [${idx.length},T,${this.#classes.length}]`,
        );
      }
      const steps = probs.dims[1]!;
      idx.forEach((lineIndex, n) => {
        result[lineIndex] = ctcGreedy(probs.data, n * steps * this.#classes.length, steps, this.#classes);
      });
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
