import { LoupeError } from '@loupe/contracts';
import type { Gpt2Tokenizer } from './gpt2-tokenizer.js';
import { filledInt64, floatOutput, gatherRows, int64Tensor, type ModelWithInputs, type RunModel, shapeError, type Tensor } from './model-io.js';

/**
 * Encoder-decoder captioning (ViT-GPT2 as Hugging Face Optimum exports it): the encoder runs
 * once per image, then the decoder emits one token per run. A decoder with `past_key_values.*`
 * inputs keeps a KV cache: its `present.*` outputs are fed back, so each later run reads only
 * the newest token. One without them is fed the whole sequence every step.
 */

export interface EncoderDecoderModels {
  /** encoder_model.onnx: pixel_values -> last_hidden_state. */
  encoder: RunModel;
  /**
   * decoder_model.onnx (no cache), decoder_model_merged.onnx (cache, with use_cache_branch), or
   * any decoder with past inputs, whose first run gets an empty past of length 0.
   */
  decoder: ModelWithInputs;
  /** decoder_with_past_model.onnx of a split export: `decoder` runs the first step and this every later one. */
  decoderWithPast?: ModelWithInputs;
}

export interface GenerateOptions {
  /** The token the decoder starts from; 50256 (GPT-2's <|endoftext|>) for ViT-GPT2. */
  decoderStartTokenId?: number;
  /** Generation stops when it is produced; 50256 for ViT-GPT2. */
  eosTokenId?: number;
  /** Tokens generated at most, the end token included; 20 by default. */
  maxNewTokens?: number;
  /** 1 decodes greedily; more keeps that many candidate sequences (beam search). */
  numBeams?: number;
  /**
   * Beam search ranks finished sequences by sum(log p) / length ** lengthPenalty, length counting
   * the generated tokens with the end token: above 0 favours longer captions. 1 by default.
   */
  lengthPenalty?: number;
  /** Stop a beam search as soon as numBeams sequences are finished, rather than when no live beam can beat them. */
  earlyStopping?: boolean;
  /** Forbid any n-gram of this size from appearing twice (the start token counts); 0 (off) by default. */
  noRepeatNgramSize?: number;
  /** Use the KV cache when the decoder has one; true by default. */
  useCache?: boolean;
  /** Heads and head size of the cache, for an empty first past where the model's input metadata does not say them. */
  pastShape?: { numHeads: number; headDim: number };
  /** Tensor names, where an export differs from Optimum's. */
  names?: {
    pixelValues?: string;
    encoderOutput?: string;
    inputIds?: string;
    encoderHiddenStates?: string;
    logits?: string;
  };
}

export interface GeneratedSequence {
  /** Generated ids without the start and end tokens. */
  tokens: number[];
  /** Greedy: sum of the tokens' log probabilities. Beam: that sum divided by length ** lengthPenalty. */
  score: number;
  /**
   * The log probability of each generated token as it was chosen: one per token of `tokens`, then
   * the end token's when `finished`. Their mean is a caption's confidence, whatever its length.
   */
  logProbs: number[];
  /** Whether the end token was produced (false: stopped at maxNewTokens). */
  finished: boolean;
}

export interface Caption extends GeneratedSequence {
  text: string;
}

const PAST_PREFIX = 'past_key_values.';
const BEAM_UNREACHABLE = -1e9;

/** Captions a batch of preprocessed images ([N, 3, 224, 224] for ViT-GPT2), one per image. */
export async function caption(models: EncoderDecoderModels, tokenizer: Gpt2Tokenizer, pixelValues: Tensor, opts: GenerateOptions = {}): Promise<Caption[]> {
  const sequences = await generate(models, pixelValues, opts);
  return sequences.map((s) => ({ ...s, text: tokenizer.decode(s.tokens).trim() }));
}

