/**
 * From labelled embeddings to a calibrated, evaluated head.
 *
 * 1. Cross-validation: the examples are cut into k stratified folds (kFold of @loupe/datasets);
 *    each fold is predicted by a head trained on the others, and the out-of-fold predictions of
 *    every example go into ONE evaluateClassification report. What counts as predicted:
 *    softmax: the top-1 class only (so per-class P/R/F1 are those of the argmax decision, and
 *    accuracy and the confusion matrix are the usual ones); sigmoid: every class with p >= 0.5,
 *    the decision boundary of a one-vs-rest LR (a temperature cannot move it, so the report holds
 *    for the calibrated head too). The per-class thresholds are reported separately, below.
 * 2. Calibration: a stratified train/validation split (stratifiedSplit, test share 0); a head
 *    trained on the train part predicts the validation part, where the temperature is fitted and
 *    then the per-class thresholds chosen for the target precision on the calibrated probabilities.
 * 3. The head: trained again on ALL the examples with the same hyper-parameters, keeping the
 *    temperature and thresholds from step 2. The validation examples are then part of training,
 *    so the calibration is that of a head trained on slightly less data: a small mismatch, accepted
 *    because a rare class may have only a handful of examples and the head should learn from all.
 */
import { evaluateClassification, groupedKFold, groupedSplit, kFold, stratifiedSplit, type ClassificationReport, type SplitItem } from '@loupe/datasets';
import { checkHeadId, checkHeadVersion } from './artefact.js';
import { expectedCalibrationError, fitTemperature, negativeLogLikelihood, probabilities, thresholdsForPrecision } from './calibrate.js';
import { invalid, type HeadClass, type HeadKind, type LinearHead } from './head.js';
import { defaultEpochs, logitsMany, TRAIN_DEFAULTS, trainOneVsRestRows, trainSoftmaxRows, type LinearWeights, type TrainOptions } from './train.js';

export interface FitInput {
  readonly vectors: readonly Float32Array[];
  /** The concepts of each example. */
  readonly labels: readonly (readonly string[])[];
  /** The classes in head order, with labels; default: every concept in `labels`, sorted. */
  readonly classes?: readonly HeadClass[];
  /**
   * A stable id per example (a canvas id): splits and folds are drawn from hashes of the ids, so
   * the same examples land in the same folds whatever their order. Default: the position.
   */
  readonly ids?: readonly string[];
  /**
   * A group per example (the picture a crop or a watermarked copy was made from): examples of one
   * group always share a fold and a calibration split, so no fold is scored on a near copy of what
   * it trained on. Default: every example its own group.
   */
  readonly groups?: readonly string[];
}

export interface FitOptions extends TrainOptions {
  /** Default: softmax when every example has exactly one label, else sigmoid. */
  readonly kind?: HeadKind;
  /** Cross-validation folds, default 5, capped by the smallest class; 0 skips cross-validation (see CrossValidationReport.evaluation). */
  readonly folds?: number;
  /** The share of examples held out for calibration, default 0.2. */
  readonly validation?: number;
  /** Default 0.9. */
  readonly targetPrecision?: number;
  readonly id: string;
  readonly version: string;
  readonly embedding: LinearHead['embedding'];
  /** The ground-truth dataset's name, for the card. */
  readonly dataset?: string;
  readonly onProgress?: (message: string) => void;
}

export interface ClassThreshold {
  concept: string;
  threshold: number;
  /** Whether the target precision was reached on the validation examples (else the threshold maximises F1). */
  reached: boolean;
  /** Precision and recall at the threshold on the validation examples. */
  precision: number;
  recall: number;
  /** Validation examples with the concept. */
  support: number;
}

export interface CalibrationReport {
  /** Validation examples. */
  examples: number;
  temperature: number;
  /** Mean NLL on the validation examples before and after temperature scaling. */
  nllBefore: number;
  nllAfter: number;
  /** Expected calibration error (15 bins) before and after. */
  eceBefore: number;
  eceAfter: number;
  targetPrecision: number;
  thresholds: ClassThreshold[];
}

export interface CrossValidationReport extends ClassificationReport {
  kind: HeadKind;
  /**
   * 'cross-validation': out-of-fold predictions of every example. 'validation' (folds: 0): the
   * predictions on the calibration split only, by the head trained on the rest.
   */
  evaluation: 'cross-validation' | 'validation';
  folds: number;
  /** All labelled examples. */
  examples: number;
  /** What counted as a prediction: 'top-1' (softmax) or 'p >= 0.5' (sigmoid). */
  decision: 'top-1' | 'p >= 0.5';
  hyperParameters: { l2: number; epochs: number; batchSize: number; learningRate: number; classWeights: 'balanced' | 'none'; seed: string };
  calibration: CalibrationReport;
  /** Wall-clock seconds per stage. */
  seconds: { crossValidation: number; calibration: number; final: number };
}

