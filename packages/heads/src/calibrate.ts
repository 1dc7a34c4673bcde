/**
 * Calibration on held-out examples: one temperature for the whole head (temperature scaling, Guo
 * et al. 2017), then per class the threshold that reaches a target precision.
 *
 * Labels come in the head kind's shape: for 'softmax' an Int32Array of n class indices, for
 * 'sigmoid' a Uint8Array n x k multi-hot.
 */
import { type HeadKind, activateRange, invalid } from './head.js';

export const TEMPERATURE_RANGE = Object.freeze({ min: 0.05, max: 20 });

function checkLabels(values: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, what: string): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 1) throw invalid(`${what}: n and k must be whole numbers >= 1, not ${n} and ${k}`, { n, k });
  if (values.length !== n * k) throw invalid(`${what}: expected n x k = ${n * k} values, got ${values.length}`, { expected: n * k, got: values.length });
  if (kind === 'softmax') {
    if (!(y instanceof Int32Array) || y.length !== n) throw invalid(`${what}: softmax labels are an Int32Array of ${n} class indices`, { kind, length: y.length });
    for (let i = 0; i < n; i++) if (y[i]! < 0 || y[i]! >= k) throw invalid(`${what}: label ${i} is ${y[i]}, not a class index from 0 to ${k - 1}`, { example: i, label: y[i] });
  } else if (kind === 'sigmoid') {
    if (!(y instanceof Uint8Array) || y.length !== n * k) throw invalid(`${what}: sigmoid labels are a Uint8Array of n x k = ${n * k} zeros and ones`, { kind, length: y.length });
    for (let i = 0; i < y.length; i++) if (y[i]! > 1) throw invalid(`${what}: label entry ${i} is ${y[i]}, not 0 or 1`, { index: i, value: y[i] });
  } else {
    throw invalid(`${what}: kind must be 'softmax' or 'sigmoid', not ${String(kind)}`, { kind });
  }
}

/**
 * Mean negative log-likelihood of the labels under logits / temperature: per example for softmax;
 * per (example, class) binary decision for sigmoid.
 */
export function negativeLogLikelihood(logits: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, temperature = 1): number {
  checkLabels(logits, n, k, y, kind, 'negativeLogLikelihood');
  return nll(logits, n, k, y, kind, 1 / temperature);
}

function nll(z: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, beta: number): number {
  let total = 0;
  if (kind === 'softmax') {
    for (let i = 0; i < n; i++) {
      const o = i * k;
      let max = -Infinity;
      for (let c = 0; c < k; c++) if (z[o + c]! > max) max = z[o + c]!;
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(beta * (z[o + c]! - max));
      total += Math.log(sum) - beta * (z[o + y[i]!]! - max);
    }
    return total / n;
  }
  for (let q = 0; q < n * k; q++) {
    const s = beta * z[q]!;
    total += (s > 0 ? s : 0) - s * y[q]! + Math.log1p(Math.exp(-Math.abs(s)));
  }
  return total / (n * k);
}

export interface TemperatureOptions {
  /**
   * The width (standard deviation) of a Gaussian prior on ln T centred on 0 (T = 1), weighing as
   * much as one example. Default 1; Infinity gives the plain maximum-likelihood temperature.
   */
  readonly priorWidth?: number;
}

/**
 * The temperature T in [0.05, 20] that minimises the mean NLL of logits / T on these examples, plus
 * a weak prior: (ln T)^2 / (2 priorWidth^2 m), m the number of terms in the mean (n for softmax,
 * n x k for sigmoid). Without it, validation examples that the head separates perfectly (common
 * with a few dozen examples in 512 dimensions) make the NLL fall all the way to the smallest T,
 * and every later probability 0 or 1; with thousands of examples the prior changes nothing that
 * matters. The search: a grid of 48 points on ln T, then golden-section search between the best
 * point's neighbours. Returns 1 when no temperature does better than none (e.g. all logits equal).
 */
export function fitTemperature(logits: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, opts: TemperatureOptions = {}): number {
  checkLabels(logits, n, k, y, kind, 'fitTemperature');
  for (let q = 0; q < logits.length; q++) if (!Number.isFinite(logits[q]!)) throw invalid(`fitTemperature: logit ${q} is not finite`, { index: q });
  const width = opts.priorWidth ?? 1;
  if (!(width > 0)) throw invalid(`priorWidth must be > 0 (Infinity for none), not ${width}`, { priorWidth: width });
  const terms = kind === 'softmax' ? n : n * k;
  const prior = Number.isFinite(width) ? 1 / (2 * width * width * terms) : 0;
  const f = (u: number): number => nll(logits, n, k, y, kind, Math.exp(-u)) + prior * u * u;
  const low = Math.log(TEMPERATURE_RANGE.min);
  const high = Math.log(TEMPERATURE_RANGE.max);
  const steps = 48;
  let best = 0;
  let bestValue = Infinity;
  for (let s = 0; s <= steps; s++) {
    const value = f(low + ((high - low) * s) / steps);
    if (value < bestValue) {
      bestValue = value;
      best = s;
    }
  }
  let lo = low + ((high - low) * Math.max(0, best - 1)) / steps;
  let hi = low + ((high - low) * Math.min(steps, best + 1)) / steps;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  while (hi - lo > 1e-7) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = f(b);
    }
  }
  const u = (lo + hi) / 2;
  return f(u) < f(0) ? Math.exp(u) : 1;
}

