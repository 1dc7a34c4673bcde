import {
  annotationContexts,
  IIIF_PRESENTATION_CONTEXT,
  LOUPE_CONTEXT_PATH,
  layerPage,
  searchServiceUrls,
  shownLayers,
  type Annotation,
} from '@loupe/contracts';

type Json = Record<string, unknown>;

/**
 * Returns the v3 manifest with Loupe's annotations embedded on each canvas, one AnnotationPage per
 * layer (model, version, review state; rejected ones left out), each `partOf` its layer's
 * AnnotationCollection so that a viewer can list and toggle them; on each canvas Loupe read text
 * on (`ocrCanvases`), seeAlso links to its ALTO and hOCR; and when the manifest has text, its
 * Content Search services. Loupe's context goes before the IIIF context (IIIF last), as
 * Presentation 3 asks of extensions.
 */
export function enrichManifest(
  v3: Json,
  annotationsByCanvas: ReadonlyMap<string, Annotation[]>,
  publicUrl: string,
  ocrCanvases: ReadonlySet<string> = new Set(),
): Json {
  const manifestId = String(v3.id);
  const searchable = ocrCanvases.size > 0 || [...annotationsByCanvas.values()].some((list) => list.some(isText));
  const contexts = [v3['@context']].flat().filter((c): c is string => typeof c === 'string' && c !== IIIF_PRESENTATION_CONTEXT);
  const ours = annotationContexts(`${publicUrl}${LOUPE_CONTEXT_PATH}`, [...annotationsByCanvas.values()].flat());
  const items = Array.isArray(v3.items) ? (v3.items as Json[]) : [];
  return {
    ...v3,
    // The Content Search 2 context names its terms (SearchService2...); IIIF's stays last.
    '@context': [...new Set([...contexts, ...(searchable ? [SEARCH_2_CONTEXT] : []), ...ours])],
    items: items.map((canvas) => withOcrLinks(withAnnotations(canvas, manifestId, annotationsByCanvas.get(String(canvas.id)), publicUrl), ocrCanvases, publicUrl)),
    ...(searchable && { service: [...(v3.service === undefined ? [] : [v3.service].flat()), ...searchServices(publicUrl, manifestId)] }),
  };
}

const SEARCH_2_CONTEXT = 'http://iiif.io/api/search/2/context.json';
const SEARCH_1_CONTEXT = 'http://iiif.io/api/search/1/context.json';

const isText = (a: Annotation): boolean => [a.motivation].flat().some((m) => m === 'supplementing' || m === 'transcribing');

/**
 * Content Search 2.0, and 1.0 for the viewers that speak only it (Universal Viewer, Mirador 4):
 * a 1.0 service in a Presentation 3 manifest keeps its 2.x form (`@id`, `@type`, `profile`).
 */
function searchServices(publicUrl: string, manifestId: string): Json[] {
  const urls = searchServiceUrls(publicUrl, manifestId);
  return [
    { id: urls.search2, type: 'SearchService2', service: [{ id: urls.autocomplete2, type: 'AutoCompleteService2' }] },
    {
      '@context': SEARCH_1_CONTEXT,
      '@id': urls.search1,
      '@type': 'SearchService1',
      profile: 'http://iiif.io/api/search/1/search',
      service: [{ '@id': urls.autocomplete1, '@type': 'AutoCompleteService1', profile: 'http://iiif.io/api/search/1/autocomplete' }],
    },
  ];
}

function withAnnotations(canvas: Json, manifestId: string, annotations: Annotation[] | undefined, publicUrl: string): Json {
  const layers = shownLayers(manifestId, annotations ?? []);
  if (layers.length === 0) return canvas;
  const existing = Array.isArray(canvas.annotations) ? (canvas.annotations as unknown[]) : [];
  return { ...canvas, annotations: [...existing, ...layers.map((layer) => layerPage(publicUrl, layer.key, String(canvas.id), layer.annotations))] };
}

/**
 * The canvas's text as documents: Presentation 3 `seeAlso` is for machine-readable resources
 * about the resource, typed Dataset with a format and a profile (ALTO's schema, hOCR's spec, as
 * IIIF's registry of profiles names them). Without a model the link serves the newest reading.
 */
function withOcrLinks(canvas: Json, ocrCanvases: ReadonlySet<string>, publicUrl: string): Json {
  const id = String(canvas.id);
  if (!ocrCanvases.has(id)) return canvas;
  const query = `canvas=${encodeURIComponent(id)}`;
  const existing = canvas.seeAlso === undefined ? [] : [canvas.seeAlso].flat();
  return {
    ...canvas,
    seeAlso: [
      ...existing,
      { id: `${publicUrl}/v1/ocr/alto?${query}`, type: 'Dataset', format: 'application/xml', profile: ALTO_PROFILE, label: { en: ['ALTO XML (OCR)'] } },
      { id: `${publicUrl}/v1/ocr/hocr?${query}`, type: 'Dataset', format: 'text/vnd.hocr+html', profile: HOCR_PROFILE, label: { en: ['hOCR (OCR)'] } },
    ],
  };
}

const ALTO_PROFILE = 'http://www.loc.gov/standards/alto/v4/alto.xsd';
const HOCR_PROFILE = 'http://kba.github.io/hocr-spec/1.2/';

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
      // A composed caption's sources: the annotations its phrases say.
      'loupe:derivedFrom': { '@id': 'loupe:derivedFrom', '@type': '@id', '@container': '@set' },
      // An explanation: the annotation it explains, its saliency map (a JSON literal) and the method.
      'loupe:explains': { '@id': 'loupe:explains', '@type': '@id' },
      'loupe:saliency': { '@id': 'loupe:saliency', '@type': '@json' },
      'loupe:explainer': { '@id': 'loupe:explainer' },
      'loupe:version': { '@id': 'loupe:version' },
      // A model card (GET /v1/models/<id>/<version>, what generator ids dereference to).
      version: 'http://schema.org/softwareVersion',
      license: 'http://schema.org/license',
      description: 'http://schema.org/description',
      'loupe:task': { '@id': 'loupe:task' },
      'loupe:source': { '@id': 'loupe:source' },
      'loupe:citation': { '@id': 'loupe:citation' },
      'loupe:labels': { '@id': 'loupe:labels', '@container': '@list' },
      unreviewed: 'loupe:unreviewed',
      accepted: 'loupe:accepted',
      rejected: 'loupe:rejected',
      corrected: 'loupe:corrected',
    },
  };
}
