/**
 * Logistic regression on embeddings, written for speed in plain TypeScript: the examples are one
 * flat row-major Float32Array (n x d), the weights one K x D Float64Array while training, and the
 * inner loops touch nothing but typed arrays.
 *
 * Objectives (s = sample weight, W the K x D weights, b the K biases, which are not penalised):
 *   softmax:     J = (1/n) sum_i s_i * -log p(y_i | x_i)                          + (l2/2) |W|^2
 *   one-vs-rest: J = (1/n) sum_i sum_c s_ic * BCE(sigmoid(w_c.x_i + b_c), y_ic)   + (l2/2) |W|^2
 * minimised by mini-batch Adam with a cosine-decayed learning rate. Each epoch visits the examples
 * in an order drawn from the seed, so the result depends on the data and the seed only.
 *
 * Speed (about 1.1 s an epoch for 100,000 x 512 x 20 classes on one core of the benchmark machine):
 * a batch's logits are computed two examples and four classes per sweep over the dimensions, and
 * its weight gradient (G^T X) four classes by four examples per sweep, so each load of x or W
 * feeds several products. Per-class errors of at most SPARSE_CUTOFF (1e-4 in probability) are
 * dropped, and a 4 x 4 block of dropped errors is skipped: once a model is roughly right most
 * classes are far from most examples, which saves work on easy data (one-vs-rest especially).
 */
import { seededRandom, shuffle } from '@loupe/datasets';
import { invalid } from './head.js';

export interface TrainOptions {
  /** L2 penalty on the weights (not the biases). Default 1e-4. */
  readonly l2?: number;
  /** Passes over the data. Default: see `defaultEpochs` (at least 4 passes and 300 steps). */
  readonly epochs?: number;
  /** Default 256. */
  readonly batchSize?: number;
  /** Adam's initial step, decayed to 0 by a cosine over the run. Default 0.01. */
  readonly learningRate?: number;
  /**
   * 'balanced' (the default) weighs each example so that every class counts as much in the loss:
   * softmax class c gets n / (K * n_c); one-vs-rest class c gets n / (2 * positives) on its
   * positives and n / (2 * negatives) on its negatives. 'none' weighs every example 1.
   */
  readonly classWeights?: 'balanced' | 'none';
  /** Seeds the order of examples in each epoch. Default 'loupe'. */
  readonly seed?: string | number;
}

export interface LinearWeights {
  /** K x D, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

export const TRAIN_DEFAULTS = Object.freeze({
  l2: 1e-4,
  batchSize: 256,
  learningRate: 0.01,
  classWeights: 'balanced' as const,
  seed: 'loupe',
  minEpochs: 4,
  minSteps: 300,
  maxEpochs: 10_000,
});

const SPARSE_CUTOFF = 1e-4;
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-8;

/**
 * Epochs when none are given: at least `minEpochs` passes, and at least `minSteps` Adam steps so a
 * small dataset (one batch an epoch) still gets enough updates to converge.
 */
export function defaultEpochs(n: number, batchSize: number = TRAIN_DEFAULTS.batchSize): number {
  const perEpoch = Math.max(1, Math.ceil(n / batchSize));
  return Math.min(TRAIN_DEFAULTS.maxEpochs, Math.max(TRAIN_DEFAULTS.minEpochs, Math.ceil(TRAIN_DEFAULTS.minSteps / perEpoch)));
}

interface Resolved {
  l2: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  balanced: boolean;
  seed: string | number;
}

function resolve(opts: TrainOptions, n: number): Resolved {
  const l2 = opts.l2 ?? TRAIN_DEFAULTS.l2;
  const batchSize = opts.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const learningRate = opts.learningRate ?? TRAIN_DEFAULTS.learningRate;
  const epochs = opts.epochs ?? defaultEpochs(n, batchSize);
  const classWeights = opts.classWeights ?? TRAIN_DEFAULTS.classWeights;
  if (!Number.isFinite(l2) || l2 < 0) throw invalid(`l2 must be a finite number >= 0, not ${l2}`, { l2 });
  if (!Number.isInteger(batchSize) || batchSize < 1) throw invalid(`batchSize must be a whole number >= 1, not ${batchSize}`, { batchSize });
  if (!Number.isFinite(learningRate) || learningRate <= 0) throw invalid(`learningRate must be a finite number > 0, not ${learningRate}`, { learningRate });
  if (!Number.isInteger(epochs) || epochs < 1) throw invalid(`epochs must be a whole number >= 1, not ${epochs}`, { epochs });
  if (classWeights !== 'balanced' && classWeights !== 'none') throw invalid(`classWeights must be 'balanced' or 'none', not ${String(classWeights)}`, { classWeights });
  return { l2, epochs, batchSize, learningRate, balanced: classWeights === 'balanced', seed: opts.seed ?? TRAIN_DEFAULTS.seed };
}

function checkShape(x: Float32Array, n: number, d: number, k: number, yLength: number, yExpected: number): void {
  if (!Number.isInteger(n) || n < 1) throw invalid(`n must be a whole number >= 1, not ${n}`, { n });
  if (!Number.isInteger(d) || d < 1) throw invalid(`d must be a whole number >= 1, not ${d}`, { d });
  if (!Number.isInteger(k) || k < 1) throw invalid(`k must be a whole number >= 1, not ${k}`, { k });
  if (x.length !== n * d) throw invalid(`x has ${x.length} values; n x d = ${n} x ${d} = ${n * d}`, { length: x.length, n, d });
  if (yLength !== yExpected) throw invalid(`y has ${yLength} values, expected ${yExpected}`, { length: yLength, expected: yExpected });
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw invalid(`x holds a non-finite value in example ${Math.floor(i / d)}, dimension ${i % d}`, { example: Math.floor(i / d), dimension: i % d });
  }
}