/** Token ids for each image of the batch. */
export async function generate(models: EncoderDecoderModels, pixelValues: Tensor, opts: GenerateOptions = {}): Promise<GeneratedSequence[]> {
  const settings = resolve(opts);
  const encoded = await models.encoder({ [settings.names.pixelValues]: pixelValues });
  const states: Tensor = { ...floatOutput(encoded, settings.names.encoderOutput, 'encoder'), type: 'float32' };
  const batch = states.dims[0] ?? 0;
  if (states.dims.length !== 3) throw shapeError('encoder', 'hidden states', states.dims);
  if (settings.numBeams === 1) {
    return greedy(new DecoderSteps(models, settings, states), batch, settings);
  }
  const out: GeneratedSequence[] = [];
  for (let i = 0; i < batch; i++) {
    const beams = gatherRows(states, new Array<number>(settings.numBeams).fill(i));
    out.push(await beamSearch(new DecoderSteps(models, settings, beams), settings));
  }
  return out;
}

type Settings = Required<Omit<GenerateOptions, 'pastShape' | 'names'>> & Pick<GenerateOptions, 'pastShape'> & { names: Required<NonNullable<GenerateOptions['names']>> };

function resolve(opts: GenerateOptions): Settings {
  const settings: Settings = {
    decoderStartTokenId: opts.decoderStartTokenId ?? 50256,
    eosTokenId: opts.eosTokenId ?? 50256,
    maxNewTokens: opts.maxNewTokens ?? 20,
    numBeams: opts.numBeams ?? 1,
    lengthPenalty: opts.lengthPenalty ?? 1,
    earlyStopping: opts.earlyStopping ?? false,
    noRepeatNgramSize: opts.noRepeatNgramSize ?? 0,
    useCache: opts.useCache ?? true,
    pastShape: opts.pastShape,
    names: {
      pixelValues: 'pixel_values',
      encoderOutput: 'last_hidden_state',
      inputIds: 'input_ids',
      encoderHiddenStates: 'encoder_hidden_states',
      logits: 'logits',
      ...opts.names,
    },
  };
  for (const key of ['maxNewTokens', 'numBeams'] as const) {
    if (!(Number.isInteger(settings[key]) && settings[key] >= 1)) throw new RangeError(`${key} must be a positive integer, got ${settings[key]}`);
  }
  if (!(Number.isInteger(settings.noRepeatNgramSize) && settings.noRepeatNgramSize >= 0)) {
    throw new RangeError(`noRepeatNgramSize must be a non-negative integer, got ${settings.noRepeatNgramSize}`);
  }
  return settings;
}

const pastInputs = (m: ModelWithInputs) => m.inputs.map((i) => i.name).filter((n) => n.startsWith(PAST_PREFIX));
const presentName = (past: string) => `present.${past.slice(PAST_PREFIX.length)}`;

/**
 * The decoder, run one step at a time for a fixed batch of sequences of equal length. With a
 * cache it holds each row's past; reorder() follows the beams when they change places.
 */
class DecoderSteps {
  readonly #models: EncoderDecoderModels;
  readonly #settings: Settings;
  readonly #states: Tensor;
  readonly #cached: boolean;
  #past: Record<string, Tensor> | undefined;
  #pastLength = 0;

  constructor(models: EncoderDecoderModels, settings: Settings, states: Tensor) {
    this.#models = models;
    this.#settings = settings;
    this.#states = states;
    const later = models.decoderWithPast ?? models.decoder;
    this.#cached = settings.useCache && pastInputs(later).length > 0;
  }

  get batch(): number {
    return this.#states.dims[0]!;
  }

