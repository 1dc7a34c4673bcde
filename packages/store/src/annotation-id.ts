import { createHash } from 'node:crypto';
import type { ResultSetKey } from './store.js';

/**
 * A deterministic, URL-safe id for one annotation of a result set: the same model output on the
 * same image always gets the same id, which is what makes result-set writes idempotent and lets a
 * review survive a re-run. The model version is deliberately not part of it: a new version that
 * says the same thing keeps the curator's review. `occurrence` tells identical findings apart
 * (0 for the first, 1 for the second...).
 *
 * 22 base64url characters: 132 bits of SHA-256, far beyond any collision risk for a collection.
 */
export function annotationId(
  key: ResultSetKey,
  content: { readonly motivation: string; readonly target: string; readonly bodyText: string },
  occurrence: number,
): string {
  // A JSON array keeps the fields apart: no separator character can make two inputs collide.
  const canonical = JSON.stringify([
    key.manifestId,
    key.canvasId,
    key.imageIndex,
    key.stage,
    key.modelId,
    content.motivation,
    content.target,
    content.bodyText,
    occurrence,
  ]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}
