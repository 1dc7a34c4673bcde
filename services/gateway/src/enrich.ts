import { IIIF_PRESENTATION_CONTEXT, LOUPE_CONTEXT_PATH, type Annotation } from '@loupe/contracts';

type Json = Record<string, unknown>;

/**
 * Returns the v3 manifest with one embedded AnnotationPage of Loupe's
 * annotations on each canvas that has any. Loupe's context goes before the
 * IIIF context (IIIF last), as Presentation 3 asks of extensions.
 */
export function enrichManifest(v3: Json, annotationsByCanvas: ReadonlyMap<string, Annotation[]>, publicUrl: string): Json {
  const contexts = [v3['@context']].flat().filter((c): c is string => typeof c === 'string' && c !== IIIF_PRESENTATION_CONTEXT);
  const loupeContext = `${publicUrl}${LOUPE_CONTEXT_PATH}`;
  const items = Array.isArray(v3.items) ? (v3.items as Json[]) : [];
  return {
    ...v3,
    '@context': [...new Set([...contexts, loupeContext]), IIIF_PRESENTATION_CONTEXT],
    items: items.map((canvas) => {
      const annotations = annotationsByCanvas.get(String(canvas.id));
      if (!annotations || annotations.length === 0) return canvas;
      const existing = Array.isArray(canvas.annotations) ? (canvas.annotations as unknown[]) : [];
      return {
        ...canvas,
        annotations: [...existing, annotationPage(String(canvas.id), annotations, publicUrl)],
      };
    }),
  };
}

export function annotationPage(canvasId: string, items: Annotation[], publicUrl: string): Json {
  return {
    id: `${publicUrl}/v1/annotations?canvas=${encodeURIComponent(canvasId)}`,
    type: 'AnnotationPage',
    items,
  };
}

/** Loupe's JSON-LD extension context (served at LOUPE_CONTEXT_PATH). */
export function loupeContext(publicUrl: string): Json {
  return {
    '@context': {
      loupe: `${publicUrl}/ns/loupe#`,
      'loupe:confidence': { '@id': 'loupe:confidence', '@type': 'http://www.w3.org/2001/XMLSchema#double' },
      'loupe:reviewState': { '@id': 'loupe:reviewState', '@type': '@vocab' },
      'loupe:revision': { '@id': 'loupe:revision', '@type': 'http://www.w3.org/2001/XMLSchema#integer' },
      'loupe:difficult': { '@id': 'loupe:difficult', '@type': 'http://www.w3.org/2001/XMLSchema#boolean' },
      'loupe:margin': { '@id': 'loupe:margin', '@type': 'http://www.w3.org/2001/XMLSchema#double' },
      'loupe:entropy': { '@id': 'loupe:entropy', '@type': 'http://www.w3.org/2001/XMLSchema#double' },
      'loupe:embeddingModel': { '@id': 'loupe:embeddingModel' },
      'loupe:embeddingVersion': { '@id': 'loupe:embeddingVersion' },
      'loupe:model': { '@id': 'loupe:model' },
      'loupe:version': { '@id': 'loupe:version' },
      unreviewed: 'loupe:unreviewed',
      accepted: 'loupe:accepted',
      rejected: 'loupe:rejected',
      corrected: 'loupe:corrected',
    },
  };
}
