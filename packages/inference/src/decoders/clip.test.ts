import { buildOnnxModel, type OnnxModelSpec } from '@loupe/testing';
import * as ort from 'onnxruntime-node';
import { generatedModels } from './generated-models.test-support.js';
import t, { type Test } from 'tap';
import { BYTE_CHARS_IN_VOCAB_ORDER, parseTokenizer } from './byte-level-bpe.js';
import { decodeEmbeddings, embedImages, embedTexts, zeroShotScores } from './clip.js';
import { ClipTokenizer } from './clip-tokenizer.js';
import { loadSession } from '../session.js';
import { ortSessionModel } from './model-io.js';

const DIM = 512;
// Deterministic, varied weights: no two columns alike.
const weights = (rows: number) => Float32Array.from({ length: rows * DIM }, (_, i) => Math.sin(i * 0.37 + 1) * ((i % 7) + 1));

const W_IMAGE = weights(3);
const W_TEXT = weights(77);

/** Same names and shapes as Xenova's vision_model.onnx: each channel's mean, projected to 512. */
const visionModel = (): OnnxModelSpec => ({
    inputs: [{ name: 'pixel_values', type: 'float32', dims: ['batch_size', 3, 224, 224] }],
    outputs: [{ name: 'image_embeds', type: 'float32', dims: ['batch_size', DIM] }],
    initializers: [{ name: 'W', type: 'float32', dims: [3, DIM], values: W_IMAGE }],
    nodes: [
      { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['means'], attributes: { axes: [2, 3], keepdims: 0 } },
      { op: 'MatMul', inputs: ['means', 'W'], outputs: ['image_embeds'] },
    ],
  });

