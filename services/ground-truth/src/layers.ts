import {
  IIIF_PRESENTATION_CONTEXT,
  LAYERS_API,
  LOUPE_CONTEXT_PATH,
  LoupeError,
  NO_MODEL,
  annotationContexts,
  defineHandler,
  isExplanation,
  layerLabel,
  layerOf,
  layerPage,
  layerUrls,
  manifestFromKey,
  sameLayer,
  type Annotation,
  type LayerKey,
  type ReviewState,
} from '@loupe/contracts';
import type { AnnotationQuery, AnnotationStore } from '@loupe/store';
import { queryAll } from './curation.js';

interface LayerParams {
  readonly manifest: string;
  readonly model: string;
  readonly version: string;
  readonly state: ReviewState;
}

function keyOf(params: LayerParams): LayerKey {
  const manifest = manifestFromKey(params.manifest);
  if (manifest === undefined) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No manifest is named ${JSON.stringify(params.manifest)}`, { details: { manifest: params.manifest } });
  return { manifest, model: params.model, version: params.version, state: params.state };
}

/** The store's narrowest query for a layer: the version is not a column, so it is checked on each annotation. */
function queryOfLayer(key: LayerKey, canvas?: string): AnnotationQuery {
  return {
    manifestId: key.manifest,
    reviewState: key.state,
    ...(key.model !== NO_MODEL && { modelId: key.model }),
    ...(canvas !== undefined && { canvasId: canvas }),
  };
}

/** Whether `a` is shown in the layer: an explanation carries its model's generator but is not one of its findings. */
const inLayer = (a: Annotation, key: LayerKey): boolean => !isExplanation(a) && sameLayer(layerOf(key.manifest, a), key);

/** The layer's annotations on one canvas (an index read: the store's canvas column). */
async function onCanvas(store: AnnotationStore, key: LayerKey, canvas: string): Promise<Annotation[]> {
  return (await queryAll(store, queryOfLayer(key, canvas))).filter((a) => inLayer(a, key));
}

/**
 * The canvases that may hold the layer's annotations (those with annotations of its manifest,
 * model and review state: the store's canvas listing, which reads no annotation), in the layer's
 * order: the manifest's, as harvested (a newspaper's page 2 before its page 10), then any canvas
 * the store has no place for (imported ground truth) by id.
 */
async function candidates(store: AnnotationStore, key: LayerKey): Promise<string[]> {
  const listed = (await store.canvases(queryOfLayer(key))).map((c) => c.canvas);
  const place = (c: { index?: number }): number => c.index ?? Number.MAX_SAFE_INTEGER;
  // A stable sort of the store's listing, which is in id order: ids order what has no place.
  return listed.sort((a, b) => place(a) - place(b)).map((c) => c.canvasId);
}

/**
 * A layer's first and last canvases, its size, and one annotation to name it by. Canvas by canvas
 * over the candidates: a newspaper's text layer is counted without holding all of it, and each
 * read is one canvas's (an index), not a page of the whole layer at a growing offset.
 */
async function survey(store: AnnotationStore, key: LayerKey): Promise<{ first: string; last: string; total: number; sample: Annotation }> {
  let total = 0;
  let found: { first: string; last: string; sample: Annotation } | undefined;
  for (const canvas of await candidates(store, key)) {
    const items = await onCanvas(store, key, canvas);
    if (items.length === 0) continue;
    total += items.length;
    found = found ? { ...found, last: canvas } : { first: canvas, last: canvas, sample: items[0]! };
  }
  if (!found) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotations in layer ${layerUrls('', key).collection}`, { details: { ...key } });
  return { ...found, total };
}

/**
 * The layer's canvases before and after `canvas`, in the layer's order. A viewer asks for a page
 * each time it turns one, so this must not read the layer: the candidates come from the store's
 * canvas listing, and each is checked by reading its own annotations
 * (the version and the generator are in the body), nearest first: a page costs its neighbours'
 * reads, not the whole layer's (services/ground-truth/bench/layer-page.bench.ts).
 */
async function neighbours(store: AnnotationStore, key: LayerKey, canvas: string): Promise<{ prev?: string; next?: string }> {
  const order = await candidates(store, key);
  const at = order.indexOf(canvas);
  const nearest = async (step: 1 | -1): Promise<string | undefined> => {
    for (let i = at + step; i >= 0 && i < order.length; i += step) {
      if ((await onCanvas(store, key, order[i]!)).length > 0) return order[i];
    }
    return undefined;
  };
  const [prev, next] = [await nearest(-1), await nearest(1)];
  return { ...(prev !== undefined && { prev }), ...(next !== undefined && { next }) };
}

/** The routes a layer's collection and pages dereference to; give them the store as the service serves it (under its public URL). */
export function layerHandlers(store: AnnotationStore, publicUrl: string) {
  const pageRef = (key: LayerKey, canvas: string) => ({ id: layerUrls(publicUrl, key).page(canvas), type: 'AnnotationPage' as const });

  const layer = defineHandler({
    ...LAYERS_API.layer,
    async handler(params) {
      const key = keyOf(params);
      const { first, last, total, sample } = await survey(store, key);
      return {
        '@context': [IIIF_PRESENTATION_CONTEXT],
        id: layerUrls(publicUrl, key).collection,
        type: 'AnnotationCollection' as const,
        label: layerLabel(key, sample),
        total,
        first: pageRef(key, first),
        last: pageRef(key, last),
      };
    },
  });

  const page = defineHandler({
    ...LAYERS_API.layerPage,
    async handler({ canvas, ...params }) {
      const key = keyOf(params);
      const items = await onCanvas(store, key, canvas);
      if (items.length === 0) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `Layer ${layerUrls(publicUrl, key).collection} has no annotations on ${canvas}`, { details: { canvas } });
      const { prev, next } = await neighbours(store, key, canvas);
      return {
        '@context': annotationContexts(`${publicUrl}${LOUPE_CONTEXT_PATH}`, items),
        ...layerPage(publicUrl, key, canvas, items),
        ...(prev !== undefined && { prev: pageRef(key, prev) }),
        ...(next !== undefined && { next: pageRef(key, next) }),
      };
    },
  });

  return [layer, page] as const;
}