function checkClasses(y: Int32Array, k: number): void {
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c < 0 || c >= k) throw invalid(`y[${i}] = ${c} is not a class index from 0 to ${k - 1}`, { example: i, label: c, k });
  }
}

function checkMultiHot(y: Uint8Array): void {
  for (let i = 0; i < y.length; i++) {
    if (y[i]! > 1) throw invalid(`y[${i}] = ${y[i]} is not 0 or 1 (y is n x k multi-hot)`, { index: i, value: y[i] });
  }
}

/** 0..n-1. */
function allRows(n: number): Int32Array {
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return rows;
}

/** Per example weight for softmax over `rows`: n_rows / (K * n_c), or 1. */
function softmaxSampleWeights(y: Int32Array, k: number, rows: Int32Array, balanced: boolean): Float64Array {
  const w = new Float64Array(y.length).fill(1);
  if (!balanced) return w;
  const counts = new Float64Array(k);
  for (let r = 0; r < rows.length; r++) counts[y[rows[r]!]!]!++;
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    w[i] = rows.length / (k * counts[y[i]!]!);
  }
  return w;
}

/** Per class weights of positives and negatives over `rows` (1 and 1 when unbalanced or one side is empty). */
function oneVsRestClassWeights(y: Uint8Array, k: number, rows: Int32Array, balanced: boolean): { pos: Float64Array; neg: Float64Array } {
  const pos = new Float64Array(k).fill(1);
  const neg = new Float64Array(k).fill(1);
  if (!balanced) return { pos, neg };
  const positives = new Float64Array(k);
  for (let r = 0; r < rows.length; r++) {
    const off = rows[r]! * k;
    for (let c = 0; c < k; c++) positives[c]! += y[off + c]!;
  }
  const n = rows.length;
  for (let c = 0; c < k; c++) {
    const p = positives[c]!;
    if (p > 0 && p < n) {
      pos[c] = n / (2 * p);
      neg[c] = n / (2 * (n - p));
    }
  }
  return { pos, neg };
}

/**
 * Z (m x k) = logits of the m examples rows[from..from+m): two examples and four classes per
 * sweep over d, so each load of x feeds four products and each load of W two.
 */