interface Prepared {
  n: number;
  d: number;
  k: number;
  kind: HeadKind;
  classes: HeadClass[];
  x: Float32Array;
  ySoftmax: Int32Array;
  yMulti: Uint8Array;
  counts: number[];
  items: SplitItem[];
  groupOf: ((item: SplitItem) => string) | undefined;
}

function prepare(input: FitInput, opts: FitOptions): Prepared {
  const n = input.vectors.length;
  const d = opts.embedding.dims;
  if (!Number.isInteger(d) || d < 1) throw invalid(`embedding.dims must be a whole number >= 1, not ${d}`, { dims: d });
  if (input.labels.length !== n) throw invalid(`${n} vectors but ${input.labels.length} label lists`, { vectors: n, labels: input.labels.length });
  if (input.ids !== undefined && input.ids.length !== n) throw invalid(`${n} vectors but ${input.ids.length} ids`, { vectors: n, ids: input.ids.length });
  if (input.groups !== undefined && input.groups.length !== n) throw invalid(`${n} vectors but ${input.groups.length} groups`, { vectors: n, groups: input.groups.length });
  if (n < 2) throw invalid(`a head needs at least 2 labelled examples, got ${n}`, { examples: n });

  const classes: HeadClass[] =
    input.classes !== undefined
      ? input.classes.map((c) => ({ concept: c.concept, ...(c.label !== undefined && { label: c.label }) }))
      : [...new Set(input.labels.flat())].sort().map((concept) => ({ concept }));
  const k = classes.length;
  const index = new Map(classes.map((c, i) => [c.concept, i]));
  if (index.size !== k) throw invalid('the classes repeat a concept', { concepts: classes.map((c) => c.concept) });
  if (k < 2) throw invalid(`a head needs at least 2 classes, got ${k}${k === 1 ? ` (${classes[0]!.concept})` : ''}`, { classes: k });

  const single = input.labels.every((l) => new Set(l).size === 1);
  const kind = opts.kind ?? (single ? 'softmax' : 'sigmoid');
  if (kind !== 'softmax' && kind !== 'sigmoid') throw invalid(`kind must be 'softmax' or 'sigmoid', not ${String(kind)}`, { kind });

  const ySoftmax = new Int32Array(kind === 'softmax' ? n : 0);
  const yMulti = new Uint8Array(kind === 'sigmoid' ? n * k : 0);
  const counts = new Array<number>(k).fill(0);
  input.labels.forEach((labels, i) => {
    const set = new Set(labels);
    if (kind === 'softmax' && set.size !== 1) throw invalid(`a softmax head needs exactly one label per example; example ${input.ids?.[i] ?? i} has ${set.size}`, { example: input.ids?.[i] ?? i, labels });
    for (const concept of set) {
      const c = index.get(concept);
      if (c === undefined) throw invalid(`example ${input.ids?.[i] ?? i} has the concept ${concept}, which is not one of the head's classes`, { example: input.ids?.[i] ?? i, concept });
      counts[c]!++;
      if (kind === 'softmax') ySoftmax[i] = c;
      else yMulti[i * k + c] = 1;
    }
  });
  const scarce = classes.flatMap((cl, c) => (counts[c]! < 2 ? [`${cl.concept} (${counts[c]})`] : []));
  if (scarce.length > 0) throw invalid(`every class needs at least 2 examples (one to train on, one to check against); too few: ${scarce.join(', ')}`, { classes: scarce });

  const x = new Float32Array(n * d);
  input.vectors.forEach((v, i) => {
    if (v.length !== d) throw invalid(`vector ${input.ids?.[i] ?? i} has ${v.length} dimensions; ${opts.embedding.model} has ${d}`, { example: input.ids?.[i] ?? i, expected: d, got: v.length });
    for (let j = 0; j < d; j++) {
      if (!Number.isFinite(v[j]!)) throw invalid(`vector ${input.ids?.[i] ?? i} holds a non-finite value at dimension ${j}`, { example: input.ids?.[i] ?? i, dimension: j });
    }
    x.set(v, i * d);
  });
  const items = input.labels.map((labels, i) => ({ id: input.ids?.[i] ?? String(i), labels: [...new Set(labels)] }));
  const groups = input.groups && new Map(items.map((item, i) => [item.id, input.groups![i]!]));
  const groupOf = groups && ((item: SplitItem) => groups.get(item.id)!);
  return { n, d, k, kind, classes, x, ySoftmax, yMulti, counts, items, groupOf };
}

