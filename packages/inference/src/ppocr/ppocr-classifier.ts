import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import type { RawImage } from '../image-ops.js';
import { floatOutput } from '../session.js';
import { decodedOutput } from './ppocr-cards.js';
import { lineTensor, nextTurn, type LineGeometry } from './line-crop.js';

export interface LineOrientation {
  /** The more likely of the two. */
  angle: 0 | 180;
  /** Probability of that angle. */
  score: number;
}

/** Lines cut out ahead of the engine at most, so a dense page does not hold every crop at once. */
const WINDOW_BATCHES = 4;

/** Tells upright text lines from lines turned half a turn. */
export class PpocrClassifier {
  readonly #runner: ModelRunner;
  readonly #output: string;

  constructor(runner: ModelRunner) {
    this.#runner = runner;
    this.#output = decodedOutput(runner);
  }

  async classify(image: RawImage, lines: readonly LineGeometry[], signal?: AbortSignal): Promise<LineOrientation[]> {
    const spec = this.#runner.card.input;
    // Long lines are squeezed into the fixed width: orientation survives it, and the model only knows this width.
    const width = spec.width ?? 192;
    const window = this.#runner.limits.maxBatch * WINDOW_BATCHES;
    const result: LineOrientation[] = [];
    for (let start = 0; start < lines.length; start += window) {
      const feeds = [];
      for (const line of lines.slice(start, start + window)) {
        feeds.push(lineTensor(image, line.quad, line.width / line.height, spec, width));
        await nextTurn();
      }
      const runs = feeds.map((x) => this.#runner.run({ [this.#runner.inputName]: x }, signal ? { signal } : {}));
      for (const out of await Promise.all(runs)) {
        const probs = floatOutput(out, this.#output, 'the text orientation classifier');
        if (probs.data.length !== 2) {
          throw new LoupeError('LOUPE_ERR_INFERENCE', `Classifier output has shape [${probs.dims.join(',')}], expected [2]`);
        }
        const [p0, p180] = [probs.data[0]!, probs.data[1]!];
        result.push(p180 > p0 ? { angle: 180, score: p180 } : { angle: 0, score: p0 });
      }
    }
    return result;
  }
}