function forwardBatch(x: Float32Array, d: number, k: number, W: Float64Array, b: Float64Array, rows: Int32Array, from: number, m: number, Z: Float64Array): void {
  let q = 0;
  for (; q + 2 <= m; q += 2) {
    const o0 = rows[from + q]! * d;
    const o1 = rows[from + q + 1]! * d;
    const z0 = q * k;
    const z1 = z0 + k;
    let c = 0;
    for (; c + 4 <= k; c += 4) {
      const w0 = c * d;
      const w1 = w0 + d;
      const w2 = w1 + d;
      const w3 = w2 + d;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let j = 0; j < d; j++) {
        const u = x[o0 + j]!;
        const v = x[o1 + j]!;
        const v0 = W[w0 + j]!;
        const v1 = W[w1 + j]!;
        const v2 = W[w2 + j]!;
        const v3 = W[w3 + j]!;
        a0 += u * v0;
        a1 += u * v1;
        a2 += u * v2;
        a3 += u * v3;
        b0 += v * v0;
        b1 += v * v1;
        b2 += v * v2;
        b3 += v * v3;
      }
      Z[z0 + c] = a0 + b[c]!;
      Z[z0 + c + 1] = a1 + b[c + 1]!;
      Z[z0 + c + 2] = a2 + b[c + 2]!;
      Z[z0 + c + 3] = a3 + b[c + 3]!;
      Z[z1 + c] = b0 + b[c]!;
      Z[z1 + c + 1] = b1 + b[c + 1]!;
      Z[z1 + c + 2] = b2 + b[c + 2]!;
      Z[z1 + c + 3] = b3 + b[c + 3]!;
    }
    for (; c < k; c++) {
      const w0 = c * d;
      let a0 = 0;
      let b0 = 0;
      for (let j = 0; j < d; j++) {
        const v0 = W[w0 + j]!;
        a0 += x[o0 + j]! * v0;
        b0 += x[o1 + j]! * v0;
      }
      Z[z0 + c] = a0 + b[c]!;
      Z[z1 + c] = b0 + b[c]!;
    }
  }
  if (q < m) {
    const o0 = rows[from + q]! * d;
    const z0 = q * k;
    for (let c = 0; c < k; c++) {
      const w0 = c * d;
      let a0 = 0;
      for (let j = 0; j < d; j++) a0 += x[o0 + j]! * W[w0 + j]!;
      Z[z0 + c] = a0 + b[c]!;
    }
  }
}

/**
 * gW += G^T X over the batch: four classes by four examples per sweep over d (four loads of x and
 * four read-modify-writes of gW feed sixteen products). A block whose sixteen gradients are all
 * zero (every error within the cut-off) is skipped.
 */
function backwardBatch(x: Float32Array, d: number, k: number, rows: Int32Array, from: number, m: number, G: Float64Array, gW: Float64Array): void {
  const m4 = m - (m % 4);
  let c = 0;
  for (; c + 4 <= k; c += 4) {
    const w0 = c * d;
    const w1 = w0 + d;
    const w2 = w1 + d;
    const w3 = w2 + d;
    for (let q = 0; q < m4; q += 4) {
      const r0 = q * k + c;
      const r1 = r0 + k;
      const r2 = r1 + k;
      const r3 = r2 + k;
      const a0 = G[r0]!, a1 = G[r1]!, a2 = G[r2]!, a3 = G[r3]!;
      const b0 = G[r0 + 1]!, b1 = G[r1 + 1]!, b2 = G[r2 + 1]!, b3 = G[r3 + 1]!;
      const c0 = G[r0 + 2]!, c1 = G[r1 + 2]!, c2 = G[r2 + 2]!, c3 = G[r3 + 2]!;
      const d0 = G[r0 + 3]!, d1 = G[r1 + 3]!, d2 = G[r2 + 3]!, d3 = G[r3 + 3]!;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0 && b0 === 0 && b1 === 0 && b2 === 0 && b3 === 0 && c0 === 0 && c1 === 0 && c2 === 0 && c3 === 0 && d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue;
      const o0 = rows[from + q]! * d;
      const o1 = rows[from + q + 1]! * d;
      const o2 = rows[from + q + 2]! * d;
      const o3 = rows[from + q + 3]! * d;
      for (let j = 0; j < d; j++) {
        const x0 = x[o0 + j]!;
        const x1 = x[o1 + j]!;
        const x2 = x[o2 + j]!;
        const x3 = x[o3 + j]!;
        gW[w0 + j]! += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3;
        gW[w1 + j]! += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3;
        gW[w2 + j]! += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3;
        gW[w3 + j]! += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
      }
    }
  }
  // The classes and examples left over from the blocks of four, one pair at a time.
  for (let c2 = 0; c2 < k; c2++) {
    const w0 = c2 * d;
    for (let q = c2 < c ? m4 : 0; q < m; q++) {
      const g = G[q * k + c2]!;
      if (g === 0) continue;
      const o0 = rows[from + q]! * d;
      for (let j = 0; j < d; j++) gW[w0 + j]! += g * x[o0 + j]!;
    }
  }
}

