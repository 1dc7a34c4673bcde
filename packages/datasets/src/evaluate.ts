import { LoupeError } from '@loupe/contracts';
import type { Box } from './model.js';
import { evaluateDetections, type GroundTruthObject, type PerImage, type ScoredDetection } from './metrics/box-metrics.js';
import { levenshtein, normalizeSpace } from './metrics/text-metrics.js';

/**
 * A model scored against ground truth, per image id (a canvas id). Only images present in the
 * ground truth count: predictions on other images are ignored, because a dataset is the set of
 * images someone checked, and a model run usually covers more. A ratio with nothing to divide
 * (0/0: a class never predicted, never present) is 0, so that reports stay plain JSON numbers.
 */

export interface ClassMetrics {
  concept: string;
  label?: string;
  /** Images whose ground truth has the concept. */
  support: number;
  /** Images where the model predicts the concept (at or above the threshold). */
  predicted: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

export interface ClassificationReport {
  images: number;
  threshold: number;
  /** Every concept in the ground truth or predicted on a ground-truth image, sorted. */
  classes: ClassMetrics[];
  /** From the summed tp/fp/fn of all classes. */
  micro: Averages;
  /** The mean of the per-class values over classes with support (a concept the data never has cannot be found). */
  macro: Averages;
  /** Top-1 correct over `accuracyImages`. */
  accuracy: number;
  /** Images with exactly one ground-truth concept: the ones accuracy and the confusion matrix use. */
  accuracyImages: number;
  confusion: {
    /** The classes' concepts, then '(none)' for an image without prediction. */
    labels: string[];
    /** Rows are the true concept, columns the top-1 prediction. */
    matrix: number[][];
  };
}

export interface ClassificationOptions {
  /** Predictions below this score are not made; 0 (the default) counts every prediction. */
  threshold?: number;
  /** Concept -> label, for display. */
  labels?: ReadonlyMap<string, string>;
}

export const NO_PREDICTION = '(none)';

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
const f1Of = (p: number, r: number): number => ratio(2 * p * r, p + r);

/**
 * Multi-label classification quality: each image has a set of true concepts and a set of
 * predicted ones (every prediction at or above the threshold), and each concept is scored over
 * images as a yes/no question. Accuracy and the confusion matrix need one true answer per image,
 * so they use the images with exactly one true concept and the model's best-scored prediction
 * (the first of equal scores).
 */
export function evaluateClassification(
  truth: ReadonlyMap<string, readonly string[]>,
  predicted: ReadonlyMap<string, readonly { concept: string; score: number }[]>,
  opts: ClassificationOptions = {},
): ClassificationReport {
  const threshold = opts.threshold ?? 0;
  if (!Number.isFinite(threshold)) throw new LoupeError('LOUPE_ERR_VALIDATION', `threshold must be a finite number, got ${threshold}`, { details: { threshold } });
  const counts = new Map<string, { support: number; predicted: number; tp: number }>();
  const count = (concept: string) => {
    let c = counts.get(concept);
    if (c === undefined) counts.set(concept, (c = { support: 0, predicted: 0, tp: 0 }));
    return c;
  };
  const singles: { truth: string; top: string }[] = [];
  for (const [image, concepts] of truth) {
    const made = (predicted.get(image) ?? []).filter((p) => {
      if (!Number.isFinite(p.score)) throw new LoupeError('LOUPE_ERR_VALIDATION', `prediction score is not a finite number in image ${JSON.stringify(image)}`, { details: { image, prediction: p } });
      return p.score >= threshold;
    });
    const yes = new Set(concepts);
    const said = new Set(made.map((p) => p.concept));
    for (const c of yes) count(c).support++;
    for (const c of said) {
      count(c).predicted++;
      if (yes.has(c)) count(c).tp++;
    }
    if (yes.size === 1) {
      let top: { concept: string; score: number } | undefined;
      for (const p of made) if (top === undefined || p.score > top.score) top = p;
      singles.push({ truth: [...yes][0]!, top: top?.concept ?? NO_PREDICTION });
    }
  }

  const classes = [...counts.keys()].sort().map((concept): ClassMetrics => {
    const c = counts.get(concept)!;
    const fp = c.predicted - c.tp;
    const fn = c.support - c.tp;
    const precision = ratio(c.tp, c.predicted);
    const recall = ratio(c.tp, c.support);
    const label = opts.labels?.get(concept);
    return { concept, ...(label !== undefined && { label }), support: c.support, predicted: c.predicted, tp: c.tp, fp, fn, precision, recall, f1: f1Of(precision, recall) };
  });

  const sum = (key: 'tp' | 'fp' | 'fn') => classes.reduce((s, c) => s + c[key], 0);
  const [tp, fp, fn] = [sum('tp'), sum('fp'), sum('fn')];
  const microP = ratio(tp, tp + fp);
  const microR = ratio(tp, tp + fn);
  const present = classes.filter((c) => c.support > 0);
  const mean = (key: keyof Averages) => ratio(present.reduce((s, c) => s + c[key], 0), present.length);

  const labels = [...classes.map((c) => c.concept), NO_PREDICTION];
  const index = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  for (const s of singles) matrix[index.get(s.truth)!]![index.get(s.top)!]!++;
  const correct = singles.filter((s) => s.truth === s.top).length;

  return {
    images: truth.size,
    threshold,
    classes,
    micro: { precision: microP, recall: microR, f1: f1Of(microP, microR) },
    macro: { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') },
    accuracy: ratio(correct, singles.length),
    accuracyImages: singles.length,
    confusion: { labels, matrix },
  };
}

export interface TruthBox {
  concept: string;
  box: Box;
  difficult?: boolean;
}

export interface PredictedBox {
  concept: string;
  box: Box;
  score: number;
}

export interface BoxClassMetrics {
  concept: string;
  label?: string;
  /** Average precision; null when the class has no (non-difficult) ground truth. */
  ap: number | null;
  /** Non-difficult ground-truth boxes. */
  groundTruth: number;
  /** Predicted boxes of the class on ground-truth images (those matching difficult objects included). */
  detections: number;
  tp: number;
  fp: number;
}

export interface BoxReport {
  iou: number;
  images: number;
  classes: BoxClassMetrics[];
  /** Mean AP over the classes with ground truth; null when none has. */
  map: number | null;
}

export interface BoxOptions {
  /** The overlap a detection needs to match (0.5 by default, as VOC). */
  iou?: number;
  labels?: ReadonlyMap<string, string>;
}

/** Detection quality by the Pascal VOC rules of box-metrics (all-point AP, difficult objects ignored). */
export function evaluateBoxes(truth: PerImage<TruthBox>, predicted: PerImage<PredictedBox>, opts: BoxOptions = {}): BoxReport {
  const iou = opts.iou ?? 0.5;
  const groundTruth: Record<string, GroundTruthObject[]> = {};
  const detections: Record<string, ScoredDetection[]> = {};
  for (const [image, list] of Object.entries(truth)) {
    groundTruth[image] = list.map((o) => ({ class: o.concept, box: o.box, ...(o.difficult === true && { difficult: true }) }));
    detections[image] = (Object.hasOwn(predicted, image) ? predicted[image]! : []).map((d) => ({ class: d.concept, box: d.box, score: d.score }));
  }
  const result = evaluateDetections(groundTruth, detections, { iouThreshold: iou });
  const classes = Object.entries(result.byClass).map(([concept, r]): BoxClassMetrics => {
    const label = opts.labels?.get(concept);
    return { concept, ...(label !== undefined && { label }), ap: r.ap, groundTruth: r.positives, detections: r.tp + r.fp + r.ignored, tp: r.tp, fp: r.fp };
  });
  return { iou: result.iouThreshold, images: Object.keys(truth).length, classes, map: result.map };
}

export interface TextReport {
  images: number;
  /** Character edits over reference characters, summed over the corpus. */
  cer: number;
  /** Word edits over reference words. */
  wer: number;
  referenceChars: number;
  referenceWords: number;
  charEdits: number;
  wordEdits: number;
}

/**
 * Corpus-level OCR error rates: edit distances summed over images, over the summed reference
 * lengths, so a long page weighs more than a short label (the mean of per-image rates would let
 * one wrong word on a one-word image count as much as a page). Whitespace is normalised as in
 * characterErrorRate; an image without prediction counts as an empty transcription. As there,
 * an empty reference gives 0 against nothing and 1 against anything.
 */
export function evaluateText(truth: ReadonlyMap<string, string>, predicted: ReadonlyMap<string, string>): TextReport {
  let referenceChars = 0;
  let referenceWords = 0;
  let charEdits = 0;
  let wordEdits = 0;
  const words = (s: string) => (s === '' ? [] : s.split(' '));
  for (const [image, reference] of truth) {
    const ref = normalizeSpace(reference);
    const hyp = normalizeSpace(predicted.get(image) ?? '');
    const refChars = Array.from(ref);
    const refWords = words(ref);
    referenceChars += refChars.length;
    referenceWords += refWords.length;
    charEdits += levenshtein(refChars, Array.from(hyp));
    wordEdits += levenshtein(refWords, words(hyp));
  }
  const rate = (edits: number, length: number) => (length === 0 ? (edits === 0 ? 0 : 1) : edits / length);
  return { images: truth.size, cer: rate(charEdits, referenceChars), wer: rate(wordEdits, referenceWords), referenceChars, referenceWords, charEdits, wordEdits };
}

// Plain-text tables for `loupe eval`.

const NAME_WIDTH = 32;

/** A concept's label, else the last segment of its URI, cut to fit a column. */
export function shortName(concept: string, label?: string, width = NAME_WIDTH): string {
  const name = label ?? (concept.replace(/[/#]+$/u, '').split(/[/#]/u).pop() || concept);
  return name.length <= width ? name : `${name.slice(0, width - 1).trimEnd()}…`;
}

const fixed = (v: number | null, digits = 3) => (v === null ? '-' : v.toFixed(digits));

function table(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatClassification(report: ClassificationReport): string {
  const rows = report.classes.map((c) => [shortName(c.concept, c.label), String(c.support), String(c.predicted), fixed(c.precision), fixed(c.recall), fixed(c.f1)]);
  const avg = (name: string, a: Averages) => [name, '', '', fixed(a.precision), fixed(a.recall), fixed(a.f1)];
  const out = [
    `Classification: ${report.images} images, predictions scored ${report.threshold} or more`,
    table(['class', 'support', 'predicted', 'P', 'R', 'F1'], [...rows, avg('micro average', report.micro), avg('macro average', report.macro)]),
    '',
    `Top-1 accuracy: ${fixed(report.accuracy)} (${report.accuracyImages} images with one true class)`,
  ];
  if (report.accuracyImages > 0) {
    // Columns are numbered so the matrix stays narrow; the rows carry the names.
    const names = report.confusion.labels.map((l) => (l === NO_PREDICTION ? l : shortName(l, report.classes.find((c) => c.concept === l)?.label, 24)));
    const header = ['truth \\ predicted', ...names.map((_, i) => String(i + 1))];
    const rows2 = report.confusion.matrix.map((row, i) => [`${i + 1} ${names[i]}`, ...row.map(String)]);
    out.push('', table(header, rows2));
  }
  return `${out.join('\n')}\n`;
}

export function formatBoxes(report: BoxReport): string {
  const rows = report.classes.map((c) => [shortName(c.concept, c.label), String(c.groundTruth), String(c.detections), String(c.tp), String(c.fp), fixed(c.ap)]);
  return [
    `Boxes: ${report.images} images, IoU ${report.iou}`,
    table(['class', 'objects', 'detections', 'TP', 'FP', 'AP'], rows),
    '',
    `mAP@${report.iou}: ${fixed(report.map)}`,
    '',
  ].join('\n');
}

export function formatText(report: TextReport): string {
  return [
    `Text: ${report.images} images`,
    table(['measure', 'rate', 'edits', 'reference'], [
      ['CER', fixed(report.cer, 4), String(report.charEdits), `${report.referenceChars} characters`],
      ['WER', fixed(report.wer, 4), String(report.wordEdits), `${report.referenceWords} words`],
    ]),
    '',
  ].join('\n');
}
