import { join } from 'node:path';
import { generatedModels } from './generated-models.test-support.js';
import t from 'tap';
import { parseTokenizer } from './byte-level-bpe.js';
import { Gpt2Tokenizer } from './gpt2-tokenizer.js';
import { loadSession } from '../session.js';
import type { Tensor } from './model-io.js';
import { caption, type EncoderDecoderModels, generate as generateIds, type GenerateOptions } from './seq2seq.js';
import { decoderModel, encoderModel, LAYERS, logProbRow, type Matrix, noCache, summed, type Weights, withPastModel } from './seq2seq.test-support.js';

/** Six tokens, the last (5) both start and end token as GPT-2's 50256 is (see seq2seq.test-support.ts). */
const V = 6;
const EOS = 5;
const KINDS = ['key', 'value'] as const;
const row = (p: Record<number, number>): number[] => logProbRow(V, p);

/** The tiny vocabulary's start and end token, where ViT-GPT2's default is 50256. */
const generate = (m: EncoderDecoderModels, images: Tensor, opts: GenerateOptions = {}) =>
  generateIds(m, images, { decoderStartTokenId: EOS, eosTokenId: EOS, ...opts });

/** Opens a generated model the way Loupe opens any: from a file, through loadSession. */
const open = await generatedModels(t, 'seq2seq');

type Variant = 'uncached' | 'merged' | 'split' | 'with-past';
async function models(w: Weights, variant: Variant = 'uncached'): Promise<EncoderDecoderModels> {
  const encoderSession = await open(encoderModel(V));
  const encoder = (feeds: Record<string, Tensor>) => encoderSession.run(feeds);
  switch (variant) {
    case 'uncached':
      return { encoder, decoder: await open(decoderModel(w)) };
    case 'merged':
      return { encoder, decoder: await open(withPastModel(w, true)) };
    case 'with-past':
      return { encoder, decoder: await open(withPastModel(w, false)) };
    case 'split':
      return { encoder, decoder: await open(decoderModel(w)), decoderWithPast: await open(withPastModel(w, false)) };
  }
}

/** N images of 3 x 4 x 4; the encoder reads each as 8 states of 6, whose sum biases every logit. */
function pixels(biases: readonly (readonly number[])[]): Tensor {
  const data = new Float32Array(biases.length * 48);
  biases.forEach((b, i) => b.forEach((v, j) => (data[i * 48 + j] = v)));
  return { data, dims: [biases.length, 3, 4, 4] };
}
const blank = (n = 1) => pixels(Array.from({ length: n }, () => []));
const near = (a: number, b: number) => Math.abs(a - b) < 1e-4;

// Greedy takes 0 (p .5) then ends (.4): p = .2. Beam search finds 1 (.4) then the end (.9): p = .36.
const GREEDY_MISSES = noCache([row({ 2: 0.3, 3: 0.3, 5: 0.4 }), row({ 5: 0.9, 3: 0.1 }), row({ 5: 1 }), row({ 5: 1 }), row({ 5: 1 }), row({ 0: 0.5, 1: 0.4, 2: 0.1 })]);

t.test('greedy and beam search on a model whose probabilities are worked by hand', async (t) => {
  const m = await models(GREEDY_MISSES);
  const [greedy] = await generate(m, blank());
  t.same(greedy?.tokens, [0]);
  t.ok(greedy && near(greedy.score, Math.log(0.2)), 'greedy score is the log probability, log .5 + log .4');
  t.equal(greedy?.finished, true);
  t.ok(greedy && greedy.logProbs.length === 2 && near(greedy.logProbs[0]!, Math.log(0.5)) && near(greedy.logProbs[1]!, Math.log(0.4)), 'each token’s log probability, the end token’s last');

  const [beam] = await generate(m, blank(), { numBeams: 2 });
  t.same(beam?.tokens, [1], 'two beams find 1 then the end, p = .36');
  t.ok(beam && near(beam.score, Math.log(0.36) / 2), 'scored log p / 2 tokens');
  t.ok(beam && beam.logProbs.length === 2 && near(beam.logProbs[0]!, Math.log(0.4)) && near(beam.logProbs[1]!, Math.log(0.9)), 'the beam’s own tokens’ log probabilities');

  const [short] = await generate(m, blank(), { numBeams: 2, maxNewTokens: 1 });
  t.same(short?.tokens, [0], 'out of room: the best live beam');
  t.equal(short?.finished, false);
  t.equal(short?.logProbs.length, 1, 'unfinished: no end token to count');
  t.ok(short && near(short.score, Math.log(0.5)));
});