interface Scratch {
  /** Logits, then gradients of the loss by the logits, of a batch (m x k). */
  Z: Float64Array;
}

const scratch = (k: number, batch: number): Scratch => ({ Z: new Float64Array(batch * k) });

/**
 * Adds to gW, gB the gradient of scale * sum over rows[from..to) of s_i * -log p(y_i), and returns
 * that sum of weighted losses (unscaled). Gradient entries with an error of `cutoff` or less are dropped.
 */
function softmaxPass(
  x: Float32Array, d: number, k: number, y: Int32Array, sw: Float64Array, W: Float64Array, b: Float64Array,
  rows: Int32Array, from: number, to: number, scale: number, cutoff: number, gW: Float64Array, gB: Float64Array, s: Scratch,
): number {
  const { Z } = s;
  const m = to - from;
  forwardBatch(x, d, k, W, b, rows, from, m, Z);
  let loss = 0;
  for (let q = 0; q < m; q++) {
    const i = rows[from + q]!;
    const zo = q * k;
    const yi = y[i]!;
    const zy = Z[zo + yi]!;
    let max = -Infinity;
    for (let c = 0; c < k; c++) if (Z[zo + c]! > max) max = Z[zo + c]!;
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(Z[zo + c]! - max);
      Z[zo + c] = e;
      sum += e;
    }
    const si = sw[i]!;
    loss += si * (Math.log(sum) + max - zy);
    const inv = 1 / sum;
    for (let c = 0; c < k; c++) {
      const err = Z[zo + c]! * inv - (c === yi ? 1 : 0);
      if (err > cutoff || err < -cutoff) {
        const g = err * si * scale;
        gB[c]! += g;
        Z[zo + c] = g;
      } else {
        Z[zo + c] = 0;
      }
    }
  }
  backwardBatch(x, d, k, rows, from, m, Z, gW);
  return loss;
}

/** As softmaxPass, for K independent sigmoids with per class positive and negative weights. */
function oneVsRestPass(
  x: Float32Array, d: number, k: number, y: Uint8Array, pos: Float64Array, neg: Float64Array, W: Float64Array, b: Float64Array,
  rows: Int32Array, from: number, to: number, scale: number, cutoff: number, gW: Float64Array, gB: Float64Array, s: Scratch,
): number {
  const { Z } = s;
  const m = to - from;
  forwardBatch(x, d, k, W, b, rows, from, m, Z);
  let loss = 0;
  for (let q = 0; q < m; q++) {
    const yo = rows[from + q]! * k;
    const zo = q * k;
    for (let c = 0; c < k; c++) {
      const z = Z[zo + c]!;
      const t = y[yo + c]!;
      const sc = t === 1 ? pos[c]! : neg[c]!;
      // BCE(sigmoid(z), t) = max(z, 0) - z t + log(1 + e^-|z|), stable for any z.
      const e = Math.exp(-Math.abs(z));
      loss += sc * ((z > 0 ? z : 0) - z * t + Math.log1p(e));
      const p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      const err = p - t;
      if (err > cutoff || err < -cutoff) {
        const g = err * sc * scale;
        gB[c]! += g;
        Z[zo + c] = g;
      } else {
        Z[zo + c] = 0;
      }
    }
  }
  backwardBatch(x, d, k, rows, from, m, Z, gW);
  return loss;
}

