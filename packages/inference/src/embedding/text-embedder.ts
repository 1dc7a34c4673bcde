import { LoupeError } from '@loupe/contracts';
import type { ModelRunner, RunOptions } from '../engine/model-runner.js';
import { readTokenizerFiles } from '../decoders/byte-level-bpe.js';
import { embedTexts } from '../decoders/clip.js';
import { ClipTokenizer } from '../decoders/clip-tokenizer.js';

export interface TextEmbedder {
  readonly model: { readonly id: string; readonly version: string; readonly name: string };
  /** The image-embedding model whose vectors these texts are comparable with (the card's `output.options.imageModel`). */
  readonly imageModel: string;
  /** One L2-normalised vector per text. */
  embed(texts: readonly string[], opts?: RunOptions): Promise<Float32Array[]>;
}

/**
 * Runs a card of task `text-embedding` with decoder `clip-text` (CLIP's text tower): its
 * tokenizer files make the ids, and the vectors land in the space of the image model the card
 * names, so a text query searches that model's image vectors.
 */
export async function createTextEmbedder(runner: ModelRunner, files: Readonly<Record<string, string>>): Promise<TextEmbedder> {
  const card = runner.card;
  const imageModel = card.output.options?.['imageModel'];
  if (card.task !== 'text-embedding' || card.output.decoder !== 'clip-text' || typeof imageModel !== 'string') {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_CARD_INVALID',
      `card ${card.id} cannot embed text queries: it needs task "text-embedding", decoder "clip-text" and output.options.imageModel naming its image model`,
      { details: { model: card.id, task: card.task, decoder: card.output.decoder } },
    );
  }
  const contextLength = typeof card.output.options?.['maxLength'] === 'number' ? (card.output.options['maxLength'] as number) : undefined;
  const tokenizer = new ClipTokenizer(await readTokenizerFiles(files), contextLength === undefined ? {} : { contextLength });
  const outputName = typeof card.output.options?.['output'] === 'string' ? (card.output.options['output'] as string) : 'text_embeds';
  const inputs = runner.inputs;
  return {
    model: { id: card.id, version: card.version, name: card.name },
    imageModel,
    embed: (texts, opts = {}) => embedTexts({ inputs, run: (feeds) => runner.runBatch(feeds, opts) }, tokenizer, texts, { outputName }),
  };
}