  /** Log-probabilities of the next token for each row (the logits of each sequence's last position). */
  async next(sequences: readonly (readonly number[])[]): Promise<Float32Array[]> {
    const { decoder, decoderWithPast } = this.#models;
    // A fresh step reads the whole sequence: every step without a cache, the first one with. The
    // first step of a split export runs the decoder without past; a merged one gets an empty past.
    const fresh = !this.#cached || this.#past === undefined;
    const model = fresh ? decoder : (decoderWithPast ?? decoder);
    const ids = fresh ? sequences : sequences.map((s) => s.slice(-1));
    const width = ids[0]!.length;
    const pastLength = fresh ? 0 : this.#pastLength;
    const feeds: Record<string, Tensor> = {};
    for (const { name } of model.inputs) {
      feeds[name] = this.#feed(model, name, ids, width, pastLength, fresh);
    }
    const outputs = await model.run(feeds);
    const logits = floatOutput(outputs, this.#settings.names.logits, 'decoder');
    const [b, t, v] = logits.dims;
    if (logits.dims.length !== 3 || b !== this.batch || t !== width || v === undefined) throw shapeError('decoder', 'logits', logits.dims);
    if (this.#cached) {
      const past: Record<string, Tensor> = {};
      for (const name of pastInputs(decoderWithPast ?? decoder)) {
        const present = outputs[presentName(name)];
        if (!present) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The decoder has input ${name} but no output ${presentName(name)} to feed it`);
        past[name] = present;
      }
      this.#past = past;
      this.#pastLength = pastLength + width;
    }
    return Array.from({ length: b }, (_, r) => logSoftmax(logits.data.subarray((r * t + t - 1) * v, (r * t + t) * v)));
  }

  /** Row i of the next step continues row rows[i] of this one. */
  reorder(rows: readonly number[]): void {
    if (!this.#past) return;
    for (const [name, tensor] of Object.entries(this.#past)) this.#past[name] = gatherRows(tensor, rows);
  }

  #feed(model: ModelWithInputs, name: string, ids: readonly (readonly number[])[], width: number, pastLength: number, fresh: boolean): Tensor {
    const { names } = this.#settings;
    const batch = this.batch;
    if (name === names.inputIds) return int64Tensor(ids, width);
    if (name === names.encoderHiddenStates) return this.#states;
    if (name === 'encoder_attention_mask') return filledInt64([batch, this.#states.dims[1]!], 1);
    if (name === 'attention_mask' || name === 'decoder_attention_mask') return filledInt64([batch, pastLength + width], 1);
    if (name === 'position_ids') {
      return int64Tensor(
        ids.map(() => Array.from({ length: width }, (_, i) => pastLength + i)),
        width,
      );
    }
    if (name === 'use_cache_branch') return { data: Uint8Array.from([fresh ? 0 : 1]), dims: [1], type: 'bool' };
    if (name.startsWith(PAST_PREFIX)) return (!fresh && this.#past?.[name]) || this.#emptyPast(model, name);
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The decoder takes an input Loupe cannot feed: ${name}`, { details: { input: name } });
  }

  #emptyPast(model: ModelWithInputs, name: string): Tensor {
    const shape = model.inputs.find((i) => i.name === name)?.shape ?? [];
    const fixed = (i: number) => {
      const d = shape[i];
      return typeof d === 'number' && d > 0 ? d : undefined;
    };
    // [batch, heads, past length, head size], as GPT-2's cache is laid out.
    const heads = this.#settings.pastShape?.numHeads ?? fixed(1);
    const size = this.#settings.pastShape?.headDim ?? fixed(3);
    if (heads === undefined || size === undefined) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Cannot size an empty ${name}: set the decoder's pastShape (numHeads, headDim)`, { details: { input: name } });
    }
    const dims = [this.batch, heads, 0, size];
    return { data: new Float32Array(0), dims, type: 'float32' };
  }
}

function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  let sum = 0;
  for (const l of logits) sum += Math.exp(l - max);
  const lse = max + Math.log(sum);
  return logits.map((l) => l - lse);
}

/** Tokens that would complete an n-gram already present in the sequence. */
function bannedTokens(sequence: readonly number[], n: number): number[] {
  if (n <= 0 || sequence.length < n) return [];
  const prefixStart = sequence.length - (n - 1);
  const banned: number[] = [];
  for (let i = 0; i + n <= sequence.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = sequence[i + j] === sequence[prefixStart + j];
    if (same) banned.push(sequence[i + n - 1]!);
  }
  return banned;
}

function applyBans(logProbs: Float32Array, sequence: readonly number[], n: number): Float32Array {
  for (const token of bannedTokens(sequence, n)) logProbs[token] = -Infinity;
  return logProbs;
}