/** The labels of `rows`, in the shape calibrate.ts takes. */
function labelsOf(p: Prepared, rows: Int32Array): Int32Array | Uint8Array {
  if (p.kind === 'softmax') return Int32Array.from(rows, (i) => p.ySoftmax[i]!);
  const out = new Uint8Array(rows.length * p.k);
  rows.forEach((i, r) => out.set(p.yMulti.subarray(i * p.k, (i + 1) * p.k), r * p.k));
  return out;
}

function train(p: Prepared, rows: Int32Array, opts: TrainOptions): LinearWeights {
  return p.kind === 'softmax' ? trainSoftmaxRows(p.x, p.d, p.ySoftmax, p.k, rows, opts) : trainOneVsRestRows(p.x, p.d, p.yMulti, p.k, rows, opts);
}

/** Predictions of `rows` (probabilities in `probs`, rows x k) in the form evaluateClassification takes. */
function predictions(p: Prepared, rows: Int32Array, probs: Float32Array, into: Map<string, { concept: string; score: number }[]>): void {
  const k = p.k;
  rows.forEach((i, r) => {
    const o = r * k;
    if (p.kind === 'softmax') {
      let best = 0;
      for (let c = 1; c < k; c++) if (probs[o + c]! > probs[o + best]!) best = c;
      into.set(p.items[i]!.id, [{ concept: p.classes[best]!.concept, score: probs[o + best]! }]);
    } else {
      into.set(p.items[i]!.id, p.classes.map((cl, c) => ({ concept: cl.concept, score: probs[o + c]! })));
    }
  });
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 10) / 100;

