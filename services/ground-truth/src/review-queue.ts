import { LoupeError, canvasOfTarget, type Annotation, type ReviewQueueQuery } from '@loupe/contracts';
import { labelOfAnnotation } from '@loupe/datasets';
import type { AnnotationStore } from '@loupe/store';
import { queryAll } from './curation.js';

interface Candidate {
  readonly canvas: string;
  readonly annotations: Annotation[];
}

/**
 * How unsure the head was about a canvas. The classify stage writes the margin and entropy of the
 * head's whole distribution on each of its annotations; older or imported classifications without
 * them fall back to the margin between the two best stored confidences.
 */
function uncertaintyOf(annotations: readonly Annotation[], strategy: 'margin' | 'entropy'): number {
  const stored = annotations.map((a) => (a as Record<string, unknown>)[`loupe:${strategy}`]).find((v) => typeof v === 'number');
  if (typeof stored === 'number') return stored;
  const [p1 = 0, p2 = 0] = annotations.map((a) => a['loupe:confidence'] ?? 0).sort((a, b) => b - a);
  return 1 - (p1 - p2);
}

/**
 * Active learning: the canvases a head classified and nobody has reviewed yet, most uncertain
 * first, so that curators label what teaches the next head the most. A canvas leaves the queue
 * as soon as one of the head's classifications on it is reviewed.
 */
export async function reviewQueueOf(store: AnnotationStore, q: ReviewQueueQuery) {
  const annotations = await queryAll(store, {
    modelId: q.model,
    motivation: 'classifying',
    ...(q.manifest !== undefined && { manifestId: q.manifest }),
    ...(q.dataset !== undefined && { dataset: q.dataset }),
  });
  if (annotations.length === 0 && (await store.count({ modelId: q.model })) === 0) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No classifications from ${JSON.stringify(q.model)} in the store`, {
      details: { model: q.model, hint: 'run the head first: loupe run <manifest> --pipeline classify --head <id>' },
    });
  }
  const byCanvas = new Map<string, Candidate>();
  const reviewed = new Set<string>();
  for (const a of annotations) {
    const canvas = canvasOfTarget(a.target);
    if (a['loupe:reviewState'] !== 'unreviewed') reviewed.add(canvas);
    const entry = byCanvas.get(canvas);
    if (entry) entry.annotations.push(a);
    else byCanvas.set(canvas, { canvas, annotations: [a] });
  }
  const candidates = [...byCanvas.values()].filter((c) => !reviewed.has(c.canvas));
  const scored = candidates
    .map((c) => ({ c, uncertainty: uncertaintyOf(c.annotations, q.strategy) }))
    .sort((a, b) => b.uncertainty - a.uncertainty || (a.c.canvas < b.c.canvas ? -1 : a.c.canvas > b.c.canvas ? 1 : 0))
    .slice(0, q.limit);
  const items = [];
  for (const { c, uncertainty } of scored) {
    // The manifest is not on the annotation: the canvas record has it.
    const record = await store.getCanvas(c.canvas);
    const predictions = [];
    for (const a of c.annotations) {
      const said = labelOfAnnotation(a)?.label;
      if (said?.concept === undefined) continue;
      predictions.push({ concept: said.concept, ...(said.label !== undefined && { label: said.label }), confidence: a['loupe:confidence'] ?? 0 });
    }
    items.push({
      canvas: c.canvas,
      manifest: record?.manifestId ?? '',
      uncertainty: Math.round(uncertainty * 10_000) / 10_000,
      predictions: predictions.sort((a, b) => b.confidence - a.confidence),
    });
  }
  return { model: q.model, strategy: q.strategy, items };
}
