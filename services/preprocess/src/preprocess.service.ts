import { Type, type Static } from '@sinclair/typebox';
import { EnhanceSettings, LoupeError, PreparedImage, SERVICE_APIS, defineHandler, type FoundTextLine, type ServiceDefinition } from '@loupe/contracts';
import { fetchCanvasImage, type Fetcher } from '@loupe/iiif';
import { maskPng, type FoundLines, type Foreground, type RawImage } from '@loupe/inference';
import { enhanceHandler } from './enhance.handler.js';
import { createEnhancer, type EnhancerDeps } from './image-enhancer.js';

/**
 * Finds the page's text lines and whether it reads upright or upside down from them (PP-OCR's
 * detector and line classifier): the one detection pass of the page, whose lines the text stage reads.
 */
export interface TextLines {
  findLines(image: RawImage, opts?: { signal?: AbortSignal }): Promise<FoundLines>;
}

/** A whole-image orientation model (a card of task `orientation`). */
export interface OrientationModel {
  classify(image: RawImage, opts?: { signal?: AbortSignal }): Promise<{ rotation: 0 | 90 | 180 | 270; confidence: number }>;
}

/** Finds the object on a backdrop (background removal). */
export interface ForegroundFinder {
  find(image: RawImage): Promise<Foreground>;
}

export interface PreprocessDeps {
  readonly fetcher: Fetcher;
  readonly fetchSize?: number;
  /** Loaded on first use: a pipeline that never asks for it never pays for it. */
  readonly textLines?: () => Promise<TextLines>;
  /** The orientation model configured (LOUPE_ORIENTATION_MODEL), if any. */
  readonly orientationModel?: () => Promise<OrientationModel>;
  readonly foreground?: () => Promise<ForegroundFinder>;
  /** Opens enhancement cards (ESRGAN, MAXIM); the derived images go to the fetcher's store. */
  readonly enhance?: Omit<EnhancerDeps, 'derived'>;
}

export const PreprocessOptions = Type.Object({
  /**
   * 'exif': EXIF only. 'text': find the page's text lines (handed on to the text stage) and decide
   * 0/180 degrees from them when EXIF says nothing. 'model': ask the configured orientation model (0/90/180/270) when EXIF says nothing.
   */
  orientation: Type.Optional(Type.Union([Type.Literal('exif'), Type.Literal('text'), Type.Literal('model')])),
  /** Find the object on its backdrop and hand its region to later stages. */
  foreground: Type.Optional(Type.Boolean()),
  /** Return the background-removal mask as a PNG (base64). */
  mask: Type.Optional(Type.Boolean()),
  /** Deblur and/or upscale the image; later stages read the derived image instead (docs/enhance.md). */
  enhance: Type.Optional(EnhanceSettings),
});
export type PreprocessOptions = Static<typeof PreprocessOptions>;

/** Its schema lives in contracts, beside the stages that read it. */
export { PreparedImage };

/**
 * The first stage of every pipeline: makes the job's one request for the image, at the size later
 * models need (named in its result as `fetch`: later stages ask for the same URL, which the fetch
 * cache answers, and resize locally), applies EXIF orientation, converts to sRGB, and fails early
 * — with the reason — on an image that cannot be used. On request it decides whether a page is upside down
 * from its text lines, and finds the object on a backdrop (a coin on cloth becomes the coin); both
 * results travel as a IIIF rotation and region that later stages put in their own requests.
 */
