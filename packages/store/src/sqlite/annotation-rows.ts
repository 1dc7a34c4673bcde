import { LoupeError, type Annotation, type ReviewState } from '@loupe/contracts';
import { indexedBody } from '../annotation-checks.js';

/** The columns that make an annotation as the port returns it. */
export interface AnnotationRow {
  id: string;
  review_state: ReviewState;
  reviewer: string | null;
  reviewed_at: string | null;
  created: string;
  generated: string | null;
  revision: number;
  body_json: string;
}

export interface RevisionRow {
  revision: number;
  state: ReviewState;
  reviewer: string | null;
  at: string;
  note: string | null;
  body_json: string;
}

export const ROW = 'a.id, a.review_state, a.reviewer, a.reviewed_at, a.created, a.generated, a.revision, a.body_json';
export const ORDER = 'ORDER BY a.canvas_id, a.image_index, a.stage, a.model_id, a.position, a.id';

export function notFound(id: string): LoupeError {
  return new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation with the id ${id}`, { details: { id } });
}

/** The columns derived from an annotation's content, recomputed whenever its body changes. */
export function columnsOf(annotation: Annotation): { motivation: string; confidence: number | null; concept: string | null; label: string | null } {
  return {
    motivation: motivationColumn(annotation.motivation),
    confidence: annotation['loupe:confidence'] ?? null,
    ...indexedBody(annotation.body),
  };
}

/**
 * Revision 0 as the row holds it before any review: its state and reviewer are the producer's
 * (unreviewed with no reviewer for a model; accepted by the importer for ground truth).
 */
export function revisionZeroOf(row: AnnotationRow): { revision: 0; state: ReviewState; reviewer: string | null; at: string } {
  return { revision: 0, state: row.review_state, reviewer: row.reviewer, at: row.reviewed_at ?? row.generated ?? row.created };
}

export function toAnnotation(row: AnnotationRow): Annotation {
  const annotation = JSON.parse(row.body_json) as Annotation & { modified?: string; 'loupe:revision'?: number };
  annotation.created = row.created;
  annotation['loupe:reviewState'] = row.review_state;
  annotation['loupe:revision'] = row.revision;
  if (row.reviewed_at !== null) annotation.modified = row.reviewed_at;
  return annotation;
}

/** A list of motivations is kept as its JSON array; a single one as itself (none starts with '['). */
function motivationColumn(motivation: Annotation['motivation']): string {
  return Array.isArray(motivation) ? JSON.stringify(motivation) : motivation;
}
