import { readFile } from 'node:fs/promises';
import { LoupeError } from '@loupe/contracts';

/**
 * The byte-level BPE machinery GPT-2 and CLIP share: every UTF-8 byte is shown as a printable
 * character (so a vocabulary of strings covers all bytes), then merges join characters by rank.
 */

/** byte -> character, as GPT-2's bytes_to_unicode builds it: printable bytes map to themselves, the rest to U+0100 on. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCodePoint(printable ? b : 256 + next++);
  }
  return chars;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The byte characters in the order GPT-2 and CLIP number them (printable ranges first, then the rest). */
export const BYTE_CHARS_IN_VOCAB_ORDER: readonly string[] = BYTE_TO_CHAR.map((c) => c).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);

export function bytesToChars(text: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

export function charsToText(chars: string): string {
  const bytes: number[] = [];
  for (const ch of chars) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) bytes.push(b);
    else bytes.push(...new TextEncoder().encode(ch));
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** A tokenizer's files, read: vocab.json + merges.txt, or one tokenizer.json (the format Xenova's exports ship). */
export interface BpeTokenizerData {
  vocab: ReadonlyMap<string, number>;
  /** Merge pairs, best first. */
  merges: readonly (readonly [string, string])[];
  /** tokenizer.json's added_tokens (special tokens); empty for vocab.json + merges.txt. */
  addedTokens: readonly AddedToken[];
}

export type TokenizerSource = { tokenizerJson: string } | { vocabJson: string; mergesTxt?: string };

/** Reads the files a card lists under `tokenizer`, or `vocab` and `merges`. */
export async function readTokenizerFiles(files: { tokenizer?: string; vocab?: string; merges?: string }): Promise<BpeTokenizerData> {
  try {
    if (files.tokenizer) return parseTokenizer({ tokenizerJson: await readFile(files.tokenizer, 'utf8') });
    if (files.vocab) {
      const mergesTxt = files.merges ? await readFile(files.merges, 'utf8') : undefined;
      return parseTokenizer({ vocabJson: await readFile(files.vocab, 'utf8'), ...(mergesTxt === undefined ? {} : { mergesTxt }) });
    }
  } catch (err) {
    if (err instanceof LoupeError) throw err;
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `A tokenizer file is missing or unreadable: ${(err as Error).message}`, { cause: err });
  }
  throw new LoupeError('LOUPE_ERR_MODEL_LOAD', 'A tokenizer needs a tokenizer.json or a vocab.json file');
}

export function parseTokenizer(source: TokenizerSource): BpeTokenizerData {
  if ('tokenizerJson' in source) return parseTokenizerJson(source.tokenizerJson);
  return { vocab: parseVocab(parseJson(source.vocabJson, 'vocab.json')), merges: parseMergesTxt(source.mergesTxt ?? ''), addedTokens: [] };
}

function parseTokenizerJson(text: string): BpeTokenizerData {
  const json = parseJson(text, 'tokenizer.json') as { model?: { type?: string; vocab?: unknown; merges?: unknown }; added_tokens?: unknown };
  const model = json.model;
  if (!model || (model.type !== undefined && model.type !== 'BPE')) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `tokenizer.json does not describe a BPE model (model.type ${String(model?.type)})`);
  }
  const vocab = new Map(parseVocab(model.vocab));
  // The newer tokenizers format writes each merge as a pair; the older one as "a b".
  const merges = Array.isArray(model.merges) ? model.merges.map((m: unknown) => toMerge(m)) : [];
  const addedTokens: AddedToken[] = [];
  if (Array.isArray(json.added_tokens)) {
    for (const t of json.added_tokens as { id?: unknown; content?: unknown; special?: unknown }[]) {
      if (typeof t.id !== 'number' || typeof t.content !== 'string') continue;
      addedTokens.push({ id: t.id, content: t.content, special: t.special === true });
      if (!vocab.has(t.content)) vocab.set(t.content, t.id);
    }
  }
  return { vocab, merges, addedTokens };
}

function toMerge(m: unknown): [string, string] {
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  if (typeof m === 'string') {
    const parts = m.split(' ');
    if (parts.length === 2) return [parts[0]!, parts[1]!];
  }
  throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `tokenizer.json has a malformed merge: ${JSON.stringify(m)}`);
}

function parseMergesTxt(text: string): [string, string][] {
  const merges: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#version') || line.trim() === '') continue;
    merges.push(toMerge(line));
  }
  return merges;
}

function parseVocab(value: unknown): Map<string, number> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', 'The tokenizer vocabulary is not a token -> id object');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(value)) {
    if (typeof id !== 'number') throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The tokenizer vocabulary maps ${JSON.stringify(token)} to a non-number`);
    vocab.set(token, id);
  }
  return vocab;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${file} is not valid JSON`, { cause });
  }
}

/** Applies merges to one pre-token (already in byte characters); remembers every word it has seen. */
export class BytePairEncoder {
  readonly #ranks = new Map<string, number>();
  readonly #cache = new Map<string, string[]>();
  readonly #endOfWord: string;

  constructor(merges: readonly (readonly [string, string])[], opts: { endOfWord?: string } = {}) {
    merges.forEach(([a, b], rank) => {
      const key = `${a} ${b}`;
      if (!this.#ranks.has(key)) this.#ranks.set(key, rank);
    });
    this.#endOfWord = opts.endOfWord ?? '';
  }

  encode(word: string): string[] {
    const cached = this.#cache.get(word);
    if (cached) return cached;
    let symbols = Array.from(word);
    if (symbols.length === 0) return [];
    // CLIP marks the end of a word on its last character, so "a" alone and "a" ending "pizza" differ.
    symbols[symbols.length - 1] += this.#endOfWord;
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.#ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      // Every occurrence of the best pair merges in one pass, left to right, as the reference does.
      const first = symbols[best]!;
      const second = symbols[best + 1]!;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === first && symbols[i + 1] === second && i < symbols.length - 1) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    if (this.#cache.size < 50_000) this.#cache.set(word, symbols);
    return symbols;
  }
}
