import { LoupeError, type DerivedImage, type EnhanceSettings, type EnhanceStep, type Rect } from '@loupe/contracts';
import type { CanvasImage, DerivedImages } from '@loupe/iiif';
import { cropRgb, ENHANCE_DEFAULTS, enhanceFactor, enhanceImage, rgbPng, type EnhanceCard, type EnhanceModel, type RawImage } from '@loupe/inference';

/** A card the enhancer runs, opened through the process's engine. */
export interface EnhanceModelHandle {
  readonly card: EnhanceCard & { readonly version: string; readonly task: string };
  readonly runner: EnhanceModel;
}

export interface EnhancerDeps {
  /** Opens a card by id (the process's models: checked files, one runner per card). */
  readonly open: (id: string) => Promise<EnhanceModelHandle>;
  /** Where derived images are kept; absent: this process cannot enhance. */
  readonly derived: DerivedImages | undefined;
  /** Most output pixels one enhancement may make. */
  readonly pixelBudget?: number;
  readonly now?: () => Date;
}

export const DEBLUR_MODEL = 'maxim-deblurring';
const SIZES = new Set(['slim', 'medium', 'thick']);

/** The cards an enhancement runs, in order: deblurring first, on the fewer pixels. */
export function enhanceCards(settings: EnhanceSettings): { id: string; task: EnhanceStep['task']; factor: number }[] {
  const steps: { id: string; task: EnhanceStep['task']; factor: number }[] = [];
  if (settings.deblur) steps.push({ id: DEBLUR_MODEL, task: 'deblurring', factor: 1 });
  if (settings.upscale) {
    const model = settings.model ?? 'slim';
    steps.push({ id: SIZES.has(model) ? `esrgan-${model}-x${settings.upscale}` : model, task: 'super-resolution', factor: settings.upscale });
  } else if (settings.model) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'model names the upscaler: it goes with upscale', { details: { errors: [{ path: '/model', message: 'goes with upscale' }] } });
  }
  if (steps.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'an enhancement needs deblur, upscale or both', { details: { errors: [{ path: '/upscale', message: 'deblur or upscale' }] } });
  return steps;
}

export interface Enhancer {
  /**
   * Enhances `image` (or the part `part` of it, in its pixels), keeps the result as a derived image
   * and returns its provenance. The pixel budget is checked for the last step's output before the
   * first model runs.
   */
  enhance(image: CanvasImage, settings: EnhanceSettings, opts: { part?: Rect; rotation: 0 | 90 | 180 | 270; canvas?: string; signal?: AbortSignal; working?: () => void }): Promise<DerivedImage>;
}

export function createEnhancer(deps: EnhancerDeps): Enhancer {
  const budget = deps.pixelBudget ?? ENHANCE_DEFAULTS.pixelBudget;
  const now = deps.now ?? (() => new Date());
  return {
    async enhance(image, settings, opts) {
      const plan = enhanceCards(settings);
      if (!deps.derived) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', 'this process keeps no derived images (it has no data directory)');
      const part = opts.part ?? { x: 0, y: 0, w: image.width, h: image.height };
      const factor = plan.reduce((f, s) => f * s.factor, 1);
      const out = { w: part.w * factor, h: part.h * factor };
      if (out.w * out.h > budget) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `enhancing ${part.w}x${part.h} by ${factor} makes ${out.w}x${out.h} = ${out.w * out.h} pixels, over the pixel budget of ${budget}: ask for a region, a smaller size or a smaller factor`, {
          details: { width: out.w, height: out.h, pixels: out.w * out.h, pixelBudget: budget },
        });
      }
      const models = await Promise.all(plan.map(async (step) => ({ step, model: await deps.open(step.id) })));
      for (const { step, model } of models) {
        if (model.card.task !== step.task || enhanceFactor(model.card).factor !== step.factor) {
          throw new LoupeError('LOUPE_ERR_VALIDATION', `${step.id} is a ${model.card.task} card of factor ${enhanceFactor(model.card).factor}, not ${step.task} by ${step.factor}`, {
            details: { model: step.id, task: model.card.task },
          });
        }
      }
      let pixels: RawImage = cropRgb(image, part);
      for (const { model } of models) {
        opts.working?.();
        pixels = await enhanceImage(model.runner, model.card, pixels, { pixelBudget: budget, ...(opts.signal && { signal: opts.signal }), ...(opts.working && { onProgress: opts.working }) });
      }
      const png = await rgbPng(pixels);
      return deps.derived.put(png, {
        format: 'image/png',
        width: pixels.width,
        height: pixels.height,
        source: image.sizedRequest,
        ...(opts.canvas && { canvas: opts.canvas }),
        image: { width: image.imageSize.width, height: image.imageSize.height },
        canvasRegion: rounded(image.toCanvas(part)),
        imageRegion: image.toImage(part),
        rotation: opts.rotation,
        factor,
        steps: models.map(({ step, model }) => ({ task: step.task, model: model.card.id, version: model.card.version, factor: step.factor })),
        created: now().toISOString(),
      });
    },
  };
}

const rounded = (r: Rect): Rect => ({ x: round2(r.x), y: round2(r.y), w: round2(r.w), h: round2(r.h) });
const round2 = (v: number): number => Math.round(v * 100) / 100;
