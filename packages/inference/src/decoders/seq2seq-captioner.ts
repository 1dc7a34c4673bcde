import { LoupeError } from '@loupe/contracts';
import type { ModelCard } from '../cards/model-card.js';
import type { ModelRunner, RunOptions } from '../engine/model-runner.js';
import { toInputTensor, type RawImage } from '../image-ops.js';
import { readTokenizerFiles } from './byte-level-bpe.js';
import { Gpt2Tokenizer } from './gpt2-tokenizer.js';
import type { ValueInfo } from './model-io.js';
import { caption, type GenerateOptions } from './seq2seq.js';

/** The most beams a request may ask for: each beam is a decoder row at every step. */
export const MAX_CAPTION_BEAMS = 8;

export interface CaptionRequest extends RunOptions {
  /** 1 (the default) decodes greedily; more runs a beam search that wide. */
  beams?: number;
  /** Tokens generated at most, the end token included; the card's maxLength by default. */
  maxTokens?: number;
}

export interface CaptionToken {
  id: number;
  /** The token as text, its leading space kept (GPT-2 tokens carry the space before a word). */
  text: string;
  logProb: number;
}

export interface ModelCaption {
  text: string;
  /** The card's language: a captioner writes in the language it was trained on. */
  language: string;
  /** The generated tokens; the end token, when produced, is not among them but counts in meanLogProb. */
  tokens: CaptionToken[];
  /** Sum of the log probabilities of the tokens, the end token included. */
  logProb: number;
  /** Their mean; exp(meanLogProb), the geometric mean of the tokens' probabilities, is `confidence`. */
  meanLogProb: number;
  confidence: number;
  /** False when the caption stopped at maxTokens rather than at the end token. */
  finished: boolean;
  beams: number;
}

export interface ImageCaptioner {
  readonly model: { readonly id: string; readonly version: string; readonly name: string };
  readonly language: string;
  /** The encoder's input size (fetch at least this). */
  readonly inputSize: { readonly width: number; readonly height: number };
  caption(image: RawImage, opts?: CaptionRequest): Promise<ModelCaption>;
}

/** The two graphs of a `vision-encoder-decoder` card (roles `encoder` and `decoder`) and its files (`vocab` or `tokenizer`). */
export interface CaptionerParts {
  encoder: ModelRunner;
  decoder: ModelRunner;
  files: Readonly<Record<string, string>>;
}

interface CardSettings {
  encoderOutput: string;
  merged: boolean;
  layers: number | undefined;
  heads: number | undefined;
  headDim: number | undefined;
  vocabSize: number | undefined;
  maxLength: number;
  language: string;
  generate: GenerateOptions;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function settingsOf(card: ModelCard): CardSettings {
  if (card.task !== 'captioning' || card.output.decoder !== 'vision-encoder-decoder') {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `card ${card.id} cannot caption images: it needs task "captioning" and decoder "vision-encoder-decoder" (it has ${card.task}, ${card.output.decoder})`, {
      details: { model: card.id, task: card.task, decoder: card.output.decoder },
    });
  }
  const o = card.output.options ?? {};
  const eos = num(o['eosTokenId']);
  const start = num(o['decoderStartTokenId']) ?? num(o['bosTokenId']);
  const [heads, headDim] = [num(o['heads']), num(o['headDim'])];
  const generate: GenerateOptions = {
    ...(start !== undefined && { decoderStartTokenId: start }),
    ...(eos !== undefined && { eosTokenId: eos }),
    ...(num(o['lengthPenalty']) !== undefined && { lengthPenalty: num(o['lengthPenalty'])! }),
    ...(num(o['noRepeatNgramSize']) !== undefined && { noRepeatNgramSize: num(o['noRepeatNgramSize'])! }),
    ...(heads !== undefined && headDim !== undefined && { pastShape: { numHeads: heads, headDim } }),
    names: { encoderOutput: typeof o['encoderOutput'] === 'string' ? o['encoderOutput'] : 'last_hidden_state', pixelValues: card.input.name ?? 'pixel_values' },
  };
  return {
    encoderOutput: generate.names!.encoderOutput!,
    merged: o['decoderMerged'] === true,
    layers: num(o['layers']),
    heads,
    headDim,
    vocabSize: num(o['vocabSize']),
    maxLength: num(o['maxLength']) ?? 20,
    language: typeof o['language'] === 'string' ? o['language'] : 'en',
    generate,
  };
}

/**
 * What in the graphs contradicts the card: a name it relies on that is missing, a cache of another
 * depth or width, logits over another vocabulary. Found at load, so a wrong file fails its first
 * request with the reason rather than with a shape error in the middle of a caption.
 */
