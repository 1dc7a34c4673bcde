import { LoupeError } from '@loupe/contracts';
import type { ModelRunner, RunOptions } from '../engine/model-runner.js';
import { toInputTensor, type RawImage } from '../image-ops.js';
import { l2Normalize } from '../decoders/model-io.js';

/** The decoders an embedding card may name: a plain vector output, or CLIP's image tower. */
const EMBEDDING_DECODERS = new Set(['embedding', 'clip-image']);

export interface ImageEmbedder {
  readonly model: { readonly id: string; readonly version: string; readonly name: string };
  /** Length of every vector, known after the first run (or from the graph when it is static). */
  readonly dims: number | undefined;
  /** One L2-normalised vector for the image. */
  embed(image: RawImage, opts?: RunOptions): Promise<Float32Array>;
}

/**
 * Runs any card of task `image-embedding` (the offline pack's MobileNetV2 features, CLIP's image
 * tower once pulled) or `face-embedding` (FaceRes, on a face crop): the card's input spec prepares the pixels, `output.options.output` names
 * the output (the first when absent), and the vector is flattened and L2-normalised so that a dot
 * product is the cosine similarity everywhere downstream (search, duplicates, clusters, heads).
 */
export function createImageEmbedder(runner: ModelRunner): ImageEmbedder {
  const card = runner.card;
  if ((card.task !== 'image-embedding' && card.task !== 'face-embedding') || !EMBEDDING_DECODERS.has(card.output.decoder)) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `card ${card.id} cannot embed images: it needs task "image-embedding" or "face-embedding" and decoder "embedding" or "clip-image" (it has ${card.task}, ${card.output.decoder})`,
      { details: { model: card.id, task: card.task, decoder: card.output.decoder } },
    );
  }
  const wanted = typeof card.output.options?.output === 'string' ? card.output.options.output : undefined;
  const outputName = wanted ?? runner.outputs[0]?.name;
  if (!outputName || !runner.outputs.some((o) => o.name === outputName)) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `card ${card.id} names output ${JSON.stringify(wanted)}, which the model does not have`, {
      details: { model: card.id, outputs: runner.outputs.map((o) => o.name) },
    });
  }
  let dims: number | undefined;
  return {
    model: { id: card.id, version: card.version, name: card.name },
    get dims() {
      return dims;
    },
    async embed(image, opts = {}) {
      const { tensor } = await toInputTensor(image, card.input);
      const outputs = await runner.run({ [runner.inputName]: tensor }, opts);
      const out = outputs[outputName];
      const data = out?.data;
      if (!(data instanceof Float32Array) || data.length === 0) {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `embedding model ${card.id} gave no float vector on ${outputName}`, { details: { model: card.id } });
      }
      if (dims !== undefined && data.length !== dims) {
        throw new LoupeError('LOUPE_ERR_INFERENCE', `embedding model ${card.id} gave ${data.length} values, earlier ${dims}`, { details: { model: card.id } });
      }
      if (!data.every(Number.isFinite)) throw new LoupeError('LOUPE_ERR_INFERENCE', `embedding model ${card.id} gave a vector that is not finite`);
      dims = data.length;
      return l2Normalize(data);
    },
  };
}
