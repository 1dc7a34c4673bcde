import {
  IIIF_PRESENTATION_CONTEXT,
  LAYERS_API,
  LOUPE_CONTEXT_PATH,
  LoupeError,
  NO_MODEL,
  annotationContexts,
  canvasOfTarget,
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
import { pagesOf, queryAll } from './curation.js';

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

/** A layer's canvases in the store's order, its size, and one annotation to name it by. */
async function survey(store: AnnotationStore, key: LayerKey): Promise<{ canvases: string[]; total: number; sample: Annotation }> {
  const canvases = new Set<string>();
  let total = 0;
  let sample: Annotation | undefined;
  // Page by page: a newspaper's text layer is counted without holding all of it.
  for await (const page of pagesOf(store, queryOfLayer(key))) {
    for (const a of page) {
      if (!inLayer(a, key)) continue;
      sample ??= a;
      total += 1;
      canvases.add(canvasOfTarget(a.target));
    }
  }
  if (!sample) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotations in layer ${layerUrls('', key).collection}`, { details: { ...key } });
  return { canvases: [...canvases], total, sample };
}

/** The routes a layer's collection and pages dereference to; give them the store as the service serves it (under its public URL). */
export function layerHandlers(store: AnnotationStore, publicUrl: string) {
  const pageRef = (key: LayerKey, canvas: string) => ({ id: layerUrls(publicUrl, key).page(canvas), type: 'AnnotationPage' as const });

  const layer = defineHandler({
    ...LAYERS_API.layer,
    async handler(params) {
      const key = keyOf(params);
      const { canvases, total, sample } = await survey(store, key);
      return {
        '@context': [IIIF_PRESENTATION_CONTEXT],
        id: layerUrls(publicUrl, key).collection,
        type: 'AnnotationCollection' as const,
        label: layerLabel(key, sample),
        total,
        first: pageRef(key, canvases[0]!),
        last: pageRef(key, canvases.at(-1)!),
      };
    },
  });

  const page = defineHandler({
    ...LAYERS_API.layerPage,
    async handler({ canvas, ...params }) {
      const key = keyOf(params);
      const { canvases } = await survey(store, key);
      const at = canvases.indexOf(canvas);
      if (at < 0) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `Layer ${layerUrls(publicUrl, key).collection} has no annotations on ${canvas}`, { details: { canvas } });
      const items = (await queryAll(store, queryOfLayer(key, canvas))).filter((a) => inLayer(a, key));
      return {
        '@context': annotationContexts(`${publicUrl}${LOUPE_CONTEXT_PATH}`, items),
        ...layerPage(publicUrl, key, canvas, items),
        ...(at > 0 && { prev: pageRef(key, canvases[at - 1]!) }),
        ...(at < canvases.length - 1 && { next: pageRef(key, canvases[at + 1]!) }),
      };
    },
  });

  return [layer, page] as const;
}
