/**
 * Heads that read tiles (LinearHead.input.tiles, e.g. the watermark head): the image fetched at
 * the head's size, cut into its tiles (tileRects of @loupe/heads), each tile embedded here, and
 * the image answered by the tile most confident in the head's positive concept. `loupe train
 * --tiles` embeds its examples through tileVectors too, so a head reads the tiles it learned on.
 */
import { LoupeError, type ImageRef, type Rect } from '@loupe/contracts';
import { mostPositiveTile, predict, tileRects, type LinearHead, type TileRect, type TileSpec } from '@loupe/heads';
import type { ImageEmbedder, RawImage } from '@loupe/inference';
import type { ExplanationImageFetch } from './classification.explain.handler.js';

/** `rect`'s pixels of an RGB image. */
export function cropRgb(image: RawImage, rect: TileRect): RawImage {
  const data = new Uint8Array(rect.w * rect.h * 3);
  for (let y = 0; y < rect.h; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 3;
    data.set(image.data.subarray(from, from + rect.w * 3), y * rect.w * 3);
  }
  return { data, width: rect.w, height: rect.h };
}

/** One vector per tile of `image` (already fitted to spec.fit), in tileRects order; the engine batches them. */
export async function tileVectors(image: RawImage, spec: TileSpec, embedder: ImageEmbedder): Promise<{ rects: TileRect[]; vectors: Float32Array[] }> {
  const rects = tileRects(image.width, image.height, spec);
  const vectors = await Promise.all(rects.map((r) => embedder.embed(cropRgb(image, r))));
  return { rects, vectors };
}

export interface TiledDeps {
  readonly fetchImage?: ExplanationImageFetch | undefined;
  readonly imageEmbedder?: ((id: string) => Promise<ImageEmbedder>) | undefined;
}

/**
 * A tiled head's probabilities for one image: those of its most positive tile. `canvas` only
 * places the fetch; without one the image's own size (or a unit canvas) stands for it.
 */
export async function classifyTiled(
  head: LinearHead & { input: { tiles: TileSpec } },
  image: ImageRef,
  canvas: { width: number; height: number } | undefined,
  region: Rect | undefined,
  deps: TiledDeps,
): Promise<{ probs: Float32Array; request: string; tiles: number; tile: TileRect; ms: { fetch: number; embed: number } }> {
  if (!deps.fetchImage || !deps.imageEmbedder) {
    throw new LoupeError('LOUPE_ERR_NOT_READY', `Head ${head.id} reads tiles of the image: this classify service was given no image fetcher or image embedder`);
  }
  const spec = head.input.tiles;
  const started = performance.now();
  const embedder = await deps.imageEmbedder(head.embedding.model);
  if (embedder.model.version !== head.embedding.version) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `Head ${head.id} ${head.version} runs on ${head.embedding.model} ${head.embedding.version}; this process has ${embedder.model.version}: train the head again`, {
      details: { head: head.id, version: head.version, wanted: head.embedding, got: embedder.model },
    });
  }
  const place = canvas ?? (image.width && image.height ? { width: image.width, height: image.height } : { width: 1, height: 1 });
  const fetched = await deps.fetchImage(image, place, spec.fit, region);
  const fetchedAt = performance.now();
  const { rects, vectors } = await tileVectors(fetched, spec, embedder);
  const probs = vectors.map((v) => predict(head, v));
  const best = mostPositiveTile(probs, head.classes.findIndex((c) => c.concept === spec.positive));
  const request = (fetched as { request?: unknown }).request;
  return {
    probs: probs[best]!,
    request: typeof request === 'string' ? request : image.id,
    tiles: rects.length,
    tile: rects[best]!,
    ms: { fetch: fetchedAt - started, embed: performance.now() - fetchedAt },
  };
}