t.test('length penalty: above 1 a longer caption wins', async (t) => {
  // Start: 0 (.45) or 1 (.55). After 0: 3 (.6) or end (.4); after 1: end (.9); after 3: end.
  // [1] has log p -0.703 over 2 tokens, [0, 3] -1.309 over 3: per length 1 -0.352 vs -0.436, per length^2 -0.176 vs -0.145.
  const m = await models(noCache([row({ 3: 0.6, 5: 0.4 }), row({ 5: 0.9, 3: 0.1 }), row({ 5: 1 }), row({ 5: 1 }), row({ 5: 1 }), row({ 0: 0.45, 1: 0.55 })]));
  t.same((await generate(m, blank(), { numBeams: 2 }))[0]?.tokens, [1]);
  const [long] = await generate(m, blank(), { numBeams: 2, lengthPenalty: 2 });
  t.same(long?.tokens, [0, 3]);
  t.ok(long && near(long.score, Math.log(0.45 * 0.6) / 9));
  t.same((await generate(m, blank()))[0]?.tokens, [1], 'greedy ignores the penalty');
});

t.test('no_repeat_ngram_size keeps a pair of tokens from coming back', async (t) => {
  // 0 -> 1 (.7) -> 0 (.6) -> 1 ... loops; with pairs banned, 0 -> 1 again is refused and 0 -> 2 -> end follows.
  const m = await models(noCache([row({ 1: 0.7, 2: 0.3 }), row({ 0: 0.6, 5: 0.4 }), row({ 5: 1 }), row({ 5: 1 }), row({ 5: 1 }), row({ 0: 0.9, 1: 0.1 })]));
  t.match((await generate(m, blank(), { maxNewTokens: 6 }))[0], { tokens: [0, 1, 0, 1, 0, 1], finished: false });
  t.same((await generate(m, blank(), { maxNewTokens: 6, noRepeatNgramSize: 2 }))[0]?.tokens, [0, 1, 0, 2]);
  t.same((await generate(m, blank(), { maxNewTokens: 6, noRepeatNgramSize: 2, numBeams: 2 }))[0]?.tokens, [0, 1, 0, 2]);
});

t.test('the encoder runs once for the batch and each image gets its own caption', async (t) => {
  const m = await models(GREEDY_MISSES);
  let encoderRuns = 0;
  const counted = { ...m, encoder: (feeds: Record<string, Tensor>) => (encoderRuns++, m.encoder(feeds)) };
  // The second image's states add 50 to token 2's logit at every step.
  const images = pixels([[], [0, 0, 50]]);
  for (const numBeams of [1, 3]) {
    encoderRuns = 0;
    const out = await generate(counted, images, { maxNewTokens: 4, numBeams });
    t.same(
      out.map((s) => s.tokens),
      [numBeams === 1 ? [0] : [1], [2, 2, 2, 2]],
      `${numBeams === 1 ? 'greedy' : 'beam search'}: image 1 as before, image 2 pulled to token 2`,
    );
    t.equal(encoderRuns, 1);
  }
});

/** Deterministic pseudo-random weights: the KV cache now changes which token wins. */
function randomWeights(seed: number): Weights {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const m = (scale: number): Matrix => Array.from({ length: V }, () => Array.from({ length: V }, () => rnd() * scale));
  return { E: m(3), F: LAYERS.flatMap(() => KINDS.map(() => m(0.8))) };
}

/** The greedy tokens, straight from the formula the models compute. */
function referenceGreedy(w: Weights, bias: readonly number[], maxNewTokens: number): number[] {
  const K = summed(w);
  const seq = [EOS];
  const acc = new Array<number>(V).fill(0);
  const out: number[] = [];
  for (let step = 0; step < maxNewTokens; step++) {
    const last = seq[seq.length - 1]!;
    K[last]!.forEach((v, j) => (acc[j]! += v));
    const logits = w.E[last]!.map((e, j) => e + acc[j]! + (bias[j] ?? 0));
    const best = logits.indexOf(Math.max(...logits));
    if (best === EOS) break;
    out.push(best);
    seq.push(best);
  }
  return out;
}

