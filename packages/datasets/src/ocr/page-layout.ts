import { languageTag, type OcrBlock, type OcrPage, type Rect } from '@loupe/contracts';

/** Integer pixel corners, x1 and y1 exclusive: what ALTO and hOCR both write. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface LaidOutWord {
  text: string;
  box: PixelBox;
  confidence: number;
}

export interface LaidOutLine {
  box: PixelBox;
  confidence: number;
  /** BCP 47; absent when unknown. */
  language?: string;
  words: LaidOutWord[];
}

export interface LaidOutBlock {
  role: OcrBlock['role'];
  box: PixelBox;
  /** BCP 47, when every line of the block is known to be in it. */
  language?: string;
  lines: LaidOutLine[];
}

export interface LaidOutPage {
  width: number;
  height: number;
  /** BCP 47 tags of the language models, in the engine's order, without repeats or non-languages. */
  languages: string[];
  blocks: LaidOutBlock[];
}

/**
 * An OcrPage as both writers lay it out. Corners are rounded (each on its own, so rounding never
 * grows a box twice) and clamped to the image. A line's box is widened to hold its words and a
 * block's to hold its lines, because engines report boxes from different passes that disagree by
 * a pixel or two, and a viewer that crops by the parent must never cut a word. A line the engine
 * gave without words is written as one word, so no line the detector found goes missing.
 */
export function layOutPage(page: OcrPage): LaidOutPage {
  const clampX = (v: number): number => Math.min(page.width, Math.max(0, Math.round(v)));
  const clampY = (v: number): number => Math.min(page.height, Math.max(0, Math.round(v)));
  const pixels = (r: Rect): PixelBox => {
    const x0 = clampX(r.x);
    const y0 = clampY(r.y);
    return { x0, y0, x1: Math.max(x0, clampX(r.x + r.w)), y1: Math.max(y0, clampY(r.y + r.h)) };
  };
  // A page read with one language model was read in that language even where a line does not say so.
  const onlyModel = page.languages.length === 1 ? page.languages[0] : undefined;

  const blocks = page.blocks.map((block): LaidOutBlock => {
    const lines = block.lines.map((line): LaidOutLine => {
      const words = (line.words.length > 0 ? line.words : [{ text: line.text, box: line.box, confidence: line.confidence }]).map((w) => ({
        text: w.text,
        box: pixels(w.box),
        confidence: unitInterval(w.confidence),
      }));
      const model = line.language ?? onlyModel;
      const language = model === undefined ? undefined : languageTag(model);
      return { box: union(pixels(line.box), ...words.map((w) => w.box)), confidence: unitInterval(line.confidence), ...(language !== undefined && { language }), words };
    });
    const first = lines[0]?.language;
    const language = first !== undefined && lines.every((l) => l.language === first) ? first : undefined;
    return { role: block.role, box: union(pixels(block.box), ...lines.map((l) => l.box)), ...(language !== undefined && { language }), lines };
  });

  const languages = [...new Set(page.languages.map(languageTag).filter((t): t is string => t !== undefined))];
  return { width: page.width, height: page.height, languages, blocks };
}

export function union(first: PixelBox, ...rest: PixelBox[]): PixelBox {
  return rest.reduce(
    (a, b) => ({ x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) }),
    first,
  );
}

/** NaN, which no schema can hold, reads as no confidence at all. */
function unitInterval(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}