/** Probabilities (n x k) from logits (n x k): softmax or sigmoid of logits / temperature. */
export function probabilities(logits: Float32Array, n: number, k: number, kind: HeadKind, temperature = 1): Float32Array {
  const out = Float32Array.from(logits);
  for (let i = 0; i < n; i++) activateRange(out, i * k, k, kind, temperature);
  return out;
}

/**
 * Expected calibration error over `bins` equal-width bins of confidence: for softmax the top class's
 * probability against whether it is right; for sigmoid every (example, class) probability against
 * its label. The bins' |accuracy - confidence|, weighted by their share of the predictions.
 */
export function expectedCalibrationError(probs: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, bins = 15): number {
  checkLabels(probs, n, k, y, kind, 'expectedCalibrationError');
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const add = (p: number, hit: number): void => {
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]!++;
    conf[b]! += p;
    hits[b]! += hit;
  };
  if (kind === 'softmax') {
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (probs[i * k + c]! > probs[i * k + best]!) best = c;
      add(probs[i * k + best]!, best === y[i] ? 1 : 0);
    }
  } else {
    for (let q = 0; q < n * k; q++) add(probs[q]!, y[q]!);
  }
  let total = 0;
  let ece = 0;
  for (let b = 0; b < bins; b++) total += count[b]!;
  for (let b = 0; b < bins; b++) if (count[b]! > 0) ece += Math.abs(hits[b]! - conf[b]!) / total;
  return ece;
}

export interface ThresholdChoice {
  /** Per class: the probability at or above which the class is asserted. */
  thresholds: number[];
  /** Per class: whether the threshold reaches the target precision on these examples. */
  reached: boolean[];
  /** Per class: precision and recall at the threshold on these examples. */
  precision: number[];
  recall: number[];
}

/**
 * Per class, the lowest threshold (the most recall) whose precision on these examples is at least
 * `target` with at least one true positive; where none reaches the target, the one with the best
 * F1 instead, and `reached` is false. Candidates cut the examples sorted by probability for the
 * class, never between ties. Every threshold in (next lower probability, lowest accepted
 * probability] keeps the same examples; the one returned is the midpoint of that gap, so that a
 * new example a hair below the lowest accepted one is not turned away by where the validation
 * examples happened to fall (the lowest probability itself when every example is accepted).
 * A class without a positive example here gets threshold 1 (nothing supports asserting it) and
 * `reached` false.
 */
export function thresholdsForPrecision(probs: Float32Array, n: number, k: number, y: Int32Array | Uint8Array, kind: HeadKind, target: number): ThresholdChoice {
  checkLabels(probs, n, k, y, kind, 'thresholdsForPrecision');
  if (!Number.isFinite(target) || target <= 0 || target > 1) throw invalid(`target precision must be in (0, 1], not ${target}`, { target });
  const out: ThresholdChoice = { thresholds: [], reached: [], precision: [], recall: [] };
  const scores = new Float64Array(n);
  const positive = new Uint8Array(n);
  const order = new Int32Array(n);
  for (let c = 0; c < k; c++) {
    let positives = 0;
    for (let i = 0; i < n; i++) {
      scores[i] = probs[i * k + c]!;
      positive[i] = kind === 'softmax' ? (y[i] === c ? 1 : 0) : y[i * k + c]!;
      positives += positive[i]!;
      order[i] = i;
    }
    if (positives === 0) {
      out.thresholds.push(1);
      out.reached.push(false);
      out.precision.push(0);
      out.recall.push(0);
      continue;
    }
    order.sort((a, b) => scores[b]! - scores[a]!);
    let tp = 0;
    let lowest: { t: number; tp: number; taken: number } | undefined;
    let bestF1: { t: number; tp: number; taken: number; f1: number } | undefined;
    for (let r = 0; r < n; ) {
      const score = scores[order[r]!]!;
      // Take every example tied at this score: a threshold cannot split them.
      while (r < n && scores[order[r]!]! === score) tp += positive[order[r++]!]!;
      const taken = r;
      const t = r < n ? (score + scores[order[r]!]!) / 2 : score;
      if (tp >= 1 && tp >= target * taken - 1e-9) lowest = { t, tp, taken };
      const f1 = (2 * tp) / (taken + positives);
      if (bestF1 === undefined || f1 > bestF1.f1) bestF1 = { t, tp, taken, f1 };
    }
    const chosen = lowest ?? bestF1!;
    out.thresholds.push(chosen.t);
    out.reached.push(lowest !== undefined);
    out.precision.push(chosen.tp / chosen.taken);
    out.recall.push(chosen.tp / positives);
  }
  return out;
}