t.test('with a KV cache (merged, split or with-past decoders) the tokens are those of the uncached decoder', async (t) => {
  const bias = [0.3, -0.2, 0.1, 0, 0.2, -1.5];
  const images = pixels([[], bias]);
  let cacheMattered = false;
  for (const seed of [1, 2, 3]) {
    const w = randomWeights(seed);
    const reference = [referenceGreedy(w, [], 8), referenceGreedy(w, bias, 8)];
    if (reference[0]!.join() !== referenceGreedy({ ...w, F: noCache(w.E).F }, [], 8).join()) cacheMattered = true;
    const uncached = await models(w, 'uncached');
    const opts: GenerateOptions[] = [{ maxNewTokens: 8 }, { maxNewTokens: 8, numBeams: 3 }, { maxNewTokens: 8, numBeams: 2, lengthPenalty: 0.5, noRepeatNgramSize: 2 }];
    const expected = await Promise.all(opts.map((o) => generate(uncached, images, o)));
    t.same(expected[0]!.map((s) => s.tokens), reference, `seed ${seed}: the uncached decoder follows the formula`);
    for (const variant of ['merged', 'split', 'with-past'] as const) {
      const m = await models(w, variant);
      for (const [i, o] of opts.entries()) {
        const got = await generate(m, images, o);
        t.same(got.map((s) => s.tokens), expected[i]!.map((s) => s.tokens), `seed ${seed}, ${variant}, ${JSON.stringify(o)}`);
        t.ok(got.every((s, j) => near(s.score, expected[i]![j]!.score)), 'same scores');
      }
      const noCacheRun = await generate(m, images, { ...opts[1], useCache: false });
      t.same(noCacheRun.map((s) => s.tokens), expected[1]!.map((s) => s.tokens), `${variant} with useCache: false`);
    }
  }
  t.ok(cacheMattered, 'the cached rows change at least one caption, so a cache that is dropped would show');
});

t.test('a cached decoder is fed one new token, the mask of the whole sequence, and use_cache_branch after the first step', async (t) => {
  const m = await models(randomWeights(7), 'merged');
  const seen: { ids: readonly number[]; mask: readonly number[]; branch: number; past: readonly number[] }[] = [];
  const watched: EncoderDecoderModels = {
    ...m,
    decoder: {
      inputs: m.decoder.inputs,
      run: (feeds) => {
        seen.push({
          ids: feeds.input_ids!.dims,
          mask: feeds.attention_mask!.dims,
          branch: Number((feeds.use_cache_branch!.data as Uint8Array)[0]),
          past: feeds['past_key_values.1.value']!.dims,
        });
        return m.decoder.run(feeds);
      },
    },
  };
  await generate(watched, blank(), { maxNewTokens: 3, numBeams: 2 });
  t.same(seen.slice(0, 3), [
    { ids: [2, 1], mask: [2, 1], branch: 0, past: [2, 1, 0, V] },
    { ids: [2, 1], mask: [2, 2], branch: 1, past: [2, 1, 1, V] },
    { ids: [2, 1], mask: [2, 3], branch: 1, past: [2, 1, 2, V] },
  ]);
});

t.test('an empty first past needs its shape from the model metadata or from pastShape', async (t) => {
  const m = await models(randomWeights(5), 'with-past');
  // Names without shapes, as a runner that does not report them would give.
  const blind: EncoderDecoderModels = { ...m, decoder: { run: (feeds) => m.decoder.run(feeds), inputs: m.decoder.inputs.map(({ name }) => ({ name })) } };
  await t.rejects(generate(blind, blank()), { code: 'LOUPE_ERR_MODEL_LOAD', message: /pastShape/ });
  const [told] = await generate(blind, blank(), { pastShape: { numHeads: 1, headDim: V } });
  t.same(told?.tokens, (await generate(m, blank()))[0]?.tokens);
  const odd: EncoderDecoderModels = { ...m, decoder: { run: (feeds) => m.decoder.run(feeds), inputs: [...m.decoder.inputs, { name: 'token_type_ids' }] } };
  await t.rejects(generate(odd, blank()), { code: 'LOUPE_ERR_MODEL_LOAD', message: /token_type_ids/ });
  await t.rejects(generate(m, blank(), { numBeams: 0 }), RangeError);
});

t.test('a caption is decoded to text through the GPT-2 byte-level vocabulary', async (t) => {
  // A -> horse -> in -> a -> field -> end, each at .9.
  const m = await models(noCache([row({ 1: 0.9, 5: 0.1 }), row({ 2: 0.9, 5: 0.1 }), row({ 3: 0.9, 5: 0.1 }), row({ 4: 0.9, 5: 0.1 }), row({ 5: 0.9, 0: 0.1 }), row({ 0: 0.9, 5: 0.1 })]));
  const vocab = { A: 0, 'Ġhorse': 1, 'Ġin': 2, 'Ġa': 3, 'Ġfield': 4, '<|endoftext|>': 5 };
  const tokenizer = new Gpt2Tokenizer(parseTokenizer({ vocabJson: JSON.stringify(vocab) }));
  for (const numBeams of [1, 2]) {
    const [c] = await caption(m, tokenizer, blank(), { decoderStartTokenId: EOS, eosTokenId: EOS, numBeams });
    t.equal(c?.text, 'A horse in a field');
    t.same(c?.tokens, [0, 1, 2, 3, 4]);
  }
});
