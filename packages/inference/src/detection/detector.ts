import { LoupeError } from '@loupe/contracts';
import type { ModelRunner, RunOptions } from '../engine/model-runner.js';
import { toInputTensor, type RawImage } from '../image-ops.js';
import { BLAZEFACE_KEYPOINTS, decodeBlazeFace } from '../decoders/blazeface.js';
import { CENTERNET_OUTPUT, decodeCenterNet } from '../decoders/centernet.js';
import { decodeNanoDet } from '../decoders/nanodet.js';
import { decodeYolo, type Detection } from '../decoders/yolo.js';
import { floatOutput, floatOutputs, type Tensor } from '../decoders/model-io.js';

export interface DetectedBox {
  /** The class name (a COCO class, or "face"). */
  readonly label: string;
  /** The concept the class means (a Wikidata entity), where the card gives one. */
  readonly uri?: string;
  readonly score: number;
  /** In the image's pixels, top-left corner and size. */
  readonly box: { x: number; y: number; w: number; h: number };
  /** Named points (a face's eyes, nose, mouth, ears) in the image's pixels. */
  readonly keypoints?: Readonly<Record<string, readonly [number, number]>>;
}

export interface DetectOptions extends RunOptions {
  /** Boxes scoring below this are dropped; the card's `output.options.minScore` by default. */
  minScore?: number;
}

export interface Detector {
  readonly model: { readonly id: string; readonly version: string; readonly name: string };
  readonly task: 'object-detection' | 'face-detection';
  detect(image: RawImage, opts?: DetectOptions): Promise<DetectedBox[]>;
}

type Decode = (outputs: Record<string, Tensor>, frame: { transform: import('../image-ops.js').PixelTransform; width: number; height: number }, opts: Record<string, unknown>) => Detection[];

/** The decoders a detection card may name, each turning the graph's outputs into boxes in the image's pixels. */
const DECODERS: Record<string, Decode> = {
  centernet: (outputs, frame, opts) =>
    decodeCenterNet(floatOutput(outputs, typeof opts['output'] === 'string' ? opts['output'] : CENTERNET_OUTPUT, 'centernet'), frame, opts),
  nanodet: (outputs, frame, opts) => decodeNanoDet(floatOutputs(outputs, 'nanodet'), frame, opts),
  blazeface: (outputs, frame, opts) => decodeBlazeFace(floatOutputs(outputs, 'blazeface'), frame, opts),
  yolo: (outputs, frame, opts) => decodeYolo(floatOutput(outputs, typeof opts['output'] === 'string' ? opts['output'] : 'output0', 'yolo'), [frame], opts)[0] ?? [],
};

/**
 * Runs a card of task `object-detection` or `face-detection` through the engine: the card's input
 * spec prepares the pixels (stretch or letterbox), its decoder reads the outputs, and boxes come
 * back in the image's pixels with the card's label and concept URI for each class.
 */
export function createDetector(runner: ModelRunner): Detector {
  const card = runner.card;
  const decode = DECODERS[card.output.decoder];
  if ((card.task !== 'object-detection' && card.task !== 'face-detection') || !decode) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `card ${card.id} cannot detect: it needs task "object-detection" or "face-detection" and a decoder among ${Object.keys(DECODERS).join(', ')} (it has ${card.task}, ${card.output.decoder})`,
      { details: { model: card.id, task: card.task, decoder: card.output.decoder } },
    );
  }
  const labels = card.labels ?? [];
  if (labels.length === 0) throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `card ${card.id} lists no labels: a detector needs its classes`, { details: { model: card.id } });
  const cardOptions = card.output.options ?? {};
  return {
    model: { id: card.id, version: card.version, name: card.name },
    task: card.task,
    async detect(image, opts = {}) {
      const { tensor, transform } = await toInputTensor(image, card.input);
      const outputs = await runner.run({ [runner.inputName]: tensor }, opts.signal ? { signal: opts.signal } : {});
      const found = decode(outputs, { transform, width: image.width, height: image.height }, {
        ...cardOptions,
        labels: labels.map((l) => l.name),
        ...(opts.minScore !== undefined && { minScore: opts.minScore }),
      });
      return found.map((d): DetectedBox => {
        const label = labels[d.classIndex];
        const points = (d as Detection & { keypoints?: [number, number][] }).keypoints;
        return {
          label: label?.name ?? String(d.classIndex),
          ...(label?.uri && { uri: label.uri }),
          score: d.score,
          box: d.box,
          ...(points && card.task === 'face-detection' && {
            keypoints: Object.fromEntries(points.map((p, i) => [BLAZEFACE_KEYPOINTS[i] ?? `point ${i + 1}`, p] as const)),
          }),
        };
      });
    },
  };
}