/** Cross-validates, calibrates and trains a head; see the module comment for each stage. */
export function fitHead(input: FitInput, opts: FitOptions): { head: LinearHead; report: CrossValidationReport } {
  checkHeadId(opts.id);
  checkHeadVersion(opts.version);
  const progress = opts.onProgress ?? (() => undefined);
  const targetPrecision = opts.targetPrecision ?? 0.9;
  if (!(targetPrecision > 0 && targetPrecision <= 1)) throw invalid(`targetPrecision must be in (0, 1], not ${targetPrecision}`, { targetPrecision });
  const validation = opts.validation ?? 0.2;
  if (!(validation > 0 && validation < 1)) throw invalid(`validation must be a share between 0 and 1, not ${validation}`, { validation });
  const p = prepare(input, opts);
  const seed = String(opts.seed ?? TRAIN_DEFAULTS.seed);
  const batchSize = opts.batchSize ?? TRAIN_DEFAULTS.batchSize;
  // One epoch count for every run (sized on all the examples), so that "the same hyper-parameters" holds.
  const hyper = {
    l2: opts.l2 ?? TRAIN_DEFAULTS.l2,
    epochs: opts.epochs ?? defaultEpochs(p.n, batchSize),
    batchSize,
    learningRate: opts.learningRate ?? TRAIN_DEFAULTS.learningRate,
    classWeights: opts.classWeights ?? TRAIN_DEFAULTS.classWeights,
    seed,
  };
  const smallest = Math.min(...p.counts);
  const truth = new Map(p.items.map((item) => [item.id, item.labels]));
  const labelMap = new Map(p.classes.filter((c) => c.label !== undefined).map((c) => [c.concept, c.label!]));
  const threshold = p.kind === 'softmax' ? 0 : 0.5;
  progress(`${p.n} examples, ${p.k} classes (${p.kind}), ${p.d} dimensions; smallest class ${smallest}`);

  // 1. Cross-validation.
  const requested = opts.folds ?? 5;
  if (!Number.isInteger(requested) || requested < 0 || requested === 1) throw invalid(`folds must be 0 (none) or a whole number >= 2, not ${requested}`, { folds: requested });
  const folds = Math.min(requested, smallest);
  let started = performance.now();
  let crossValidated: ClassificationReport | undefined;
  if (requested > 0) {
    const assigned = p.groupOf ? groupedKFold(p.items, p.groupOf, { seed, k: folds }) : kFold(p.items, { seed, k: folds });
    const fold = Int32Array.from(p.items, (item) => assigned.get(item.id)!);
    const predicted = new Map<string, { concept: string; score: number }[]>();
    for (let f = 0; f < folds; f++) {
      const trainRows = Int32Array.from({ length: p.n }, (_, i) => i).filter((i) => fold[i] !== f);
      const testRows = Int32Array.from({ length: p.n }, (_, i) => i).filter((i) => fold[i] === f);
      const t0 = performance.now();
      const w = train(p, trainRows, hyper);
      predictions(p, testRows, probabilities(logitsMany(p.x, p.d, w.weights, w.bias, p.k, testRows), testRows.length, p.k, p.kind), predicted);
      progress(`fold ${f + 1}/${folds}: trained on ${trainRows.length}, predicted ${testRows.length} in ${seconds(t0)} s`);
    }
    crossValidated = evaluateClassification(truth, predicted, { threshold, labels: labelMap });
  }
  const cvSeconds = seconds(started);

  // 2. Calibration on a held-out split.
  started = performance.now();
  const ratios = { train: 1 - validation, validation, test: 0 };
  const split = p.groupOf ? groupedSplit(p.items, p.groupOf, { seed, ratios }) : stratifiedSplit(p.items, { seed, ratios });
  const all = Int32Array.from({ length: p.n }, (_, i) => i);
  const trainRows = all.filter((i) => split.get(p.items[i]!.id) === 'train');
  const validRows = all.filter((i) => split.get(p.items[i]!.id) === 'validation');
  if (trainRows.length === 0 || validRows.length === 0) throw invalid(`the calibration split left ${trainRows.length} examples to train on and ${validRows.length} to calibrate on`, { train: trainRows.length, validation: validRows.length });
  const w = train(p, trainRows, hyper);
  const m = validRows.length;
  const z = logitsMany(p.x, p.d, w.weights, w.bias, p.k, validRows);
  const yValid = labelsOf(p, validRows);
  const temperature = fitTemperature(z, m, p.k, yValid, p.kind);
  const raw = probabilities(z, m, p.k, p.kind);
  const calibrated = probabilities(z, m, p.k, p.kind, temperature);
  const choice = thresholdsForPrecision(calibrated, m, p.k, yValid, p.kind, targetPrecision);
  const support = new Array<number>(p.k).fill(0);
  const classIndex = new Map(p.classes.map((c, i) => [c.concept, i]));
  for (const i of validRows) for (const concept of p.items[i]!.labels) support[classIndex.get(concept)!]!++;
  const calibration: CalibrationReport = {
    examples: m,
    temperature,
    nllBefore: negativeLogLikelihood(z, m, p.k, yValid, p.kind, 1),
    nllAfter: negativeLogLikelihood(z, m, p.k, yValid, p.kind, temperature),
    eceBefore: expectedCalibrationError(raw, m, p.k, yValid, p.kind),
    eceAfter: expectedCalibrationError(calibrated, m, p.k, yValid, p.kind),
    targetPrecision,
    thresholds: p.classes.map((c, i) => ({ concept: c.concept, threshold: choice.thresholds[i]!, reached: choice.reached[i]!, precision: choice.precision[i]!, recall: choice.recall[i]!, support: support[i]! })),
  };
  if (crossValidated === undefined) {
    const predicted = new Map<string, { concept: string; score: number }[]>();
    predictions(p, validRows, raw, predicted);
    crossValidated = evaluateClassification(new Map(Array.from(validRows, (i) => [p.items[i]!.id, p.items[i]!.labels])), predicted, { threshold, labels: labelMap });
  }
  const missed = calibration.thresholds.filter((t) => !t.reached).map((t) => t.concept);
  progress(`calibrated on ${m} examples: temperature ${temperature.toFixed(3)}, NLL ${calibration.nllBefore.toFixed(4)} -> ${calibration.nllAfter.toFixed(4)}; precision ${targetPrecision} ${missed.length === 0 ? 'reached for every class' : `not reached for ${missed.join(', ')}`}`);
  const calibrationSeconds = seconds(started);

  // 3. The head, from every example.
  started = performance.now();
  const final = train(p, all, hyper);
  const finalSeconds = seconds(started);
  progress(`final head trained on ${p.n} examples in ${finalSeconds} s`);

  const report: CrossValidationReport = {
    ...crossValidated,
    kind: p.kind,
    evaluation: requested > 0 ? 'cross-validation' : 'validation',
    folds: requested > 0 ? folds : 0,
    examples: p.n,
    decision: p.kind === 'softmax' ? 'top-1' : 'p >= 0.5',
    hyperParameters: hyper,
    calibration,
    seconds: { crossValidation: cvSeconds, calibration: calibrationSeconds, final: finalSeconds },
  };
  const head: LinearHead = {
    id: opts.id,
    version: opts.version,
    kind: p.kind,
    source: 'trained',
    embedding: { model: opts.embedding.model, version: opts.embedding.version, dims: opts.embedding.dims },
    classes: p.classes,
    weights: final.weights,
    bias: final.bias,
    temperature,
    thresholds: choice.thresholds,
    targetPrecision,
    created: new Date().toISOString(),
    trainedOn: { dataset: opts.dataset ?? '(unnamed)', examples: p.n, seed, perClass: Object.fromEntries(p.classes.map((c, i) => [c.concept, p.counts[i]!])) },
    metrics: report,
  };
  return { head, report };
}
