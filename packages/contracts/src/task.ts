import { Type, type Static } from '@sinclair/typebox';

/** An Image API service as a manifest points at it. `id` is the base URI (no /info.json). */
export const ImageServiceRef = Type.Object(
  {
    id: Type.String(),
    version: Type.Union([Type.Literal(1), Type.Literal(2), Type.Literal(3)]),
    level: Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2), Type.Null()]),
    profile: Type.Optional(Type.String()),
  },
  { $id: 'ImageServiceRef' },
);
export type ImageServiceRef = Static<typeof ImageServiceRef>;

// No $id: a schema may hold several rectangles, and repeated ids break serialisation.
export const Rect = Type.Object({ x: Type.Number(), y: Type.Number(), w: Type.Number(), h: Type.Number() });
export type Rect = Static<typeof Rect>;

/** One image painted on a canvas: through its Image API service when it has one, else its plain URL. */
export const ImageRef = Type.Object(
  {
    id: Type.String({ description: 'The image resource URL' }),
    format: Type.Optional(Type.String()),
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
    service: Type.Optional(ImageServiceRef),
    /** Where on the canvas the image is painted, in canvas units; absent means the whole canvas. */
    target: Type.Optional(Rect),
    /** The part of the image that is painted, in image pixels (a SpecificResource selector); absent: all of it. */
    region: Type.Optional(Rect),
    /** Clockwise rotation applied to the (region of the) image before it is painted. */
    rotation: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)])),
    /** Label of the Choice option this image is, when it is one. */
    choice: Type.Optional(Type.String()),
  },
  { $id: 'ImageRef' },
);
export type ImageRef = Static<typeof ImageRef>;

/** The unit of pipeline work: one image on one canvas of one manifest. */
export const CanvasTask = Type.Object(
  {
    jobId: Type.String(),
    manifestId: Type.String(),
    canvasId: Type.String(),
    canvasIndex: Type.Integer({ minimum: 0 }),
    canvasLabel: Type.String(),
    canvasWidth: Type.Integer({ minimum: 0 }),
    canvasHeight: Type.Integer({ minimum: 0 }),
    imageIndex: Type.Integer({ minimum: 0 }),
    image: ImageRef,
    /** The manifest's rights statement or licence URI, when it gives one. */
    rights: Type.Optional(Type.String()),
    /** The IIIF collections the manifest was harvested through, outermost first. */
    collections: Type.Optional(Type.Array(Type.String())),
    /**
     * The languages the canvas's text is in, as the manifest says (its metadata, or a language on
     * the canvas): ISO 639-3 codes as Tesseract names its models (fra, deu, lat...), first the main one.
     */
    languages: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]{3}$' }))),
  },
  { $id: 'CanvasTask' },
);
export type CanvasTask = Static<typeof CanvasTask>;

/** Stable key of a task inside a job: de-duplication and progress use it. */
export function taskKey(task: Pick<CanvasTask, 'canvasId' | 'imageIndex'>): string {
  return `${task.canvasId}#${task.imageIndex}`;
}