async function greedy(steps: DecoderSteps, batch: number, s: Settings): Promise<GeneratedSequence[]> {
  const sequences = Array.from({ length: batch }, () => [s.decoderStartTokenId]);
  const chosen = Array.from({ length: batch }, (): number[] => []);
  const finished = new Array<boolean>(batch).fill(false);
  for (let step = 0; step < s.maxNewTokens && finished.includes(false); step++) {
    const rows = await steps.next(sequences);
    rows.forEach((logProbs, r) => {
      // A finished row keeps stepping with the batch (its cache must stay aligned) but its tokens no longer count.
      if (finished[r]) {
        sequences[r]!.push(s.eosTokenId);
        return;
      }
      applyBans(logProbs, sequences[r]!, s.noRepeatNgramSize);
      let best = 0;
      for (let v = 1; v < logProbs.length; v++) if (logProbs[v]! > logProbs[best]!) best = v;
      sequences[r]!.push(best);
      chosen[r]!.push(logProbs[best]!);
      if (best === s.eosTokenId) finished[r] = true;
    });
  }
  return sequences.map((seq, r) => {
    const tokens = seq.slice(1);
    const end = tokens.indexOf(s.eosTokenId);
    const logProbs = chosen[r]!;
    return { tokens: end < 0 ? tokens : tokens.slice(0, end), score: logProbs.reduce((a, b) => a + b, 0), logProbs, finished: finished[r]! };
  });
}


/** Beam search over one image; the decoder batch holds the numBeams live beams. */
async function beamSearch(steps: DecoderSteps, s: Settings): Promise<GeneratedSequence> {
  const k = s.numBeams;
  const normalise = (sum: number, length: number) => sum / length ** s.lengthPenalty;
  // Every beam starts as the same sequence; all but one are unreachable, so the first step expands one.
  let beams = Array.from({ length: k }, (_, i) => ({ tokens: [s.decoderStartTokenId], sum: i === 0 ? 0 : BEAM_UNREACHABLE, logProbs: [] as number[] }));
  const done: GeneratedSequence[] = [];
  const addDone = (h: GeneratedSequence) => {
    done.push(h);
    done.sort((a, b) => b.score - a.score);
    if (done.length > k) done.pop();
  };

  for (let step = 1; step <= s.maxNewTokens; step++) {
    const rows = await steps.next(beams.map((b) => b.tokens));
    // The 2k best (beam, token) pairs: enough that k beams survive even if k of them end here.
    const candidates: { row: number; token: number; logProb: number; sum: number }[] = [];
    rows.forEach((logProbs, row) => {
      applyBans(logProbs, beams[row]!.tokens, s.noRepeatNgramSize);
      for (const token of topK(logProbs, 2 * k)) candidates.push({ row, token, logProb: logProbs[token]!, sum: beams[row]!.sum + logProbs[token]! });
    });
    candidates.sort((a, b) => b.sum - a.sum);
    const next: typeof beams = [];
    const parents: number[] = [];
    for (const [rank, c] of candidates.slice(0, 2 * k).entries()) {
      const logProbs = [...beams[c.row]!.logProbs, c.logProb];
      if (c.token === s.eosTokenId) {
        // An ending ranked below the k best would not have been a beam: it does not count as a result either.
        if (rank < k && c.sum > BEAM_UNREACHABLE / 2) addDone({ tokens: beams[c.row]!.tokens.slice(1), score: normalise(c.sum, step), logProbs, finished: true });
        continue;
      }
      next.push({ tokens: [...beams[c.row]!.tokens, c.token], sum: c.sum, logProbs });
      parents.push(c.row);
      if (next.length === k) break;
    }
    if (next.length < k) break;
    beams = next;
    steps.reorder(parents);
    if (done.length === k) {
      const bestLive = Math.max(...beams.map((b) => b.sum));
      if (s.earlyStopping || done[k - 1]!.score >= normalise(bestLive, step)) break;
    }
    if (step === s.maxNewTokens) {
      for (const b of beams) if (b.sum > BEAM_UNREACHABLE / 2) addDone({ tokens: b.tokens.slice(1), score: normalise(b.sum, step), logProbs: b.logProbs, finished: false });
    }
  }
  const best = done[0];
  return best ?? { tokens: [], score: -Infinity, logProbs: [], finished: false };
}

/** Indices of the k largest values, best first. */
function topK(values: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let v = 0; v < values.length; v++) {
    const x = values[v]!;
    if (x === -Infinity) continue;
    if (idx.length === k && x <= values[idx[k - 1]!]!) continue;
    let at = idx.length === k ? k - 1 : idx.length;
    while (at > 0 && values[idx[at - 1]!]! < x) at--;
    idx.splice(at, 0, v);
    if (idx.length > k) idx.pop();
  }
  return idx;
}