function l2Term(W: Float64Array, l2: number, gW: Float64Array | undefined): number {
  let sq = 0;
  for (let j = 0; j < W.length; j++) {
    const w = W[j]!;
    sq += w * w;
    if (gW !== undefined) gW[j]! += l2 * w;
  }
  return 0.5 * l2 * sq;
}

export interface Objective {
  loss: number;
  gradWeights: Float64Array;
  gradBias: Float64Array;
}

export interface ObjectiveOptions {
  readonly l2?: number;
  readonly classWeights?: 'balanced' | 'none';
}

/**
 * The softmax objective J and its exact gradient at (weights, bias), through the same code the
 * trainer runs (without its sparse cut-off). For checking the trainer, e.g. against finite differences.
 */
export function softmaxObjective(
  x: Float32Array, n: number, d: number, y: Int32Array, k: number, weights: Float64Array, bias: Float64Array, opts: ObjectiveOptions = {},
): Objective {
  checkShape(x, n, d, k, y.length, n);
  checkClasses(y, k);
  const rows = allRows(n);
  const sw = softmaxSampleWeights(y, k, rows, (opts.classWeights ?? 'balanced') === 'balanced');
  const gradWeights = new Float64Array(k * d);
  const gradBias = new Float64Array(k);
  const loss = softmaxPass(x, d, k, y, sw, weights, bias, rows, 0, n, 1 / n, 0, gradWeights, gradBias, scratch(k, n)) / n;
  return { loss: loss + l2Term(weights, opts.l2 ?? TRAIN_DEFAULTS.l2, gradWeights), gradWeights, gradBias };
}

/** The one-vs-rest objective and its exact gradient; see softmaxObjective. */
export function oneVsRestObjective(
  x: Float32Array, n: number, d: number, y: Uint8Array, k: number, weights: Float64Array, bias: Float64Array, opts: ObjectiveOptions = {},
): Objective {
  checkShape(x, n, d, k, y.length, n * k);
  checkMultiHot(y);
  const rows = allRows(n);
  const { pos, neg } = oneVsRestClassWeights(y, k, rows, (opts.classWeights ?? 'balanced') === 'balanced');
  const gradWeights = new Float64Array(k * d);
  const gradBias = new Float64Array(k);
  const loss = oneVsRestPass(x, d, k, y, pos, neg, weights, bias, rows, 0, n, 1 / n, 0, gradWeights, gradBias, scratch(k, n)) / n;
  return { loss: loss + l2Term(weights, opts.l2 ?? TRAIN_DEFAULTS.l2, gradWeights), gradWeights, gradBias };
}

type Pass = (rows: Int32Array, from: number, to: number, scale: number, gW: Float64Array, gB: Float64Array, W: Float64Array, b: Float64Array, s: Scratch) => number;

/** Mini-batch Adam over `rows`; weights start at zero (the objectives are convex). */
function adam(pass: Pass, rows: Int32Array, d: number, k: number, o: Resolved): LinearWeights {
  const W = new Float64Array(k * d);
  const b = new Float64Array(k);
  const gW = new Float64Array(k * d);
  const gB = new Float64Array(k);
  const mW = new Float64Array(k * d);
  const vW = new Float64Array(k * d);
  const mB = new Float64Array(k);
  const vB = new Float64Array(k);
  const s = scratch(k, Math.min(o.batchSize, rows.length));
  const order = Int32Array.from(rows);
  const random = seededRandom(o.seed);
  const n = rows.length;
  const perEpoch = Math.ceil(n / o.batchSize);
  const total = perEpoch * o.epochs;
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffle(order, random);
    for (let from = 0; from < n; from += o.batchSize) {
      const to = Math.min(n, from + o.batchSize);
      gW.fill(0);
      gB.fill(0);
      pass(order, from, to, 1 / (to - from), gW, gB, W, b, s);
      step++;
      const lr = 0.5 * o.learningRate * (1 + Math.cos((Math.PI * (step - 1)) / total));
      const corrected = (lr * Math.sqrt(1 - BETA2 ** step)) / (1 - BETA1 ** step);
      for (let j = 0; j < W.length; j++) {
        const gj = gW[j]! + o.l2 * W[j]!;
        const mj = BETA1 * mW[j]! + (1 - BETA1) * gj;
        const vj = BETA2 * vW[j]! + (1 - BETA2) * gj * gj;
        mW[j] = mj;
        vW[j] = vj;
        W[j] = W[j]! - (corrected * mj) / (Math.sqrt(vj) + EPSILON);
      }
      for (let c = 0; c < k; c++) {
        const gc = gB[c]!;
        const mc = BETA1 * mB[c]! + (1 - BETA1) * gc;
        const vc = BETA2 * vB[c]! + (1 - BETA2) * gc * gc;
        mB[c] = mc;
        vB[c] = vc;
        b[c] = b[c]! - (corrected * mc) / (Math.sqrt(vc) + EPSILON);
      }
    }
  }
  return { weights: Float32Array.from(W), bias: Float32Array.from(b) };
}

