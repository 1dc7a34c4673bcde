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
  },
  { $id: 'PreparedImage' },
);
export type PreparedImage = Static<typeof PreparedImage>;
