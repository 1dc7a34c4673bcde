import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnnxModel, type OnnxModelSpec, type OnnxNodeSpec, type OnnxValueSpec } from '@loupe/testing';

/**
 * Tiny encoder-decoder models with the signatures of Xenova/vit-gpt2-image-captioning, for tests:
 * V tokens, the last both start and end token as GPT-2's 50256 is. The logits of the last position are
 *   E[last token] + sum over every token so far of K[token] + the sum of the encoder's states,
 * where K is the sum of each layer's key and value matrices. The uncached decoder computes the
 * sum with a CumSum over the sequence; the cached ones keep each layer's rows in its
 * present.N.key/value outputs (growing by one row a step) and sum those, so they agree only if
 * the cache is fed back, and reordered with the beams, as it should be.
 */

export type Matrix = number[][];
export interface Weights {
  /** V x V: row t is the logits after token t. */
  E: Matrix;
  /** One V x V matrix per layer and kind, in LAYERS x KINDS order. */
  F: Matrix[];
}

/** Two layers of past keys and values, each [batch, 1 head, length, V]. */
export const LAYERS = [0, 1];
const KINDS = ['key', 'value'] as const;
/** The encoder reads an image as 48 numbers (3 x 4 x 4): 48 / V states of V. */
const ENCODER_VALUES = 48;
const TINY = -30;

/** A row of log probabilities over V tokens: the listed tokens get theirs, the others next to nothing. */
export const logProbRow = (V: number, p: Record<number, number>): number[] => Array.from({ length: V }, (_, v) => (p[v] === undefined ? TINY : Math.log(p[v]!)));
const zeros = (V: number): Matrix => Array.from({ length: V }, () => new Array<number>(V).fill(0));
const flat = (m: Matrix) => m.flat();
/** Weights whose cache adds nothing: the next token depends on the last one (and the image) only. */
export const noCache = (E: Matrix): Weights => ({ E, F: LAYERS.flatMap(() => KINDS.map(() => zeros(E.length))) });
export const summed = (w: Weights): Matrix => w.F.reduce((acc, m) => acc.map((r, i) => r.map((v, j) => v + m[i]![j]!)), zeros(w.E.length));

const i64 = (name: string, values: number[], dims = [values.length]) => ({ name, type: 'int64' as const, dims, values });
const AXIS1 = i64('axis1', [1], []);
const AXES1 = i64('axes1', [1]);
const AXES2 = i64('axes2', [2]);

export interface EncoderOptions {
  /** Side of the square image input; 4 reads the pixels as they are, larger sizes are average-pooled to 4 x 4. */
  imageSize?: number;
  /** Multiplies the states: a small scale keeps the image from changing which token wins. */
  scale?: number;
}

/** pixel_values [N, 3, S, S] -> last_hidden_state [N, 48 / V, V]. */
export function encoderModel(V: number, opts: EncoderOptions = {}): OnnxModelSpec {
  const size = opts.imageSize ?? 4;
  if (ENCODER_VALUES % V !== 0 || size % 4 !== 0) throw new RangeError(`the tiny encoder needs V dividing ${ENCODER_VALUES} and a size divisible by 4`);
  const pooled = size === 4 ? [] : [{ op: 'AveragePool', inputs: ['pixel_values'], outputs: ['pooled'], attributes: { kernel_shape: [size / 4, size / 4], strides: [size / 4, size / 4] } }];
  return {
    inputs: [{ name: 'pixel_values', type: 'float32', dims: ['batch_size', 3, size, size] }],
    outputs: [{ name: 'last_hidden_state', type: 'float32', dims: ['batch_size', ENCODER_VALUES / V, V] }],
    initializers: [i64('enc_shape', [-1, ENCODER_VALUES / V, V]), { name: 'scale', type: 'float32', dims: [], values: [opts.scale ?? 1] }],
    nodes: [
      ...pooled,
      { op: 'Reshape', inputs: [size === 4 ? 'pixel_values' : 'pooled', 'enc_shape'], outputs: ['states'] },
      { op: 'Mul', inputs: ['states', 'scale'], outputs: ['last_hidden_state'] },
    ],
  };
}

const pastName = (l: number, k: string) => `past_key_values.${l}.${k}`;
const presentName = (l: number, k: string) => `present.${l}.${k}`;
const layerKinds = LAYERS.flatMap((l) => KINDS.map((k) => ({ l, k })));

function commonInputs(V: number): OnnxValueSpec[] {
  return [
    { name: 'input_ids', type: 'int64', dims: ['batch_size', 'decoder_sequence_length'] },
    { name: 'encoder_hidden_states', type: 'float32', dims: ['batch_size', 'encoder_sequence_length', V] },
  ];
}

