import { LoupeError, SERVICE_APIS, defineHandler, explainOutput, type ImageRef, type Rect } from '@loupe/contracts';
import { saliencyOverlayPng, type ImageEmbedder, type RawImage } from '@loupe/inference';
import type { LinearHead } from '@loupe/heads';
import { explainClassification } from './classification.explainer.js';
import { regionInImage } from './classify.service.js';

/** The canvas image fetched for an explanation, and the way back from its pixels to the canvas. */
export interface FetchedForExplanation extends RawImage {
  toCanvas(box: Rect): Rect;
}

/**
 * Fetches a canvas image fitted inside `fit` x `fit` (only `region`, image pixels, when given):
 * @loupe/iiif's fetchCanvasImage over the process's fetcher, handed in by the process.
 */
export type ExplanationImageFetch = (image: ImageRef, canvas: { readonly width: number; readonly height: number }, fit: number, region?: Rect) => Promise<FetchedForExplanation>;

/** Masked copies are at most 512 px (occlusion's own limit); the overlay a curator sees is fetched a little larger. */
export const EXPLANATION_FETCH_SIZE = 768;

/** The canvas the input names, or the image's own size standing for it. */
export function canvasOf(input: { readonly image: ImageRef; readonly canvas?: { readonly width: number; readonly height: number } | undefined }): { width: number; height: number } {
  if (input.canvas) return input.canvas;
  if (input.image.width && input.image.height) return { width: input.image.width, height: input.image.height };
  throw new LoupeError('LOUPE_ERR_VALIDATION', 'An explanation needs the canvas (`canvas`) or the image size (`image.width`, `image.height`) to place its map');
}

export interface ClassificationExplainDeps {
  readonly headFor: (opts: { head?: string; headVersion?: string; vocabulary?: string }) => Promise<LinearHead>;
  readonly imageEmbedder?: ((id: string) => Promise<ImageEmbedder>) | undefined;
  readonly fetchImage?: ExplanationImageFetch | undefined;
}

/** POST /v1/classify/explain: why a head (trained or zero-shot) gave a concept, computed here where the head is. */
export function classificationExplainHandler(deps: ClassificationExplainDeps) {
  return defineHandler({
    ...SERVICE_APIS.classify.explain,
    async handler(input, ctx) {
      const { imageEmbedder, fetchImage } = deps;
      if (!imageEmbedder || !fetchImage) {
        throw new LoupeError('LOUPE_ERR_NOT_READY', 'This classify service cannot explain: it was given no image fetcher or image embedder');
      }
      const started = performance.now();
      const head = await deps.headFor({
        ...(input.head !== undefined && { head: input.head }),
        ...(input.headVersion !== undefined && { headVersion: input.headVersion }),
        ...(input.vocabulary !== undefined && { vocabulary: input.vocabulary }),
      });
      const canvas = canvasOf(input);
      const region = input.region && regionInImage(input.region, input.image, input.canvas);
      const image = await fetchImage(input.image, canvas, EXPLANATION_FETCH_SIZE, region);
      const fetched = performance.now();
      const embedder = await imageEmbedder(head.embedding.model);
      const options = { ...(input.window !== undefined && { window: input.window }), ...(input.stride !== undefined && { stride: input.stride }), ...(input.baseline && { baseline: input.baseline }) };
      const map = await explainClassification(image, { embedder, head, concept: input.concept }, { ...options, signal: ctx.signal });
      const explained = performance.now();
      const overlay = await saliencyOverlayPng(image, map);
      return explainOutput(map, overlay, head, (box) => image.toCanvas(box), { fetch: fetched - started, occlusion: explained - fetched, overlay: performance.now() - explained });
    },
  });
}
