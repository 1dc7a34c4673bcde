import { LoupeError } from '@loupe/contracts';
import { type BpeTokenizerData, BytePairEncoder, bytesToChars } from './byte-level-bpe.js';

export const CLIP_START_TOKEN = '<|startoftext|>';
export const CLIP_END_TOKEN = '<|endoftext|>';
export const CLIP_CONTEXT_LENGTH = 77;

/**
 * CLIP's pre-tokenizer: contractions, runs of letters, single digits, runs of other symbols;
 * whitespace separates and is dropped. The special tokens are kept whole.
 */
const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

export interface ClipTokenizerOptions {
  /** Tokens per text including the start and end tokens; 77 for every released CLIP. */
  contextLength?: number;
  /** Id written after the end token; the end token's id by default, as the Hugging Face exports do (OpenAI's code pads with 0). */
  padId?: number;
}

export interface ClipEncoding {
  /** contextLength ids: start, the text's tokens (truncated), end, then padding. */
  ids: number[];
  /** 1 for the start, text and end tokens, 0 for padding. */
  attentionMask: number[];
}

/** Lowercases and collapses whitespace as CLIP's tokenizer does before splitting. */
export function clipNormalize(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** The pre-tokens CLIP's regex cuts a normalised text into. */
export function clipPreTokenize(text: string): string[] {
  return clipNormalize(text).match(CLIP_PATTERN) ?? [];
}

export class ClipTokenizer {
  readonly startId: number;
  readonly endId: number;
  readonly padId: number;
  readonly contextLength: number;
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #bpe: BytePairEncoder;

  constructor(data: BpeTokenizerData, opts: ClipTokenizerOptions = {}) {
    this.#vocab = data.vocab;
    this.#bpe = new BytePairEncoder(data.merges, { endOfWord: '</w>' });
    this.startId = this.#special(CLIP_START_TOKEN);
    this.endId = this.#special(CLIP_END_TOKEN);
    this.padId = opts.padId ?? this.endId;
    this.contextLength = opts.contextLength ?? CLIP_CONTEXT_LENGTH;
    if (!(Number.isInteger(this.contextLength) && this.contextLength >= 2)) {
      throw new RangeError(`CLIP context length must be an integer of at least 2, got ${this.contextLength}`);
    }
  }

  #special(token: string): number {
    const id = this.#vocab.get(token);
    if (id === undefined) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The CLIP vocabulary has no ${token} token`);
    return id;
  }

  /** The text's token ids, without start, end or padding. */
  tokenize(text: string): number[] {
    const ids: number[] = [];
    for (const piece of clipPreTokenize(text)) {
      if (piece === CLIP_START_TOKEN || piece === CLIP_END_TOKEN) {
        ids.push(piece === CLIP_START_TOKEN ? this.startId : this.endId);
        continue;
      }
      for (const symbol of this.#bpe.encode(bytesToChars(piece))) {
        // With the full byte vocabulary every symbol is known; a trimmed vocabulary reads a missing one as the end token (CLIP's unk).
        ids.push(this.#vocab.get(symbol) ?? this.endId);
      }
    }
    return ids;
  }

  /** One text as the text model takes it; a text too long keeps its first contextLength - 2 tokens. */
  encode(text: string): ClipEncoding {
    const body = this.tokenize(text).slice(0, this.contextLength - 2);
    const ids = [this.startId, ...body, this.endId];
    const attentionMask = ids.map(() => 1);
    while (ids.length < this.contextLength) {
      ids.push(this.padId);
      attentionMask.push(0);
    }
    return { ids, attentionMask };
  }
}
