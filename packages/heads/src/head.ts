/**
 * A linear head: K classes over an embedding of D dimensions, logits = W x + b. What makes a head
 * usable in production rides with it: the temperature that calibrates its probabilities and the
 * per-class thresholds picked for a target precision.
 */
import { LoupeError } from '@loupe/contracts';
import type { TileSpec } from './tiles.js';

/** 'softmax': one label per image (multinomial LR); 'sigmoid': any number of labels (one-vs-rest LR). */
export type HeadKind = 'softmax' | 'sigmoid';

export interface HeadClass {
  /** The concept URI (a SKOS concept of the vocabulary). */
  readonly concept: string;
  /** Its preferred label, for display. */
  readonly label?: string;
}

export interface HeadEmbedding {
  /** The embedding model's id, as in its card. */
  readonly model: string;
  readonly version: string;
  readonly dims: number;
}

export interface TrainedOn {
  dataset: string;
  examples: number;
  seed: string;
  /** Examples per concept. */
  perClass: Record<string, number>;
}

export interface LinearHead {
  readonly id: string;
  readonly version: string;
  readonly kind: HeadKind;
  readonly source: 'trained' | 'zero-shot';
  /** The embedding the head reads: vectors from another model (or version) mean nothing to it. */
  readonly embedding: HeadEmbedding;
  readonly classes: readonly HeadClass[];
  /** K x D, row-major. */
  readonly weights: Float32Array;
  /** K. */
  readonly bias: Float32Array;
  /** Logits are divided by it before the softmax or sigmoid (1: no scaling). */
  readonly temperature: number;
  /** Per class: the calibrated probability at or above which the class is asserted. */
  readonly thresholds: readonly number[];
  /** The precision the thresholds were chosen for (0 when they were not chosen from data, as in a zero-shot head). */
  readonly targetPrecision: number;
  /** ISO 8601. */
  readonly created: string;
  readonly trainedOn?: TrainedOn;
  /** The evaluation report (for a trained head, its cross-validation), kept with the weights. */
  readonly metrics?: unknown;
  /** What the head reads, when not the whole image's embedding: the embeddings of these tiles (tiles.ts). */
  readonly input?: { readonly tiles: TileSpec };
}

/** A LOUPE_ERR_VALIDATION naming what was wrong: every check of this package throws one. */
export function invalid(message: string, details: Record<string, unknown>): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, { details });
}

/**
 * The raw logits W x + b, before the temperature. The vector is used as given: embed it as the
 * head's training data was embedded (Loupe's embedding service emits unit vectors).
 */
export function logits(head: LinearHead, vector: Float32Array | readonly number[]): Float32Array {
  const d = head.embedding.dims;
  const k = head.classes.length;
  if (vector.length !== d) {
    throw invalid(`head ${head.id}@${head.version} reads ${d}-dimensional ${head.embedding.model} vectors; this vector has ${vector.length} dimensions`, {
      head: head.id,
      version: head.version,
      expected: d,
      got: vector.length,
    });
  }
  const W = head.weights;
  const out = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    const off = c * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += W[off + j]! * vector[j]!;
    out[c] = s + head.bias[c]!;
  }
  for (let c = 0; c < k; c++) {
    if (!Number.isFinite(out[c]!)) throw invalid(`head ${head.id}@${head.version} gives a non-finite logit for class ${c}: the vector holds a non-finite or huge value`, { head: head.id, class: c });
  }
  return out;
}

/** In place: softmax (kind 'softmax') or element-wise sigmoid of z / temperature. */
export function activate<T extends Float32Array | Float64Array>(z: T, kind: HeadKind, temperature: number): T {
  activateRange(z, 0, z.length, kind, temperature);
  return z;
}