function mismatches(card: ModelCard, s: CardSettings, encoder: ModelRunner, decoder: ModelRunner): string[] {
  const out: string[] = [];
  const has = (list: readonly ValueInfo[], name: string) => list.some((v) => v.name === name);
  const pixelInput = s.generate.names!.pixelValues!;
  if (!has(encoder.inputs, pixelInput)) out.push(`the encoder has no input ${pixelInput}`);
  if (!has(encoder.outputs, s.encoderOutput)) out.push(`the encoder has no output ${s.encoderOutput}`);
  for (const name of ['input_ids', 'encoder_hidden_states']) if (!has(decoder.inputs, name)) out.push(`the decoder has no input ${name}`);
  const logits = decoder.outputs.find((v) => v.name === 'logits');
  if (!logits) out.push('the decoder has no output logits');
  if (s.merged !== has(decoder.inputs, 'use_cache_branch')) out.push(s.merged ? 'the card says the decoder is merged, but it has no use_cache_branch input' : 'the decoder is a merged one (use_cache_branch), the card says it is not');
  const past = decoder.inputs.filter((v) => v.name.startsWith('past_key_values.'));
  if (s.layers !== undefined && past.length > 0 && past.length !== 2 * s.layers) out.push(`the card says ${s.layers} layers, the decoder has ${past.length / 2} layers of past keys and values`);
  for (const [axis, want, what] of [[1, s.heads, 'heads'], [3, s.headDim, 'head size']] as const) {
    const got = past[0]?.shape?.[axis];
    if (want !== undefined && typeof got === 'number' && got > 0 && got !== want) out.push(`the card says ${want} ${what}, the decoder's cache has ${got}`);
  }
  const width = logits?.shape?.[2];
  if (s.vocabSize !== undefined && typeof width === 'number' && width > 0 && width !== s.vocabSize) out.push(`the card says ${s.vocabSize} tokens, the decoder's logits have ${width}`);
  if (s.generate.eosTokenId !== undefined && s.vocabSize !== undefined && s.generate.eosTokenId >= s.vocabSize) out.push(`the end token ${s.generate.eosTokenId} is outside the ${s.vocabSize} tokens`);
  return out.map((m) => `${card.id}: ${m}`);
}

/**
 * A captioner over a card of task `captioning` with decoder `vision-encoder-decoder` (ViT-GPT2 as
 * Xenova exports it): the card's input spec prepares the pixels, the encoder runs once per image
 * through the engine (sharing a run with other requests where the card allows batches), and the
 * decoder is stepped by seq2seq's greedy or beam search, its KV cache fed back, one run per token.
 */
export async function createImageCaptioner({ encoder, decoder, files }: CaptionerParts): Promise<ImageCaptioner> {
  const card = encoder.card;
  const s = settingsOf(card);
  const problems = mismatches(card, s, encoder, decoder);
  const tokenizer = new Gpt2Tokenizer(await readTokenizerFiles(files));
  // An id the vocabulary lacks decodes to nothing: a vocab.json of another model.
  if (s.generate.eosTokenId !== undefined && tokenizer.decode([s.generate.eosTokenId], { skipSpecialTokens: false }) === '') {
    problems.push(`${card.id}: the vocabulary has no token ${s.generate.eosTokenId} (the end token)`);
  }
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The files of captioning model ${card.id} do not match its card: ${problems.join('; ')}`, { details: { model: card.id, problems } });
  }
  const inputSize = { width: card.input.width ?? 224, height: card.input.height ?? 224 };
  return {
    model: { id: card.id, version: card.version, name: card.name },
    language: s.language,
    inputSize,
    async caption(image, opts = {}) {
      const beams = opts.beams ?? 1;
      const maxTokens = opts.maxTokens ?? s.maxLength;
      if (!(Number.isInteger(beams) && beams >= 1 && beams <= MAX_CAPTION_BEAMS)) throw new LoupeError('LOUPE_ERR_VALIDATION', `beams must be an integer from 1 to ${MAX_CAPTION_BEAMS}; got ${beams}`);
      if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new LoupeError('LOUPE_ERR_VALIDATION', `maxTokens must be a positive integer; got ${maxTokens}`);
      const run = opts.signal ? { signal: opts.signal } : {};
      const { tensor } = await toInputTensor(image, card.input);
      const [best] = await caption(
        {
          encoder: (feeds) => encoder.run(feeds, run),
          decoder: { inputs: decoder.inputs, run: (feeds) => decoder.runBatch(feeds, run) },
        },
        tokenizer,
        tensor,
        { ...s.generate, numBeams: beams, maxNewTokens: maxTokens },
      );
      const logProb = best!.logProbs.reduce((a, b) => a + b, 0);
      const meanLogProb = best!.logProbs.length > 0 ? logProb / best!.logProbs.length : 0;
      return {
        text: best!.text,
        language: s.language,
        tokens: best!.tokens.map((id, i) => ({ id, text: tokenizer.decode([id]), logProb: best!.logProbs[i]! })),
        logProb,
        meanLogProb,
        confidence: Math.exp(meanLogProb),
        finished: best!.finished,
        beams,
      };
    },
  };
}
