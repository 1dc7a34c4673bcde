import { checkQuery } from '../annotation-checks.js';
import type { AnnotationQuery } from '../store.js';

export interface AnnotationWhere {
  readonly sql: string;
  readonly params: unknown[];
}

/** The WHERE clause of a query over `annotations a` (filters only: paging is the caller's). */
export function whereOf(q: AnnotationQuery, datasets: { requireDataset(name: string): void }): AnnotationWhere {
  checkQuery(q);
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, ...values: unknown[]): void => {
    clauses.push(clause);
    params.push(...values);
  };
  if (q.canvasId !== undefined) {
    if (typeof q.canvasId === 'string') add('a.canvas_id = ?', q.canvasId);
    else add('a.canvas_id IN (SELECT value FROM json_each(?))', JSON.stringify(q.canvasId));
  }
  if (q.manifestId !== undefined) add('a.manifest_id = ?', q.manifestId);
  if (q.modelId !== undefined) add('a.model_id = ?', q.modelId);
  if (q.reviewState !== undefined) {
    if (typeof q.reviewState === 'string') add('a.review_state = ?', q.reviewState);
    else add('a.review_state IN (SELECT value FROM json_each(?))', JSON.stringify(q.reviewState));
  }
  if (q.motivation !== undefined) {
    add(
      `(a.motivation = ? OR (substr(a.motivation, 1, 1) = '[' AND EXISTS (SELECT 1 FROM json_each(a.motivation) WHERE value = ?)))`,
      q.motivation,
      q.motivation,
    );
  }
  if (q.concept !== undefined) add('(a.concept = ? OR a.label = ?)', q.concept, q.concept);
  if (q.minConfidence !== undefined) add('a.confidence >= ?', q.minConfidence);
  if (q.maxConfidence !== undefined) add('a.confidence <= ?', q.maxConfidence);
  if (q.ids !== undefined) add('a.id IN (SELECT value FROM json_each(?))', JSON.stringify(q.ids));
  if (q.dataset !== undefined) {
    datasets.requireDataset(q.dataset);
    // Annotations only know their manifest: a collection source matches once its manifests are sources too.
    add(
      `(a.id IN (SELECT annotation_id FROM dataset_members WHERE name = ?)
        OR a.manifest_id IN (SELECT source FROM dataset_sources WHERE name = ?))`,
      q.dataset,
      q.dataset,
    );
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
