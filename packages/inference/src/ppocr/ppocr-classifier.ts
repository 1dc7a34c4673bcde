import { LoupeError } from '@loupe/contracts';
import type { RawImage } from '../image-ops.js';
import type { ModelSession } from '../session.js';
import { lineBatch, type LineGeometry } from './line-crop.js';

export interface LineOrientation {
  /** The more likely of the two. */
  angle: 0 | 180;
  /** Probability of that angle. */
  score: number;
}

const HEIGHT = 48;
const WIDTH = 192;

/** Tells upright text lines from lines turned half a turn. */
export class PpocrClassifier {
  readonly #session: ModelSession;
  readonly #batchSize: number;
  readonly #input: string;
  readonly #output: string;

  constructor(session: ModelSession, opts: { batchSize?: number } = {}) {
    this.#session = session;
    this.#batchSize = opts.batchSize ?? 16;
    this.#input = session.inputNames[0] ?? 'x';
    this.#output = session.outputNames[0] ?? 'softmax_0.tmp_0';
  }

  async classify(image: RawImage, lines: readonly LineGeometry[], signal?: AbortSignal): Promise<LineOrientation[]> {
    const result: LineOrientation[] = [];
    for (let start = 0; start < lines.length; start += this.#batchSize) {
      const batch = lines.slice(start, start + this.#batchSize);
      // Long lines are squeezed into the fixed 192 px: orientation survives it, and the model only knows this width.
      const data = lineBatch(image, batch.map((l) => l.quad), batch.map((l) => l.width / l.height), HEIGHT, WIDTH);
      const out = await this.#session.run(
        { [this.#input]: { data, dims: [batch.length, 3, HEIGHT, WIDTH] } },
        signal ? { signal } : {},
      );
      const probs = out[this.#output];
      if (!probs || probs.dims[0] !== batch.length || probs.dims[1] !== 2) {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `Classifier output has shape [${probs?.dims.join(',')}], expected [${batch.length},2]`);
      }
      for (let i = 0; i < batch.length; i++) {
        const p0 = probs.data[i * 2]!;
        const p180 = probs.data[i * 2 + 1]!;
        result.push(p180 > p0 ? { angle: 180, score: p180 } : { angle: 0, score: p0 });
      }
    }
    return result;
  }
}
