import { type BpeTokenizerData, BytePairEncoder, bytesToChars, charsToText } from './byte-level-bpe.js';

/** GPT-2's pre-tokenizer: contractions, then letters, digits or symbols each with the space before them. */
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const GPT2_END_OF_TEXT = '<|endoftext|>';

export interface Gpt2TokenizerOptions {
  /** Tokens never printed in a caption; tokenizer.json's special added tokens and <|endoftext|> by default. */
  specialTokens?: readonly string[];
}

/**
 * GPT-2's byte-level BPE, as ViT-GPT2 captioners use it. Decoding needs only the vocabulary
 * (the byte decoder inverts the byte characters); encoding needs the merges as well.
 */
export class Gpt2Tokenizer {
  readonly #vocab: ReadonlyMap<string, number>;
  readonly #tokens = new Map<number, string>();
  readonly #special = new Set<number>();
  readonly #bpe: BytePairEncoder;

  constructor(data: BpeTokenizerData, opts: Gpt2TokenizerOptions = {}) {
    this.#vocab = data.vocab;
    for (const [token, id] of data.vocab) this.#tokens.set(id, token);
    const specials = opts.specialTokens ?? [GPT2_END_OF_TEXT, ...data.addedTokens.filter((t) => t.special).map((t) => t.content)];
    for (const token of specials) {
      const id = data.vocab.get(token);
      if (id !== undefined) this.#special.add(id);
    }
    this.#bpe = new BytePairEncoder(data.merges);
  }

  /** The id of a token string (e.g. <|endoftext|>, 50256 in GPT-2). */
  tokenId(token: string): number | undefined {
    return this.#vocab.get(token);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of text.match(GPT2_PATTERN) ?? []) {
      for (const symbol of this.#bpe.encode(bytesToChars(piece))) {
        const id = this.#vocab.get(symbol);
        if (id === undefined) throw new RangeError(`GPT-2 vocabulary has no token ${JSON.stringify(symbol)}`);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Text of the ids; special tokens are left out unless asked for, unknown ids are skipped. */
  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    let text = '';
    let chars = '';
    for (const id of ids) {
      const token = this.#tokens.get(id);
      if (token === undefined) continue;
      if (this.#special.has(id)) {
        if (skip) continue;
        // A special token is text as written, not byte characters.
        text += charsToText(chars) + token;
        chars = '';
        continue;
      }
      chars += token;
    }
    // Bytes are joined before UTF-8 decoding: one character may span two tokens.
    return text + charsToText(chars);
  }
}
