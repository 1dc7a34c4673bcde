import type { Annotation } from '@loupe/contracts';
import type { AnnotationQuery, AnnotationStore, GroundTruthInput, Revision } from './store.js';

/*
 * Annotations are stored without the URL Loupe is served under: an annotation's id is its key
 * (`<key>` of `<public URL>/v1/annotations/<key>`) and its generator's id the path
 * `/v1/models/<id>/<version>`. The public URL in force is put back on whatever leaves the store,
 * so a store written by `loupe run` under one URL can be served and reviewed under another.
 */

// Any host, and any path the public URL may have before Loupe's own (a proxy's prefix).
// The key, or a route under it with its query (an explanation's overlay: `<key>/explanation?window=0.2`).
const ANNOTATION_URL = /^https?:\/\/[^/?#]+(?:\/[^?#]*?)?\/v1\/annotations\/([^/?#]+(?:\/explanation(?:\?[^#]*)?)?)$/;
const MODEL_URL = /^https?:\/\/[^/?#]+(?:\/[^?#]*?)?(\/v1\/models\/[^?#]+)$/;
const ABSOLUTE = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** The key of a Loupe annotation URL (made under any public URL); any other id as it is. */
export function localAnnotationId(id: string): string {
  return ANNOTATION_URL.exec(id)?.[1] ?? id;
}

/** The path of a Loupe model URL (made under any public URL); any other id as it is. */
export function localGeneratorId(id: string): string {
  return MODEL_URL.exec(id)?.[1] ?? id;
}

/**
 * The ids an annotation links to, each mapped: a composed caption's sources (`loupe:derivedFrom`),
 * the annotation an explanation explains (`loupe:explains`) and its overlay's link (a body under
 * `/v1/annotations/<key>/explanation`); nothing for those it lacks.
 */
function linked(annotation: Annotation, map: (id: string) => string): Record<string, unknown> {
  const a = annotation as Record<string, unknown>;
  const sources = a['loupe:derivedFrom'];
  const explains = a['loupe:explains'];
  const body = a['body'];
  return {
    ...(Array.isArray(sources) && { 'loupe:derivedFrom': sources.map((id) => (typeof id === 'string' ? map(id) : id)) }),
    ...(typeof explains === 'string' && { 'loupe:explains': map(explains) }),
    ...(typeof explains === 'string' && isLinkedBody(body) && { body: { ...body, id: map(body.id) } }),
  };
}

const isLinkedBody = (body: unknown): body is { id: string } =>
  typeof body === 'object' && body !== null && !Array.isArray(body) && typeof (body as { id?: unknown }).id === 'string';

/** The annotation as the store keeps it: its id, its generator's and its links' without the public URL. */
export function localAnnotation(annotation: Annotation): Annotation {
  const { generator } = annotation;
  return {
    ...annotation,
    id: localAnnotationId(annotation.id),
    ...(generator && { generator: { ...generator, id: localGeneratorId(generator.id) } }),
    ...linked(annotation, localAnnotationId),
  };
}

const publicId = (id: string, publicUrl: string): string => (ABSOLUTE.test(id) ? id : `${publicUrl}/v1/annotations/${id}`);

/** Kept in the store only: an explanation's overlay bytes, which its own route serves (see ground-truth's explanations.ts). */
const PRIVATE = 'loupe:overlay';

/** The annotation as `publicUrl` serves it: an id that is not a URL yet is made one under it; private fields dropped. */
export function publicAnnotation(annotation: Annotation, publicUrl: string): Annotation {
  const { generator } = annotation;
  const { [PRIVATE]: _private, ...shown } = annotation as Annotation & { [PRIVATE]?: unknown };
  return {
    ...shown,
    id: publicId(annotation.id, publicUrl),
    ...(generator && { generator: { ...generator, id: generator.id.startsWith('/') ? `${publicUrl}${generator.id}` : generator.id } }),
    ...linked(annotation, (id) => publicId(id, publicUrl)),
  };
}

function localQuery<Q extends AnnotationQuery>(q: Q): Q {
  return q.ids === undefined ? q : { ...q, ids: q.ids.map(localAnnotationId) };
}

/**
 * The store as it is served under `publicUrl` (no trailing slash): annotations are written with
 * URL-free ids and read with ids under `publicUrl`; ids given to it may be keys or annotation URLs
 * made under any public URL.
 */
export function withPublicUrl(store: AnnotationStore, publicUrl: string): AnnotationStore {
  const show = (a: Annotation): Annotation => publicAnnotation(a, publicUrl);
  const showRevision = (r: Revision): Revision => ({ ...r, annotation: show(r.annotation) });
  const keep = (item: GroundTruthInput): GroundTruthInput => ({ ...item, annotation: localAnnotation(item.annotation) });
  return {
    replaceResultSet: (key, modelVersion, annotations) => store.replaceResultSet(key, modelVersion, annotations.map(localAnnotation)),
    query: async (q) => (await store.query(localQuery(q))).map(show),
    count: (q) => store.count(localQuery(q)),
    get: async (id) => {
      const found = await store.get(localAnnotationId(id));
      return found && show(found);
    },
    setReviewState: async (id, state, reviewer) => show(await store.setReviewState(localAnnotationId(id), state, reviewer)),
    review: async (id, input) => show(await store.review(localAnnotationId(id), input)),
    history: async (id) => (await store.history(localAnnotationId(id))).map(showRevision),
    reviewMany: (filter, input) => store.reviewMany(localQuery(filter), input),
    putGroundTruth: (items, opts) => store.putGroundTruth(items.map(keep), opts),

    replaceOcrPage: (key, modelVersion, page, generated) => store.replaceOcrPage(key, modelVersion, page, generated),
    ocrPages: (filter) => store.ocrPages(filter),
    ocrPageEntries: (filter) => store.ocrPageEntries(filter),
    putCanvas: (canvas) => store.putCanvas(canvas),
    getCanvas: (canvasId) => store.getCanvas(canvasId),
    canvases: (filter) => store.canvases(localQuery(filter)),
    putVocabulary: (vocabulary) => store.putVocabulary(vocabulary),
    getVocabulary: (id) => store.getVocabulary(id),
    listVocabularies: () => store.listVocabularies(),
    findConcept: (uri) => store.findConcept(uri),
    createDataset: (input) => store.createDataset(input),
    getDataset: (name) => store.getDataset(name),
    listDatasets: () => store.listDatasets(),
    addDatasetSources: (name, sources) => store.addDatasetSources(name, sources),
    addDatasetMembers: (name, ids) => store.addDatasetMembers(name, ids.map(localAnnotationId)),
    removeDatasetMembers: (name, ids) => store.removeDatasetMembers(name, ids.map(localAnnotationId)),
    deleteDataset: (name) => store.deleteDataset(name),
    close: () => store.close(),
  };
}