function initializers(w: Weights) {
  const V = w.E.length;
  return [
    { name: 'E', type: 'float32' as const, dims: [V, V], values: flat(w.E) },
    { name: 'K', type: 'float32' as const, dims: [V, V], values: flat(summed(w)) },
    ...layerKinds.map(({ l, k }, i) => ({ name: `F_${l}_${k}`, type: 'float32' as const, dims: [V, V], values: flat(w.F[i]!) })),
  ];
}

const presentOutputs = (V: number): OnnxValueSpec[] => layerKinds.map(({ l, k }) => ({ name: presentName(l, k), type: 'float32', dims: ['batch_size', 1, 'total_length', V] }));

/** Rows this step adds to layer l's cache: [B, 1, T, V]. */
const newRows = (): OnnxNodeSpec[] =>
  layerKinds.flatMap(({ l, k }) => [
    { op: 'Gather', inputs: [`F_${l}_${k}`, 'input_ids'], outputs: [`g_${l}_${k}`], attributes: { axis: 0 } },
    { op: 'Unsqueeze', inputs: [`g_${l}_${k}`, 'axes1'], outputs: [`new_${l}_${k}`] },
  ]);

const encoderBias: OnnxNodeSpec = { op: 'ReduceSum', inputs: ['encoder_hidden_states', 'axes1'], outputs: ['enc'], attributes: { keepdims: 1 } };

/** decoder_model.onnx: the whole sequence in, no past; its presents seed a split export's cache. */
export function decoderModel(w: Weights): OnnxModelSpec {
  const V = w.E.length;
  return {
    inputs: commonInputs(V),
    outputs: [{ name: 'logits', type: 'float32', dims: ['batch_size', 'decoder_sequence_length', V] }, ...presentOutputs(V)],
    initializers: [...initializers(w), AXIS1, AXES1],
    nodes: [
      { op: 'Gather', inputs: ['E', 'input_ids'], outputs: ['e'], attributes: { axis: 0 } },
      { op: 'Gather', inputs: ['K', 'input_ids'], outputs: ['k'], attributes: { axis: 0 } },
      { op: 'CumSum', inputs: ['k', 'axis1'], outputs: ['cs'] },
      encoderBias,
      { op: 'Add', inputs: ['e', 'cs'], outputs: ['ecs'] },
      { op: 'Add', inputs: ['ecs', 'enc'], outputs: ['logits'] },
      ...newRows(),
      ...layerKinds.map(({ l, k }) => ({ op: 'Identity', inputs: [`new_${l}_${k}`], outputs: [presentName(l, k)] })),
    ],
  };
}

function mergedPresents(): OnnxNodeSpec[] {
  const branch = (prefix: string, node: (l: number, k: string) => OnnxNodeSpec) => ({
    graph: { inputs: [], outputs: layerKinds.map(({ l, k }) => ({ name: `${prefix}_${l}_${k}`, type: 'float32' as const })), nodes: layerKinds.map(({ l, k }) => node(l, k)) },
  });
  return [
    {
      op: 'If',
      inputs: ['use_cache_branch'],
      outputs: layerKinds.map(({ l, k }) => presentName(l, k)),
      attributes: {
        then_branch: branch('cat', (l, k) => ({ op: 'Concat', inputs: [pastName(l, k), `new_${l}_${k}`], outputs: [`cat_${l}_${k}`], attributes: { axis: 2 } })),
        else_branch: branch('fresh', (l, k) => ({ op: 'Identity', inputs: [`new_${l}_${k}`], outputs: [`fresh_${l}_${k}`] })),
      },
    },
  ];
}

/**
 * With past inputs. `merged` adds use_cache_branch, and an If that ignores the past when it is
 * false (as Optimum's merged decoder does), plus an attention_mask input.
 */
