import type { OcrBlock, OcrLine, OcrPage, OcrWord, Rect } from '@loupe/contracts';
import type Tesseract from 'tesseract.js';

/**
 * Tesseract's block tree as an OcrPage. Each Tesseract paragraph becomes one OcrBlock: the
 * contract has no paragraph level, and a paragraph is what ALTO and hOCR call a text block.
 * Tesseract gives blocks in its reading order (columns left to right), which is kept.
 */
export function toOcrPage(
  blocks: readonly Tesseract.Block[] | null,
  page: { width: number; height: number; engine: OcrPage['engine']; languages: readonly string[] },
): OcrPage {
  // Tesseract does not say which of several models read a word, only the set that read the page.
  const language = page.languages.join('+');
  const out: OcrBlock[] = [];
  for (const block of blocks ?? []) {
    const role = roleOf(block.blocktype);
    for (const paragraph of block.paragraphs) {
      const lines = paragraph.lines.map((line) => toLine(line, language)).filter((line) => line.words.length > 0);
      if (lines.length > 0) out.push({ box: rect(paragraph.bbox), role, lines });
    }
  }
  return { width: page.width, height: page.height, engine: page.engine, languages: [...page.languages], blocks: out };
}

function toLine(line: Tesseract.Line, language: string): OcrLine {
  const words: OcrWord[] = line.words
    .map((w) => ({ text: w.text.normalize('NFC').trim(), box: rect(w.bbox), confidence: unit(w.confidence) }))
    .filter((w) => w.text !== '');
  return { text: words.map((w) => w.text).join(' '), box: rect(line.bbox), confidence: unit(line.confidence), words, language };
}

/**
 * Tesseract's PolyBlockType (ccstruct/publictypes.h); the JSON carries its number, the typings
 * claim a name, so both are read.
 */
const BLOCK_TYPES = ['UNKNOWN', 'FLOWING_TEXT', 'HEADING_TEXT', 'PULLOUT_TEXT', 'EQUATION', 'INLINE_EQUATION', 'TABLE', 'VERTICAL_TEXT', 'CAPTION_TEXT'];

function roleOf(blocktype: string | number): OcrBlock['role'] {
  const name = typeof blocktype === 'number' ? BLOCK_TYPES[blocktype] : blocktype.replace(/^PT_/, '');
  switch (name) {
    case 'FLOWING_TEXT':
    case 'PULLOUT_TEXT':
    case 'VERTICAL_TEXT':
      return 'body';
    case 'HEADING_TEXT':
      return 'heading';
    case 'CAPTION_TEXT':
      return 'caption';
    default:
      return 'other';
  }
}

function rect(b: Tesseract.Bbox): Rect {
  return { x: b.x0, y: b.y0, w: b.x1 - b.x0, h: b.y1 - b.y0 };
}

/** Tesseract's 0..100 as the contract's 0..1; it reports -1 for what it did not score. */
export function unit(confidence: number): number {
  return Math.min(1, Math.max(0, confidence / 100));
}