export function createPreprocessService(deps: PreprocessDeps): ServiceDefinition {
  const fetchSize = deps.fetchSize ?? 2048;
  let orientation: Promise<TextLines> | undefined;
  let foreground: Promise<ForegroundFinder> | undefined;
  let orientationModel: Promise<OrientationModel> | undefined;
  const state = {
    orientation: 'not loaded (loads on first use)',
    orientationModel: deps.orientationModel ? 'not loaded (loads on first use)' : 'none configured',
    foreground: 'not loaded (loads on first use)',
  };
  const names = { orientation: 'text lines', orientationModel: 'orientation (LOUPE_ORIENTATION_MODEL)', foreground: 'background removal' };
  const enhancer = () => {
    if (!deps.enhance) throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', 'no enhancement models are configured for preprocess');
    return createEnhancer({ ...deps.enhance, derived: deps.fetcher.derived });
  };

  const load = <T>(what: keyof typeof state, factory: (() => Promise<T>) | undefined): Promise<T> => {
    if (!factory) return Promise.reject(new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `no ${names[what]} model is configured for preprocess`));
    return factory().then(
      (model) => {
        state[what] = 'loaded';
        return model;
      },
      (err: unknown) => {
        state[what] = 'failed';
        throw err;
      },
    );
  };

  const prepare = defineHandler({
    ...SERVICE_APIS.preprocess.prepare,
    async handler({ task, options }, ctx) {
      const opts = options as PreprocessOptions;
      // The job's one request: every later stage asks for the same URL (the fetch cache answers) and resizes locally.
      const shared = { fit: { width: fetchSize, height: fetchSize } };
      const fetched = await fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, shared);
      const out: PreparedImage = {
        request: fetched.request,
        fetch: shared,
        width: fetched.width,
        height: fetched.height,
        exifOrientation: fetched.exifOrientation,
        canvasRegion: fetched.canvasRegion,
        fromCache: fetched.fromCache,
        rotation: 0,
        orientation: { source: fetched.exifOrientation !== 1 ? 'exif' : 'none' },
      };
      if (opts.orientation === 'text') {
        ctx.working();
        const found = await (await (orientation ??= load('orientation', deps.textLines))).findLines(fetched, { signal: ctx.signal });
        // EXIF first: a tagged photograph is already upright; only an untagged page turns by its lines.
        if (fetched.exifOrientation === 1 && found.lines.length > 0) {
          const { angle, lines, upright, upsideDown } = found.orientation;
          out.orientation = { source: 'text-lines', lines, upright, upsideDown };
          out.rotation = angle;
        }
        out.text = { width: fetched.width, height: fetched.height, lines: found.lines.map((line) => asFetchedLater(line, out.rotation, fetched)) };
      }
      if (opts.orientation === 'model' && fetched.exifOrientation === 1) {
        ctx.working();
        const found = await (await (orientationModel ??= load('orientationModel', deps.orientationModel))).classify(fetched, { signal: ctx.signal });
        out.orientation = { source: 'model', confidence: Math.round(found.confidence * 10_000) / 10_000 };
        out.rotation = found.rotation;
      }
      if (opts.foreground || opts.mask) {
        ctx.working();
        const fg = await (await (foreground ??= load('foreground', deps.foreground))).find(fetched);
        out.foreground = { coverage: Math.round(fg.coverage * 10_000) / 10_000 };
        if (fg.region) {
          const r = fetched.toImage(fg.region);
          const region = { x: Math.floor(r.x), y: Math.floor(r.y), w: Math.ceil(r.w), h: Math.ceil(r.h) };
          out.region = region;
          out.iiifRegion = `${region.x},${region.y},${region.w},${region.h}`;
          out.foreground.canvasRegion = fetched.toCanvas(fg.region);
        }
        if (opts.mask) out.mask = { format: 'image/png', width: fg.mask.width, height: fg.mask.height, data: (await maskPng(fg.mask)).toString('base64') };
      }
      if (opts.enhance) {
        ctx.working();
        // The whole fetched image: a region found above still applies, cut from the derived pixels.
        out.enhanced = await enhancer().enhance(fetched, opts.enhance, { rotation: task.image.rotation ?? 0, canvas: task.canvasId, signal: ctx.signal, working: () => ctx.working() });
      }
      return out;
    },
  });
  return {
    name: 'preprocess',
    version: '0.1.0',
    description: 'Fetches images through IIIF at the size models need; orientation, colour space, background removal',
    handlers: [prepare, enhanceHandler(deps.fetcher, enhancer)],
    readiness: () => ({ ...state }),
  };
}

/**
 * A line as later stages see it: they fetch the same request turned by `rotation` (0 or 180 here),
 * so a half turn maps each corner through the image's centre and the line reads the other way up.
 */
function asFetchedLater(line: FoundLines['lines'][number], rotation: number, image: { width: number; height: number }): FoundTextLine {
  const round1 = (v: number): number => Math.round(v * 10) / 10;
  const polygon = line.polygon.map(([x, y]): [number, number] => (rotation === 180 ? [round1(image.width - x), round1(image.height - y)] : [round1(x), round1(y)]));
  const angle = rotation === 180 ? (line.angle === 180 ? 0 : 180) : line.angle;
  return { polygon, angle };
}
