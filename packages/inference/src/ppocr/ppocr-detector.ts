import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import { toInputTensor, type Point, type Quad, type RawImage } from '../image-ops.js';
import { floatOutput } from '../session.js';
import { decodedOutput } from './ppocr-cards.js';
import { DB_DEFAULTS, dbBoxes, rectCorners, type DbOptions } from './db-postprocess.js';

export interface DetectorOptions extends DbOptions {
  /** The longer side of the network input; larger finds smaller text and costs quadratically more. */
  maxSideLen?: number;
  /**
   * Lines thinner than this in the network input (median, pixels) make the detector
   * look again at a larger scale: small print at 960 px merges neighbouring lines.
   * 0 turns the second look off. Default 20 (print of about 16 px, 12 pt at 96 dpi).
   */
  minLineHeight?: number;
  /**
   * Mean text probability a region needs on the second look (default 0.45, or boxThreshold when
   * that is lower). Small print enlarged is blurred print, and the network is less sure of it: on
   * the quality script's modern low-res page its seven real lines scored 0.47 to 0.72 at the
   * second look, three of them under the first look's 0.6, while the specks and show-through the
   * first look turns down on the French page (0.51 to 0.60) never get a second look.
   */
  enlargedBoxThreshold?: number;
}

/** The median line height a second look aims at, and how much larger than maxSideLen it may go. */
const TARGET_LINE_HEIGHT = 32;
const MAX_SECOND_LOOK = 2;
const ENLARGED_BOX_THRESHOLD = 0.45;

export interface DetectedText {
  /** Corners top-left, top-right, bottom-right, bottom-left, in input-image pixels. */
  quad: Quad;
  score: number;
}

/** The network sees every side as a multiple of 32 (its five stride-2 stages). */
const STRIDE = 32;

export class PpocrDetector {
  readonly #runner: ModelRunner;
  readonly #opts: DetectorOptions;
  readonly #output: string;

  constructor(runner: ModelRunner, opts: DetectorOptions = {}) {
    this.#runner = runner;
    this.#opts = opts;
    this.#output = decodedOutput(runner);
  }

  async detect(image: RawImage, signal?: AbortSignal): Promise<DetectedText[]> {
    const maxSideLen = this.#opts.maxSideLen ?? 960;
    const first = await this.#detectAt(image, networkSize(image.width, image.height, maxSideLen), signal);
    const minLineHeight = this.#opts.minLineHeight ?? 20;
    if (first.lines.length === 0 || minLineHeight <= 0) return first.lines;
    const heights = first.lines.map((l) => Math.hypot(l.quad[3][0] - l.quad[0][0], l.quad[3][1] - l.quad[0][1]) * first.scale);
    const median = heights.sort((a, b) => a - b)[heights.length >> 1]!;
    if (median >= minLineHeight) return first.lines;
    const longest = Math.max(image.width, image.height);
    const grow = Math.min(TARGET_LINE_HEIGHT / median, (MAX_SECOND_LOOK * maxSideLen) / (longest * first.scale));
    if (grow < 1.25) return first.lines;
    const side = Math.round(longest * first.scale * grow);
    const boxThreshold = Math.min(this.#opts.enlargedBoxThreshold ?? ENLARGED_BOX_THRESHOLD, this.#opts.boxThreshold ?? DB_DEFAULTS.boxThreshold);
    const second = await this.#detectAt(image, networkSize(image.width, image.height, side, true), signal, { boxThreshold });
    return second.lines;
  }

  async #detectAt(
    image: RawImage,
    size: { width: number; height: number },
    signal: AbortSignal | undefined,
    override: DbOptions = {},
  ): Promise<{ lines: DetectedText[]; scale: number }> {
    const { width, height } = size;
    const { tensor, transform } = await toInputTensor(image, { ...this.#runner.card.input, width, height, resize: 'stretch' });
    const out = await this.#runner.run({ [this.#runner.inputName]: tensor }, signal ? { signal } : {});
    const prob = floatOutput(out, this.#output, 'the text detector');
    if (prob.dims.at(-1) !== width || prob.dims.at(-2) !== height) {
      throw new LoupeError('LOUPE_ERR_INFERENCE', `Detector output has shape [${prob.dims.join(',')}], expected [1,1,${height},${width}]`);
    }
    const found: DetectedText[] = [];
    for (const box of dbBoxes(prob.data, width, height, { ...this.#opts, ...override })) {
      const quad = rectCorners(box.rect).map(([x, y]): Point => [
        clamp(x * transform.scaleX + transform.offsetX, 0, image.width),
        clamp(y * transform.scaleY + transform.offsetY, 0, image.height),
      ]) as Quad;
      // Clipping at the page edge can flatten a box into a sliver not worth reading.
      if (sideLength(quad, 0) <= 3 || sideLength(quad, 1) <= 3) continue;
      found.push({ quad, score: box.score });
    }
    return { lines: found, scale: Math.sqrt((width * height) / (image.width * image.height)) };
  }
}

/** Network input size: scale so the longer side fits (enlarging only when asked), round each side to the stride. */
export function networkSize(width: number, height: number, maxSideLen: number, enlarge = false): { width: number; height: number } {
  const ratio = enlarge || Math.max(width, height) > maxSideLen ? maxSideLen / Math.max(width, height) : 1;
  return {
    width: Math.max(STRIDE, Math.round((width * ratio) / STRIDE) * STRIDE),
    height: Math.max(STRIDE, Math.round((height * ratio) / STRIDE) * STRIDE),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Length of the top edge (0) or the left edge (1). */
function sideLength(q: Quad, which: 0 | 1): number {
  const a = q[0];
  const b = which === 0 ? q[1] : q[3];
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}
