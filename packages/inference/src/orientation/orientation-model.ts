import { LoupeError } from '@loupe/contracts';
import type { ModelRunner } from '../engine/model-runner.js';
import { toInputTensor, type RawImage } from '../image-ops.js';
import { softmax } from '../decoders/clip.js';

export type Quarter = 0 | 90 | 180 | 270;

export interface OrientationResult {
  /** The clockwise IIIF rotation that makes the image upright. */
  rotation: Quarter;
  confidence: number;
  scores: Record<string, number>;
}

/**
 * The card slot for a whole-image orientation model (task `orientation`), for institutions that
 * train one: any classifier whose labels are the clockwise rotations that make an image upright
 * ("0", "90", "180", "270", in the order of its output). Loupe turns the image by the winning label.
 */
export function createOrientationClassifier(runner: ModelRunner): { classify(image: RawImage, opts?: { signal?: AbortSignal }): Promise<OrientationResult> } {
  const card = runner.card;
  const labels = (card.labels ?? []).map((l) => Number(l.name));
  if (card.task !== 'orientation' || labels.length === 0 || labels.some((r) => ![0, 90, 180, 270].includes(r))) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `card ${card.id} cannot serve as an orientation model: it needs task "orientation" and labels naming clockwise rotations (0, 90, 180, 270)`,
      { details: { model: card.id, task: card.task, labels: card.labels ?? [] } },
    );
  }
  return {
    async classify(image, opts = {}) {
      const { tensor } = await toInputTensor(image, card.input);
      const outputs = await runner.run({ [runner.inputName]: tensor }, opts);
      const out = Object.values(outputs)[0];
      if (!out || out.data.length !== labels.length) {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `orientation model ${card.id} gave ${out?.data.length ?? 0} scores for ${labels.length} labels`);
      }
      const probs = softmax(Array.from(out.data as Float32Array));
      let best = 0;
      probs.forEach((p, i) => {
        if (p > probs[best]!) best = i;
      });
      return {
        rotation: labels[best] as Quarter,
        confidence: probs[best]!,
        scores: Object.fromEntries(labels.map((l, i) => [String(l), Math.round(probs[i]! * 10_000) / 10_000])),
      };
    },
  };
}