export function withPastModel(w: Weights, merged: boolean): OnnxModelSpec {
  const V = w.E.length;
  const pastInputs: OnnxValueSpec[] = layerKinds.map(({ l, k }) => ({ name: pastName(l, k), type: 'float32', dims: ['batch_size', 1, 'past_sequence_length', V] }));
  const presents: OnnxNodeSpec[] = merged
    ? mergedPresents()
    : layerKinds.map(({ l, k }) => ({ op: 'Concat', inputs: [pastName(l, k), `new_${l}_${k}`], outputs: [presentName(l, k)], attributes: { axis: 2 } }));
  const sums: OnnxNodeSpec[] = layerKinds.map(({ l, k }) => ({ op: 'ReduceSum', inputs: [presentName(l, k), 'axes2'], outputs: [`sum_${l}_${k}`], attributes: { keepdims: 0 } }));
  const total: OnnxNodeSpec[] = layerKinds.slice(1).map(({ l, k }, i) => ({
    op: 'Add',
    inputs: [i === 0 ? 'sum_0_key' : `total_${i - 1}`, `sum_${l}_${k}`],
    outputs: [`total_${i}`],
  }));
  const maskTerm: OnnxNodeSpec[] = merged
    ? [
        // Consumed but worth nothing: the decoders' test checks its width separately.
        { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attributes: { to: 1 } },
        { op: 'ReduceSum', inputs: ['mask_f'], outputs: ['mask_sum'], attributes: { keepdims: 0 } },
        { op: 'Mul', inputs: ['mask_sum', 'zero'], outputs: ['mask_term'] },
      ]
    : [{ op: 'Identity', inputs: ['zero'], outputs: ['mask_term'] }];
  return {
    inputs: [
      ...commonInputs(V),
      ...(merged ? [{ name: 'attention_mask', type: 'int64' as const, dims: ['batch_size', 'total_length'] }] : []),
      ...pastInputs,
      ...(merged ? [{ name: 'use_cache_branch', type: 'bool' as const, dims: [1] }] : []),
    ],
    outputs: [{ name: 'logits', type: 'float32', dims: ['batch_size', 'decoder_sequence_length', V] }, ...presentOutputs(V)],
    initializers: [...initializers(w).filter((i) => i.name !== 'K'), AXES1, AXES2, { name: 'zero', type: 'float32', dims: [], values: [0] }],
    nodes: [
      ...newRows(),
      ...presents,
      ...sums,
      ...total,
      ...maskTerm,
      { op: 'Gather', inputs: ['E', 'input_ids'], outputs: ['e'], attributes: { axis: 0 } },
      encoderBias,
      { op: 'Add', inputs: ['e', `total_${total.length - 1}`], outputs: ['et'] },
      { op: 'Add', inputs: ['et', 'enc'], outputs: ['etm'] },
      { op: 'Add', inputs: ['etm', 'mask_term'], outputs: ['logits'] },
    ],
  };
}

export interface TinyCaptionerSpec {
  id: string;
  /** The vocabulary in id order, GPT-2 byte-level tokens ('Ġhorse' is " horse"); the last is the start and end token. */
  tokens: readonly string[];
  /** Row t: the next token's probabilities after token t (unlisted tokens get next to nothing). */
  next: readonly Record<number, number>[];
  /** Overrides of the card's output options (a card that contradicts its files). */
  options?: Record<string, unknown>;
  /** The decoder graph, where it should not be the merged one made from `next`. */
  decoder?: OnnxModelSpec;
}

/**
 * Installs a ViT-GPT2-shaped captioner under `modelsDir/<id>` as `loupe models pull` leaves one:
 * encoder and merged decoder ONNX files, vocab.json and a card pinning their bytes. The encoder
 * takes 224 x 224 images and scales its states down so far that the image never changes a token:
 * what the model writes is `next`'s to say.
 */
export async function installTinyCaptioner(modelsDir: string, spec: TinyCaptionerSpec): Promise<void> {
  const V = spec.tokens.length;
  const end = V - 1;
  const E = spec.next.map((p) => logProbRow(V, p));
  const dir = join(modelsDir, spec.id);
  await mkdir(dir, { recursive: true });
  const contents: Record<string, [string, Uint8Array]> = {
    encoder: ['encoder.onnx', buildOnnxModel(encoderModel(V, { imageSize: 224, scale: 1e-3 }))],
    decoder: ['decoder_merged.onnx', buildOnnxModel(spec.decoder ?? withPastModel(noCache(E), true))],
    vocab: ['vocab.json', Buffer.from(JSON.stringify(Object.fromEntries(spec.tokens.map((t, id) => [t, id]))))],
  };
  const files: Record<string, unknown> = {};
  for (const [role, [path, bytes]] of Object.entries(contents)) {
    await writeFile(join(dir, path), bytes);
    files[role] = { path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength };
  }
  const card = {
    id: spec.id,
    version: '1',
    task: 'captioning',
    name: `${spec.id} (test captioner)`,
    licence: 'CC0-1.0',
    source: 'made by the test',
    files,
    input: { name: 'pixel_values', width: 224, height: 224, resize: 'stretch', channelOrder: 'RGB', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], layout: 'NCHW', dtype: 'float32' },
    output: {
      decoder: 'vision-encoder-decoder',
      options: {
        encoderOutput: 'last_hidden_state',
        decoderMerged: true,
        layers: LAYERS.length,
        heads: 1,
        headDim: V,
        vocabSize: V,
        decoderStartTokenId: end,
        eosTokenId: end,
        maxLength: 16,
        language: 'en',
        ...spec.options,
      },
    },
  };
  await writeFile(join(dir, 'card.json'), JSON.stringify(card, null, 2));
}
