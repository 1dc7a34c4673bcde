import type { LinearHead } from './head.js';

/**
 * A head is close to chance when its cross-validated accuracy closes less than this share of the
 * gap between always answering the commonest class and answering every image right
 * ((accuracy - chance) / (1 - chance), the kappa of a head against that baseline).
 */
export const CLOSE_TO_CHANCE = 0.2;

interface SoftmaxMetrics {
  readonly kind: 'softmax';
  readonly evaluation: string;
  readonly accuracy: number;
  readonly accuracyImages: number;
  readonly classes: readonly { readonly concept: string; readonly label?: string; readonly support: number }[];
}

/**
 * One sentence saying that the head's own evaluation puts it close to guessing, or undefined when
 * it does not (or when it has no softmax evaluation to judge by: zero-shot heads, sigmoid heads).
 * Said where the head is used and where it is made, so that nobody reads its labels unwarned.
 */
export function closeToChance(head: Pick<LinearHead, 'id' | 'version' | 'metrics'>): string | undefined {
  const metrics = softmaxMetrics(head.metrics);
  if (!metrics || metrics.accuracyImages === 0) return undefined;
  const commonest = metrics.classes.reduce((a, b) => (b.support > a.support ? b : a));
  const chance = commonest.support / metrics.accuracyImages;
  if (chance >= 1 || (metrics.accuracy - chance) / (1 - chance) >= CLOSE_TO_CHANCE) return undefined;
  const how = metrics.evaluation === 'cross-validation' ? 'cross-validated' : 'validation';
  return (
    `head ${head.id} version ${head.version} is close to chance: ${how} accuracy ${metrics.accuracy.toFixed(3)} on ${metrics.accuracyImages} images, ` +
    `where always answering "${commonest.label ?? commonest.concept}" scores ${chance.toFixed(3)}; read its labels as hints, not findings`
  );
}

function softmaxMetrics(metrics: unknown): SoftmaxMetrics | undefined {
  if (typeof metrics !== 'object' || metrics === null) return undefined;
  const m = metrics as Partial<SoftmaxMetrics>;
  const supported = Array.isArray(m.classes) && m.classes.length > 0 && m.classes.every((c) => typeof c?.support === 'number' && typeof c.concept === 'string');
  if (m.kind !== 'softmax' || typeof m.accuracy !== 'number' || typeof m.accuracyImages !== 'number' || !supported) return undefined;
  return m as SoftmaxMetrics;
}
