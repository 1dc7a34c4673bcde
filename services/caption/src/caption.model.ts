import { LoupeError, type CaptionImageOutput, type ImageRef, type ModelRef } from '@loupe/contracts';
import { fetchCanvasImage, type FetchHints, type Fetcher } from '@loupe/iiif';
import { createImageCaptioner, findModel, type Engine, type ImageCaptioner, type ModelRegistryLike } from '@loupe/inference';

/** Opens captioning card `id` (its encoder and decoder through the engine, its vocabulary), or says why it cannot. */
export type OpenCaptioner = (id: string) => Promise<ImageCaptioner>;

export interface ModelCaptionRequest {
  readonly modelId: string;
  readonly image: ImageRef;
  /** The canvas the image is painted on; the image's own size when absent. */
  readonly canvas: { readonly width: number; readonly height: number } | undefined;
  readonly beams?: number | undefined;
  readonly maxTokens?: number | undefined;
  readonly hints?: FetchHints;
  readonly signal?: AbortSignal;
}

/** What the caption service needs to run a captioning model; without it, only the composed caption. */
export interface ModelCaptioning {
  readonly open: OpenCaptioner;
  readonly fetcher: Fetcher;
}

/**
 * Fetches the image at the size the model reads (its short side at least the card's input size,
 * then stretched as the card says) and captions it. The model is checked first, so a model that
 * is not installed is said before anything is fetched.
 */
export async function captionWithModel(models: ModelRegistryLike, captioning: ModelCaptioning | undefined, req: ModelCaptionRequest): Promise<CaptionImageOutput> {
  findModel(models, 'captioning', req.modelId);
  if (!captioning) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `captioning model ${JSON.stringify(req.modelId)} is installed, but this caption service was started without an inference engine`, {
      details: { model: req.modelId },
    });
  }
  const captioner = await captioning.open(req.modelId);
  const { width, height } = captioner.inputSize;
  const canvas = req.canvas ?? (req.image.width && req.image.height ? { width: req.image.width, height: req.image.height } : { width, height });
  const image = await fetchCanvasImage(captioning.fetcher, req.image, canvas, { shortSide: Math.max(width, height) }, req.hints ?? {});
  const caption = await captioner.caption(image, {
    ...(req.beams !== undefined && { beams: req.beams }),
    ...(req.maxTokens !== undefined && { maxTokens: req.maxTokens }),
    ...(req.signal && { signal: req.signal }),
  });
  const model: ModelRef = { ...captioner.model, runtime: 'onnxruntime' };
  return { model, caption, request: image.request };
}

/**
 * Captioners made on first use, one per card; a failed open is forgotten, so that a model pulled
 * (or mended) later is used without a restart. The runners of a card whose files do not match it
 * are closed again.
 */
export function captionersOver(registry: ModelRegistryLike, engine: Engine): OpenCaptioner {
  const opened = new Map<string, Promise<ImageCaptioner>>();
  async function open(id: string): Promise<ImageCaptioner> {
    findModel(registry, 'captioning', id);
    const { card, files } = await registry.resolve(id);
    const loads = await Promise.allSettled([engine.load(card, files, { role: 'encoder' }), engine.load(card, files, { role: 'decoder' })]);
    const runners = loads.flatMap((l) => (l.status === 'fulfilled' ? [l.value] : []));
    try {
      const failed = loads.find((l) => l.status === 'rejected');
      if (failed) throw failed.reason;
      return await createImageCaptioner({ encoder: runners[0]!, decoder: runners[1]!, files });
    } catch (err) {
      await Promise.all(runners.map((r) => r.close()));
      throw err;
    }
  }
  return (id) => {
    let captioner = opened.get(id);
    if (!captioner) {
      captioner = open(id);
      opened.set(id, captioner);
      captioner.catch(() => opened.delete(id));
    }
    return captioner;
  };
}
