import { Type, type Static } from '@sinclair/typebox';
import { Rect } from './task.js';

/**
 * A page of text as an OCR engine read it, in image pixels: blocks in reading order, their lines,
 * and each line's words with confidences (0..1). Text is Unicode NFC. The shape behind the W3C
 * annotations, ALTO and hOCR that Loupe writes.
 */
export const OcrWord = Type.Object({ text: Type.String(), box: Rect, confidence: Type.Number({ minimum: 0, maximum: 1 }) });
export type OcrWord = Static<typeof OcrWord>;

export const OcrLine = Type.Object({
  text: Type.String(),
  box: Rect,
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  words: Type.Array(OcrWord),
  /** The language model that read the line (an ISO 639-3 code as Tesseract names it: fra, deu, frk...). */
  language: Type.Optional(Type.String()),
});
export type OcrLine = Static<typeof OcrLine>;

export const OcrBlock = Type.Object({
  box: Rect,
  /** What the layout shows the block is, when it shows it. */
  role: Type.Union([Type.Literal('heading'), Type.Literal('body'), Type.Literal('caption'), Type.Literal('other')]),
  lines: Type.Array(OcrLine),
});
export type OcrBlock = Static<typeof OcrBlock>;

export const OcrPage = Type.Object(
  {
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    /** The engine and version that read the page (its model card's id and version). */
    engine: Type.Object({ id: Type.String(), version: Type.String() }),
    /** Language models used, in the order they were given to the engine. */
    languages: Type.Array(Type.String()),
    /** In reading order (columns left to right, each top to bottom). */
    blocks: Type.Array(OcrBlock),
  },
  { $id: 'OcrPage' },
);
export type OcrPage = Static<typeof OcrPage>;