/** Same names and shapes as Xenova's text_model.onnx: the masked ids, as numbers, projected to 512. */
const textModel = (withMask: boolean): OnnxModelSpec => ({
    inputs: [
      { name: 'input_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
      ...(withMask ? [{ name: 'attention_mask', type: 'int64' as const, dims: ['batch_size', 'sequence_length'] }] : []),
    ],
    outputs: [{ name: 'text_embeds', type: 'float32', dims: ['batch_size', DIM] }],
    initializers: [{ name: 'W', type: 'float32', dims: [77, DIM], values: W_TEXT }],
    nodes: [
      { op: 'Cast', inputs: ['input_ids'], outputs: ['ids'], attributes: { to: 1 } },
      ...(withMask
        ? [
            { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask'], attributes: { to: 1 } },
            { op: 'Mul', inputs: ['ids', 'mask'], outputs: ['masked'] },
          ]
        : [{ op: 'Identity', inputs: ['ids'], outputs: ['masked'] }]),
      { op: 'MatMul', inputs: ['masked', 'W'], outputs: ['text_embeds'] },
    ],
  });

function project(x: readonly number[], w: Float32Array): number[] {
  const out = new Array<number>(DIM).fill(0);
  x.forEach((v, r) => {
    for (let c = 0; c < DIM; c++) out[c]! += v * w[r * DIM + c]!;
  });
  const norm = Math.hypot(...out);
  return out.map((v) => v / norm);
}

const close = (t: Test, got: Float32Array | undefined, want: number[], msg: string) =>
  t.ok(got && got.length === want.length && want.every((w, i) => Math.abs(got[i]! - w) < 1e-5), msg);


/** Opens a generated model the way Loupe opens any: from a file, through loadSession. */
const open = await generatedModels(t, 'clip');

const vocab: Record<string, number> = {};
[...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`)].forEach((tok, id) => (vocab[tok] = id));
vocab['<|startoftext|>'] = 49406;
vocab['<|endoftext|>'] = 49407;
const tokenizer = new ClipTokenizer(parseTokenizer({ vocabJson: JSON.stringify(vocab), mergesTxt: '' }));

t.test('image embeddings come out of a pixel_values -> image_embeds model at unit length', async (t) => {
  const session = await open(visionModel());
  const plane = 224 * 224;
  const pixels = new Float32Array(2 * 3 * plane);
  // Image 0 is a flat colour (0.5, -1, 2); image 1 has channel means (1, 0.25, -0.5) from two halves.
  [0.5, -1, 2].forEach((v, c) => pixels.fill(v, c * plane, (c + 1) * plane));
  [1, 0.25, -0.5].forEach((mean, c) => {
    const start = (3 + c) * plane;
    pixels.fill(mean - 1, start, start + plane / 2);
    pixels.fill(mean + 1, start + plane / 2, start + plane);
  });
  const embeds = await embedImages((feeds) => session.run(feeds), { data: pixels, dims: [2, 3, 224, 224] });
  t.equal(embeds.length, 2);
  close(t, embeds[0], project([0.5, -1, 2], W_IMAGE), 'image 0');
  close(t, embeds[1], project([1, 0.25, -0.5], W_IMAGE), 'image 1');
  t.ok(Math.abs(Math.hypot(...embeds[1]!) - 1) < 1e-6, 'unit length');
});

t.test('text embeddings feed input_ids [N, 77], and attention_mask only to a model that takes it', async (t) => {
  const ids = (text: string) => tokenizer.encode(text);
  for (const withMask of [true, false]) {
    const session = await open(textModel(withMask));
    const embeds = await embedTexts(session, tokenizer, ['a cat', 'dog']);
    for (const [i, text] of ['a cat', 'dog'].entries()) {
      const e = ids(text);
      const x = withMask ? e.ids.map((id, j) => id * e.attentionMask[j]!) : e.ids;
      close(t, embeds[i], project(x, W_TEXT), `${text} (${withMask ? 'with' : 'without'} attention_mask)`);
    }
  }
  const bare = await open(textModel(false));
  t.equal((await embedTexts((feeds) => bare.run(feeds), tokenizer, ['x'])).length, 1, 'a bare run function gets input_ids alone');
  t.same(await embedTexts((feeds) => bare.run(feeds), tokenizer, []), [], 'no texts, no run');
});

t.test('a bare onnxruntime session works through ortSessionModel', async (t) => {
  const session = await ort.InferenceSession.create(buildOnnxModel(textModel(true)), { intraOpNumThreads: 1 });
  t.teardown(() => session.release());
  const [embed] = await embedTexts(ortSessionModel(session), tokenizer, ['a cat']);
  const e = tokenizer.encode('a cat');
  close(t, embed, project(e.ids.map((id, j) => id * e.attentionMask[j]!), W_TEXT), 'same embedding as through loadSession');
});

t.test('zero-shot scores: cosine similarity, scaled, then a softmax over the labels', async (t) => {
  const image = Float32Array.from([3, 0]);
  const labels = [Float32Array.from([2, 0]), Float32Array.from([0, 5]), Float32Array.from([1, 1])];
  const unscaled = zeroShotScores(image, labels, { logitScale: 1 });
  // cosines 1, 0, 1/sqrt(2); softmax(1, 0, 0.707107) = (2.718282, 1, 2.028115) / 5.746397
  close(t, Float32Array.from(unscaled.similarities), [1, 0, Math.SQRT1_2], 'similarities ignore lengths');
  close(t, Float32Array.from(unscaled.probabilities), [0.473041, 0.174022, 0.352937], 'probabilities');
  const clip = zeroShotScores(image, labels);
  t.ok(clip.probabilities[0]! > 0.999999, "CLIP's scale of 100 makes the best label take almost everything");
  t.ok(Math.abs(clip.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  t.throws(() => zeroShotScores(image, [Float32Array.from([1, 2, 3])]), RangeError);
});

t.test('an embedding output of the wrong shape is a model error', async (t) => {
  t.throws(() => decodeEmbeddings({ data: new Float32Array(6), dims: [1, 2, 3] }), { code: 'LOUPE_ERR_MODEL_LOAD' });
  await t.rejects(embedImages(async () => ({}), { data: new Float32Array(3), dims: [1, 3, 1, 1] }), {
    code: 'LOUPE_ERR_MODEL_LOAD',
    message: /no output named image_embeds/,
  });
});
