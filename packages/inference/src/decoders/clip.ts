import type { ClipTokenizer } from './clip-tokenizer.js';
import { floatOutput, int64Tensor, l2Normalize, type ModelWithInputs, type RunModel, shapeError, type Tensor } from './model-io.js';

/** CLIP ViT-B/32's learned temperature, exp(4.6052): cosine similarities are multiplied by it before the softmax. */
export const CLIP_LOGIT_SCALE = 100;

export interface ClipImageOptions {
  /** 'pixel_values' in the Xenova exports. */
  inputName?: string;
  /** 'image_embeds' in the Xenova exports. */
  outputName?: string;
}

export interface ClipTextOptions {
  /** 'input_ids' in the Xenova exports. */
  inputIdsName?: string;
  /** Fed when the model lists it among its inputs (or, for a bare run function, when `feedAttentionMask` is set). */
  attentionMaskName?: string;
  feedAttentionMask?: boolean;
  /** 'text_embeds' in the Xenova exports. */
  outputName?: string;
}

/** Rows of an [N, D] embedding output, each scaled to unit length so that a dot product is a cosine. */
export function decodeEmbeddings(output: { data: Float32Array; dims: readonly number[] }, model = 'embedding'): Float32Array[] {
  const [n, d] = output.dims;
  if (output.dims.length !== 2 || n === undefined || d === undefined || n * d !== output.data.length) throw shapeError(model, 'embeddings', output.dims);
  return Array.from({ length: n }, (_, i) => l2Normalize(output.data.subarray(i * d, (i + 1) * d)));
}

/** Unit-length image embeddings for a batch of preprocessed images ([N, 3, 224, 224] for ViT-B/32). */
export async function embedImages(run: RunModel, pixelValues: Tensor, opts: ClipImageOptions = {}): Promise<Float32Array[]> {
  const outputName = opts.outputName ?? 'image_embeds';
  const outputs = await run({ [opts.inputName ?? 'pixel_values']: pixelValues });
  return decodeEmbeddings(floatOutput(outputs, outputName, 'CLIP image'), 'CLIP image');
}

/** Unit-length text embeddings: tokenised to the tokenizer's context length, one row per text. */
export async function embedTexts(
  model: RunModel | ModelWithInputs,
  tokenizer: ClipTokenizer,
  texts: readonly string[],
  opts: ClipTextOptions = {},
): Promise<Float32Array[]> {
  if (texts.length === 0) return [];
  const maskName = opts.attentionMaskName ?? 'attention_mask';
  const feedMask = typeof model === 'function' ? opts.feedAttentionMask === true : model.inputs.some((i) => i.name === maskName);
  const encodings = texts.map((text) => tokenizer.encode(text));
  const feeds: Record<string, Tensor> = {
    [opts.inputIdsName ?? 'input_ids']: int64Tensor(
      encodings.map((e) => e.ids),
      tokenizer.contextLength,
    ),
  };
  if (feedMask) feeds[maskName] = int64Tensor(encodings.map((e) => e.attentionMask), tokenizer.contextLength);
  // Called as a method: a ModelSession's run needs its `this`.
  const outputs = await (typeof model === 'function' ? model(feeds) : model.run(feeds));
  return decodeEmbeddings(floatOutput(outputs, opts.outputName ?? 'text_embeds', 'CLIP text'), 'CLIP text');
}

export interface ZeroShotScores {
  /** Cosine similarity of the image with each text, in [-1, 1]. */
  similarities: number[];
  /** softmax(similarity * logitScale) over the texts: how CLIP shares its belief among the candidate labels. */
  probabilities: number[];
}

/** Scores one image against candidate label texts (e.g. "a photo of a {label}"). */
export function zeroShotScores(image: Float32Array, texts: readonly Float32Array[], opts: { logitScale?: number } = {}): ZeroShotScores {
  const scale = opts.logitScale ?? CLIP_LOGIT_SCALE;
  const img = l2Normalize(image);
  const similarities = texts.map((text) => {
    if (text.length !== img.length) throw new RangeError(`embedding sizes differ: image ${img.length}, text ${text.length}`);
    const t = l2Normalize(text);
    let dot = 0;
    for (let i = 0; i < t.length; i++) dot += img[i]! * t[i]!;
    return dot;
  });
  return { similarities, probabilities: softmax(similarities.map((s) => s * scale)) };
}

export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}