/**
 * Multinomial logistic regression on the examples `rows` of x (all of them when absent): the
 * subset form lets cross-validation train on folds without copying the data.
 */
export function trainSoftmaxRows(x: Float32Array, d: number, y: Int32Array, k: number, rows: Int32Array, opts: TrainOptions = {}): LinearWeights {
  if (rows.length < 1) throw invalid('no examples to train on', {});
  const o = resolve(opts, rows.length);
  const sw = softmaxSampleWeights(y, k, rows, o.balanced);
  const pass: Pass = (order, from, to, scale, gW, gB, W, b, s) => softmaxPass(x, d, k, y, sw, W, b, order, from, to, scale, SPARSE_CUTOFF, gW, gB, s);
  return adam(pass, rows, d, k, o);
}

export function trainOneVsRestRows(x: Float32Array, d: number, y: Uint8Array, k: number, rows: Int32Array, opts: TrainOptions = {}): LinearWeights {
  if (rows.length < 1) throw invalid('no examples to train on', {});
  const o = resolve(opts, rows.length);
  const { pos, neg } = oneVsRestClassWeights(y, k, rows, o.balanced);
  const pass: Pass = (order, from, to, scale, gW, gB, W, b, s) => oneVsRestPass(x, d, k, y, pos, neg, W, b, order, from, to, scale, SPARSE_CUTOFF, gW, gB, s);
  return adam(pass, rows, d, k, o);
}

/** Multinomial logistic regression: x is n x d row-major, y the class index (0..k-1) of each example. */
export function trainSoftmax(x: Float32Array, n: number, d: number, y: Int32Array, k: number, opts: TrainOptions = {}): LinearWeights {
  checkShape(x, n, d, k, y.length, n);
  if (k < 2) throw invalid(`softmax needs at least 2 classes, not ${k}`, { k });
  checkClasses(y, k);
  return trainSoftmaxRows(x, d, y, k, allRows(n), opts);
}

/** K independent binary logistic regressions: y is n x k multi-hot (row i, column c = 1 when example i has class c). */
export function trainOneVsRest(x: Float32Array, n: number, d: number, y: Uint8Array, k: number, opts: TrainOptions = {}): LinearWeights {
  checkShape(x, n, d, k, y.length, n * k);
  checkMultiHot(y);
  return trainOneVsRestRows(x, d, y, k, allRows(n), opts);
}

/** Logits (rows.length x k) of the examples `rows` of x (all n when absent): x W^T + b. */
export function logitsMany(x: Float32Array, d: number, weights: Float32Array | Float64Array, bias: Float32Array | Float64Array, k: number, rows?: Int32Array): Float32Array {
  const W = weights instanceof Float64Array ? weights : Float64Array.from(weights);
  const b = bias instanceof Float64Array ? bias : Float64Array.from(bias);
  const list = rows ?? allRows(x.length / d);
  const out = new Float32Array(list.length * k);
  const chunk = 256;
  const Z = new Float64Array(chunk * k);
  for (let from = 0; from < list.length; from += chunk) {
    const m = Math.min(chunk, list.length - from);
    forwardBatch(x, d, k, W, b, list, from, m, Z);
    for (let q = 0; q < m * k; q++) out[from * k + q] = Z[q]!;
  }
  return out;
}
