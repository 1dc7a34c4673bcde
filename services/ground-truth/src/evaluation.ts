import { LoupeError, type Annotation, type EvaluationQuery, type EvaluationReport } from '@loupe/contracts';
import { evaluateBoxes, evaluateClassification, evaluateText, labelOfAnnotation, type Box, type GroundTruthLabel } from '@loupe/datasets';
import type { AnnotationStore } from '@loupe/store';
import { queryAll, requireDataset } from './curation.js';

interface Grouped {
  readonly labels: Map<string, GroundTruthLabel[]>;
  readonly boxes: Map<string, GroundTruthLabel[]>;
  readonly text: Map<string, GroundTruthLabel[]>;
}

/** Sorts what annotations say into whole-canvas labels, labelled boxes and text, per canvas. */
function group(annotations: readonly Annotation[]): Grouped {
  const grouped: Grouped = { labels: new Map(), boxes: new Map(), text: new Map() };
  const add = (map: Map<string, GroundTruthLabel[]>, canvas: string, label: GroundTruthLabel): void => {
    const list = map.get(canvas);
    if (list) list.push(label);
    else map.set(canvas, [label]);
  };
  for (const a of annotations) {
    const found = labelOfAnnotation(a);
    if (!found) continue;
    const { canvasId, label } = found;
    if (label.text !== undefined) add(grouped.text, canvasId, label);
    else if (label.box && (label.concept ?? label.label) !== undefined) add(grouped.boxes, canvasId, label);
    else if (!label.box && (label.concept ?? label.label) !== undefined) add(grouped.labels, canvasId, label);
  }
  return grouped;
}

/**
 * A class is its concept URI; a label without one takes the concept that label has elsewhere in
 * the evaluation (imported ground truth often names classes only: 'person' then meets the
 * detector's 'person' with its Wikidata entity).
 */
function classifier(labels: readonly GroundTruthLabel[]): (l: GroundTruthLabel) => string {
  const conceptOf = new Map<string, string>();
  for (const l of labels) if (l.concept && l.label && !conceptOf.has(l.label)) conceptOf.set(l.label, l.concept);
  return (l) => l.concept ?? conceptOf.get(l.label!) ?? l.label!;
}

/** Lines in reading order (top to bottom, then left to right), one per line. */
function pageText(lines: readonly GroundTruthLabel[]): string {
  return [...lines]
    .sort((a, b) => (a.box?.y ?? 0) - (b.box?.y ?? 0) || (a.box?.x ?? 0) - (b.box?.x ?? 0))
    .map((l) => l.text ?? '')
    .join('\n');
}

/**
 * Evaluates what a model said against a dataset's ground truth. Ground truth is the current
 * revision of every accepted or corrected annotation of the dataset, whoever produced it (an
 * accepted model output is ground truth; a corrected one counts as corrected). Predictions are the
 * model's *original* output (revision 0) on the canvases that have ground truth, whatever its
 * review state: a rejected prediction is a false positive, a corrected one is judged as the model
 * said it. Each kind is evaluated when the ground truth has it: whole-canvas labels (per-class
 * precision, recall, F1 and the confusion matrix), boxes (AP at the IoU threshold; the mean over
 * the classes the model predicts, so a detector of objects is not marked down for faces another
 * model found) and text (CER and WER over each canvas's lines in reading order).
 */
export async function evaluateModel(store: AnnotationStore, q: EvaluationQuery): Promise<EvaluationReport> {
  await requireDataset(store, q.dataset);
  const truth = group(await queryAll(store, { dataset: q.dataset, reviewState: ['accepted', 'corrected'] }));
  const canvases = new Set([...truth.labels.keys(), ...truth.boxes.keys(), ...truth.text.keys()]);
  if (canvases.size === 0) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `Dataset ${q.dataset} has no accepted or corrected annotations to evaluate against`, {
      details: { dataset: q.dataset, hint: 'review some annotations (accept or correct), or import ground truth' },
    });
  }
  const predictedAnnotations = await queryAll(store, { canvasId: [...canvases], modelId: q.model, original: true });
  if (predictedAnnotations.length === 0 && (await store.count({ modelId: q.model })) === 0) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `The store has no annotations from model ${JSON.stringify(q.model)}`, { details: { model: q.model } });
  }
  const predicted = group(predictedAnnotations);
  const all = [truth, predicted].flatMap((g) => [...g.labels.values(), ...g.boxes.values()].flat());
  const classOf = classifier(all);

  const report: { -readonly [K in keyof EvaluationReport]: EvaluationReport[K] } = {
    model: q.model,
    dataset: q.dataset,
    generated: new Date().toISOString(),
    canvases: canvases.size,
  };
  if (truth.labels.size > 0) {
    const t = new Map([...truth.labels].map(([c, ls]) => [c, [...new Set(ls.map(classOf))]]));
    const p = new Map(
      [...truth.labels.keys()].map((c) => [
        c,
        (predicted.labels.get(c) ?? []).filter((l) => (l.score ?? 1) >= q.threshold).map((l) => ({ concept: classOf(l), score: l.score ?? 1 })),
      ]),
    );
    const names = new Map<string, string>();
    for (const l of all) if (l.concept && l.label && !names.has(l.concept)) names.set(l.concept, l.label);
    report.labels = { ...evaluateClassification(t, p, { threshold: q.threshold, labels: names }) };
  }
  if (truth.boxes.size > 0) {
    const perImage = <T>(map: Map<string, GroundTruthLabel[]>, make: (l: GroundTruthLabel & { box: Box }) => T): Record<string, T[]> =>
      Object.fromEntries([...truth.boxes.keys()].map((c) => [c, (map.get(c) ?? []).map((l) => make(l as GroundTruthLabel & { box: Box }))]));
    const modelClasses = new Set([...predicted.boxes.values()].flat().map(classOf));
    const boxes = evaluateBoxes(
      perImage(truth.boxes, (l) => ({ concept: classOf(l), box: l.box, ...(l.difficult && { difficult: true }) })),
      perImage(predicted.boxes, (l) => ({ concept: classOf(l), box: l.box, score: l.score ?? 1 })),
      { iou: q.iou },
    );
    const counted = boxes.classes.filter((c) => c.ap !== null && modelClasses.has(c.concept));
    report.boxes = {
      ...boxes,
      modelClasses: counted.map((c) => c.concept),
      map: counted.length === 0 ? 0 : counted.reduce((sum, c) => sum + (c.ap ?? 0), 0) / counted.length,
    };
  }
  if (truth.text.size > 0) {
    const t = new Map([...truth.text].map(([c, ls]) => [c, pageText(ls)]));
    const p = new Map([...truth.text.keys()].map((c) => [c, pageText(predicted.text.get(c) ?? [])]));
    report.text = { ...evaluateText(t, p) };
  }
  return report;
}
