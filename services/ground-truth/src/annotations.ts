import { MEDIA_FRAGMENTS, xywh, type Annotation, type Finding, type ResultSet } from '@loupe/contracts';
import { annotationId, type ResultSetKey } from '@loupe/store';

export function resultSetKey(set: ResultSet): ResultSetKey {
  return { manifestId: set.manifestId, canvasId: set.canvasId, imageIndex: set.imageIndex, stage: set.stage, modelId: set.model.id };
}

function bodyOf(finding: Finding): Annotation['body'] {
  const bodies: Exclude<Annotation['body'], unknown[]> [] = [];
  if (finding.text !== undefined) {
    bodies.push({ type: 'TextualBody', value: finding.text, format: 'text/plain', ...(finding.language && { language: finding.language }) });
  }
  if (finding.label !== undefined) {
    bodies.push({ type: 'TextualBody', value: finding.label, language: 'en', purpose: finding.motivation === 'describing' ? 'describing' : 'tagging' });
  }
  if (finding.concept !== undefined) {
    bodies.push({ type: 'SpecificResource', source: finding.concept, purpose: finding.motivation === 'classifying' ? 'classifying' : 'identifying' });
  }
  return bodies.length === 1 ? bodies[0]! : bodies;
}

/**
 * Turns a model's findings into W3C Web Annotations with provenance. Ids are
 * derived from the result set and the content, so the same output always gets
 * the same id: writes are idempotent, and reviews survive a re-run.
 */
export function toAnnotations(set: ResultSet, publicUrl: string): Annotation[] {
  const key = resultSetKey(set);
  const seen = new Map<string, number>();
  const generator = {
    id: `${publicUrl}/v1/models/${encodeURIComponent(set.model.id)}/${encodeURIComponent(set.model.version)}`,
    type: 'Software' as const,
    name: set.model.embedding
      ? `${set.model.name ?? set.model.id} ${set.model.version} (head on ${set.model.embedding.id} ${set.model.embedding.version})`
      : `${set.model.name ?? set.model.id} ${set.model.version}${set.model.runtime ? ` (${set.model.runtime})` : ''}`,
    'loupe:model': set.model.id,
    'loupe:version': set.model.version,
    ...(set.model.embedding && { 'loupe:embeddingModel': set.model.embedding.id, 'loupe:embeddingVersion': set.model.embedding.version }),
  };
  return set.findings.map((finding) => {
    const target: Annotation['target'] = finding.box
      ? {
          type: 'SpecificResource',
          source: set.canvasId,
          selector: { type: 'FragmentSelector', conformsTo: MEDIA_FRAGMENTS, value: xywh(finding.box) },
        }
      : set.canvasId;
    const body = bodyOf(finding);
    const content = {
      motivation: finding.motivation,
      target: typeof target === 'string' ? target : target.selector?.value ?? '',
      bodyText: JSON.stringify(body),
    };
    const contentKey = `${content.motivation}|${content.target}|${content.bodyText}`;
    const occurrence = seen.get(contentKey) ?? 0;
    seen.set(contentKey, occurrence + 1);
    return {
      id: `${publicUrl}/v1/annotations/${annotationId(key, content, occurrence)}`,
      type: 'Annotation',
      motivation: finding.motivation,
      body,
      target,
      generator,
      created: set.generated,
      generated: set.generated,
      'loupe:confidence': Math.round(finding.confidence * 10_000) / 10_000,
      ...(finding.granularity && { textGranularity: finding.granularity }),
      ...(finding.margin !== undefined && { 'loupe:margin': Math.round(finding.margin * 10_000) / 10_000 }),
      ...(finding.entropy !== undefined && { 'loupe:entropy': Math.round(finding.entropy * 10_000) / 10_000 }),
      'loupe:reviewState': 'unreviewed',
    };
  });
}
