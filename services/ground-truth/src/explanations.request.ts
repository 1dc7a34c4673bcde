import { LoupeError, isRecord, type Annotation, type ExplainBoxInput, type ExplainClassificationInput, type ExplainOptions } from '@loupe/contracts';
import { labelOfAnnotation } from '@loupe/datasets';
import type { AnnotationStore, VocabularySummary } from '@loupe/store';

/** What to ask, and of whom, to explain one stored annotation (its image and canvas are added by the caller). */
export type ExplainRequest = { readonly what: string; readonly model: { id: string; version: string } | undefined } & (
  | { readonly kind: 'classification'; readonly input: Omit<ExplainClassificationInput, 'image' | 'canvas'> }
  | { readonly kind: 'box'; readonly input: Omit<ExplainBoxInput, 'image' | 'canvas'> }
);

/**
 * The vocabulary a zero-shot head was made from: classify names such a head
 * `zero-shot.<vocabulary id, lower-cased, other characters as _, last 80>`.
 */
export function zeroShotVocabulary(vocabularies: readonly VocabularySummary[], headId: string): VocabularySummary | undefined {
  if (!headId.startsWith('zero-shot.')) return undefined;
  const slug = headId.slice('zero-shot.'.length);
  return vocabularies.find((v) => v.id.toLowerCase().replace(/[^a-z0-9._-]+/g, '_').slice(-80) === slug);
}

/** The model an annotation names as its maker (generator `loupe:model` and `loupe:version`). */
export function modelOf(a: Annotation): { id: string; version: string } | undefined {
  const generator = isRecord(a.generator) ? a.generator : undefined;
  const id = generator?.['loupe:model'];
  const version = generator?.['loupe:version'];
  return typeof id === 'string' && typeof version === 'string' ? { id, version } : undefined;
}

/**
 * A classification is explained by the head that gave it (trained, or zero-shot from its
 * vocabulary), a box by the detector of its kind; anything else (a line of text, a caption, a
 * curator's comment) has no model score to take apart.
 */
export async function explainRequestOf(store: AnnotationStore, a: Annotation, options: ExplainOptions): Promise<ExplainRequest> {
  if ('loupe:explains' in a) throw new LoupeError('LOUPE_ERR_VALIDATION', `${a.id} is itself an explanation`);
  const said = labelOfAnnotation(a)?.label;
  const motivations = [a.motivation].flat();
  const model = modelOf(a);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ExplainOptions;

  if (motivations.includes('classifying') && said?.concept !== undefined) {
    if (!model) throw new LoupeError('LOUPE_ERR_VALIDATION', `${a.id} names no head that made it (generator loupe:model): nothing to explain it with`);
    const vocabulary = zeroShotVocabulary(await store.listVocabularies(), model.id);
    const head = vocabulary ? { vocabulary: vocabulary.id } : { head: model.id, headVersion: model.version };
    return {
      kind: 'classification',
      what: said.label ?? said.concept,
      // A zero-shot head's version is remade from the text model: the one running is the one explained.
      model: vocabulary ? undefined : model,
      input: { ...head, concept: said.concept, ...(said.box && { region: said.box }), ...given },
    };
  }
  if (motivations.includes('tagging') && said?.box && said.label !== undefined) {
    const kind = said.label === 'face' ? 'faces' : 'objects';
    return { kind: 'box', what: said.label, model, input: { kind, label: said.label, box: said.box, ...given } };
  }
  throw new LoupeError('LOUPE_ERR_VALIDATION', `${a.id} is neither a classification nor a detection box: only those can be explained`, {
    details: { motivation: a.motivation },
  });
}
