import { Type, type Static } from '@sinclair/typebox';
import { Rect } from './task.js';

/**
 * The one Image API request a job makes for a canvas image: the image fitted inside this box.
 * The first stage plans it big enough for every later stage and names it in its result; later
 * stages ask the fetcher for the same planned URL (its cache answers, in this process or another
 * sharing LOUPE_DATA_DIR) and resize locally to their own size, so the bytes come over once.
 */
export const FetchTarget = Type.Object(
  { fit: Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }) },
  { description: 'The request the whole job shares: the canvas image fitted inside width x height' },
);
export type FetchTarget = Static<typeof FetchTarget>;

/**
 * A text line preprocess found while deciding the page's orientation: its corners from the text's
 * own top-left, clockwise as it reads, and whether it reads upside down in the frame.
 */
export const FoundTextLine = Type.Object({
  polygon: Type.Array(Type.Tuple([Type.Number(), Type.Number()]), { minItems: 4, maxItems: 4 }),
  angle: Type.Union([Type.Literal(0), Type.Literal(180)]),
});
export type FoundTextLine = Static<typeof FoundTextLine>;

/** The ESRGAN card family an upscale runs with: slim is the fastest on a CPU, thick the best. */
export const ENHANCE_MODEL_SIZES = ['slim', 'medium', 'thick'] as const;
export const ENHANCE_FACTORS = [2, 3, 4, 8] as const;

/** What an enhancement does: deblur (MAXIM) and/or upscale (ESRGAN), deblurring first when both. */
export const EnhanceSettings = Type.Object(
  {
    deblur: Type.Optional(Type.Boolean({ description: 'Deblur with maxim-deblurring (before any upscale)' })),
    upscale: Type.Optional(Type.Union(ENHANCE_FACTORS.map((f) => Type.Literal(f)), { description: 'Upscale by this factor with esrgan-<model>-x<factor>' })),
    model: Type.Optional(
      Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 100, description: 'slim (default), medium or thick: esrgan-<model>-x<upscale>; or the id of an installed super-resolution card' }),
    ),
  },
  { additionalProperties: false },
);
export type EnhanceSettings = Static<typeof EnhanceSettings>;

/** One model an enhancement ran, in order. */
export const EnhanceStep = Type.Object({
  task: Type.Union([Type.Literal('deblurring'), Type.Literal('super-resolution')]),
  model: Type.String(),
  version: Type.String(),
  factor: Type.Integer({ minimum: 1 }),
});
export type EnhanceStep = Static<typeof EnhanceStep>;

/**
 * A derived image's provenance (the sidecar beside it, GET /v1/derived/{id}.json): what it was
 * made from, of which part, by which models. Its id is the sha256 of its PNG bytes.
 */
export const DerivedImage = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    format: Type.Literal('image/png'),
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    source: Type.String({ description: 'The Image API request (or plain URL) whose pixels were enhanced' }),
    canvas: Type.Optional(Type.String({ description: 'The canvas the image is painted on, when known' })),
    image: Type.Object({ width: Type.Integer(), height: Type.Integer() }, { description: "The source image's full size in pixels" }),
    canvasRegion: Rect,
    imageRegion: Type.Object({ ...Rect.properties }, { description: 'The part of the source image (its full-size pixels) the derived image shows' }),
    /** Degrees the derived pixels are turned from the image as stored (the painted rotation). */
    rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
    factor: Type.Integer({ minimum: 1, description: 'Derived pixels per pixel of the source request' }),
    steps: Type.Array(EnhanceStep, { minItems: 1 }),
    created: Type.String({ description: 'When it was made (ISO 8601, UTC)' }),
  },
  { description: 'A derived image and its provenance' },
);
export type DerivedImage = Static<typeof DerivedImage>;

/** What preprocess hands on: the first stage's result, which later stages read for their fetch. */
export const PreparedImage = Type.Object(
  {
    request: Type.String({ description: 'The Image API request (or plain URL) that was fetched' }),
    width: Type.Integer(),
    height: Type.Integer(),
    exifOrientation: Type.Integer({ description: 'EXIF orientation that was applied (1 = none)' }),
    canvasRegion: Rect,
    fromCache: Type.Boolean(),
    /** The request later stages share (absent from results written before it was added: they fetch their own). */
    fetch: Type.Optional(FetchTarget),
    /** Clockwise IIIF rotation later stages apply to their own requests to see the image upright. */
    rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
    orientation: Type.Object({
      source: Type.Union([Type.Literal('none'), Type.Literal('exif'), Type.Literal('text-lines'), Type.Literal('model')]),
      confidence: Type.Optional(Type.Number()),
      lines: Type.Optional(Type.Integer()),
      upright: Type.Optional(Type.Integer()),
      upsideDown: Type.Optional(Type.Integer()),
    }),
    /** The object's bounding box in image pixels: a IIIF region later stages fetch instead of the whole image. */
    region: Type.Optional(Rect),
    /** The same region as a IIIF Image API region parameter (x,y,w,h). */
    iiifRegion: Type.Optional(Type.String()),
    foreground: Type.Optional(Type.Object({ coverage: Type.Number(), canvasRegion: Type.Optional(Rect) })),
    /**
     * The text lines of the page, found once (orientation reads them; the text stage reads their
     * words): in the pixels of the shared request as later stages fetch it, turned by `rotation`,
     * `width` x `height`. Absent when preprocess did not look for text; empty lines: no text.
     */
    text: Type.Optional(Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }), lines: Type.Array(FoundTextLine) })),
    mask: Type.Optional(Type.Object({ format: Type.Literal('image/png'), width: Type.Integer(), height: Type.Integer(), data: Type.String({ contentEncoding: 'base64' }) })),
    /**
     * The job asked for enhancement: the derived image later stages fetch instead of the IIIF
     * image (fetchCanvasImage), mapping what they find back to the canvas through its regions.
     */
    enhanced: Type.Optional(DerivedImage),
  },
  { $id: 'PreparedImage' },
);
export type PreparedImage = Static<typeof PreparedImage>;