/** activate on z[off..off+k): one row of an n x k matrix, without a subarray per row. */
export function activateRange(z: Float32Array | Float64Array, off: number, k: number, kind: HeadKind, temperature: number): void {
  const end = off + k;
  if (kind === 'softmax') {
    let max = -Infinity;
    for (let c = off; c < end; c++) if (z[c]! > max) max = z[c]!;
    let sum = 0;
    for (let c = off; c < end; c++) {
      const e = Math.exp((z[c]! - max) / temperature);
      z[c] = e;
      sum += e;
    }
    for (let c = off; c < end; c++) z[c] = z[c]! / sum;
  } else {
    for (let c = off; c < end; c++) z[c] = sigmoid(z[c]! / temperature);
  }
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Calibrated probabilities: softmax (summing to 1) or per-class sigmoids of logits / temperature. */
export function predict(head: LinearHead, vector: Float32Array | readonly number[]): Float32Array {
  return activate(logits(head, vector), head.kind, head.temperature);
}

export type DecideMode = 'top-k' | 'threshold';

export interface Pick {
  index: number;
  concept: string;
  label?: string;
  probability: number;
  /** Whether the probability reaches the class's threshold. */
  aboveThreshold: boolean;
}

export interface Decision {
  /** Which rule chose the picks, so a client can tell "the best guesses" from "what the head asserts". */
  mode: DecideMode;
  picks: Pick[];
}

/**
 * Turns probabilities into answers. 'top-k': the k most probable classes (k defaults to 1), each
 * flagged with whether it reaches its threshold. 'threshold': every class at or above its own
 * threshold, which may be none. Both sorted by probability, highest first (ties by class order).
 */
export function decide(head: LinearHead, probs: Float32Array | readonly number[], opts: { mode: DecideMode; k?: number }): Decision {
  const n = head.classes.length;
  if (probs.length !== n) throw invalid(`head ${head.id} has ${n} classes; got ${probs.length} probabilities`, { expected: n, got: probs.length });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]! || a - b);
  const pick = (index: number): Pick => {
    const cls = head.classes[index]!;
    const probability = probs[index]!;
    return { index, concept: cls.concept, ...(cls.label !== undefined && { label: cls.label }), probability, aboveThreshold: probability >= head.thresholds[index]! };
  };
  if (opts.mode === 'top-k') {
    const k = opts.k ?? 1;
    if (!Number.isInteger(k) || k < 1) throw invalid(`top-k needs a whole k >= 1, not ${k}`, { k });
    return { mode: 'top-k', picks: order.slice(0, k).map(pick) };
  }
  if (opts.mode === 'threshold') return { mode: 'threshold', picks: order.map(pick).filter((p) => p.aboveThreshold) };
  throw invalid(`mode must be 'top-k' or 'threshold', not ${String(opts.mode)}`, { mode: opts.mode });
}

export type UncertaintyStrategy = 'margin' | 'entropy';

/**
 * How unsure the head is about one image, from 0 (sure) to 1 (no idea), for ordering a review queue.
 *
 * margin, softmax: 1 - (p1 - p2), the two highest probabilities; 1 when they tie.
 * margin, sigmoid: each class is its own yes/no question, and an image is as uncertain as its
 *   least settled answer: 1 - 2 * min over classes of |p - 0.5|; 1 when some class sits at 0.5.
 * entropy, softmax: Shannon entropy over ln K, so 1 is the uniform distribution whatever K.
 * entropy, sigmoid: the mean over classes of the binary entropy in bits (1 at p = 0.5).
 */
export function uncertainty(probs: Float32Array | readonly number[], kind: HeadKind, strategy: UncertaintyStrategy): number {
  const k = probs.length;
  if (k === 0) throw invalid('no probabilities to measure', {});
  if (strategy === 'margin') {
    if (kind === 'softmax') {
      if (k === 1) return 0;
      let p1 = -Infinity;
      let p2 = -Infinity;
      for (let c = 0; c < k; c++) {
        const p = probs[c]!;
        if (p > p1) {
          p2 = p1;
          p1 = p;
        } else if (p > p2) p2 = p;
      }
      return clamp01(1 - (p1 - p2));
    }
    let min = Infinity;
    for (let c = 0; c < k; c++) min = Math.min(min, Math.abs(probs[c]! - 0.5));
    return clamp01(1 - 2 * min);
  }
  if (strategy === 'entropy') {
    const h = (p: number): number => (p > 0 ? -p * Math.log(p) : 0);
    if (kind === 'softmax') {
      if (k === 1) return 0;
      let sum = 0;
      for (let c = 0; c < k; c++) sum += h(probs[c]!);
      return clamp01(sum / Math.log(k));
    }
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[c]!;
      sum += (h(p) + h(1 - p)) / Math.LN2;
    }
    return clamp01(sum / k);
  }
  throw invalid(`strategy must be 'margin' or 'entropy', not ${String(strategy)}`, { strategy });
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
