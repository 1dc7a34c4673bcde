import { isRecord, type Annotation } from '@loupe/contracts';
import { explainAnnotation, type ExplanationDeps } from './explanations.js';

/** The store stage's `explain` option (the job's, docs/explanations.md); nothing asked when absent. */
export function explainOption(options: Readonly<Record<string, unknown>> | undefined): { classifications?: boolean } {
  const explain = options?.['explain'];
  return isRecord(explain) ? { classifications: explain['classifications'] === true } : {};
}

/**
 * A job's explanations, made as the store stage keeps the classifications: the most probable one
 * of each classify result set (the first the stage wrote), at the default options, so the review
 * page's "Why?" and the route find it kept. A failure fails the stage, with the annotations
 * already stored: the job asked for explanations, and a redelivery makes only what is missing.
 */
export async function explainTopClassifications(deps: ExplanationDeps, made: ReadonlyMap<string, Annotation[]>): Promise<void> {
  for (const [set, annotations] of made) {
    if (!set.startsWith('classify\n')) continue;
    const top = annotations.find((a) => [a.motivation].flat().includes('classifying'));
    if (top) await explainAnnotation(deps, top.id.split('/').at(-1)!, {});
  }
}
