import type { OcrLine, OcrWord, Rect } from '@loupe/contracts';
import type Tesseract from 'tesseract.js';
import { cropQuad, polygonBox, type Quad, type RawImage } from '../image-ops.js';
import { unit } from './tesseract-page.js';

/**
 * Lines another detector found, laid one under the other at the height Tesseract reads best, so
 * that one `recognize` reads a whole page of them with no layout analysis of its own; what it
 * reads comes back to the line whose strip it falls in, in the page's pixels.
 */

/**
 * A line as PP-OCR's detector gives it (or preprocess hands it on): its corners in image pixels and
 * whether it reads upside down; its box, when not given, is the one around the corners.
 */
export interface LineToStack {
  polygon: readonly (readonly [number, number])[];
  box?: Rect;
  angle: 0 | 180;
}

/** The line's box in image pixels: the given one, or the one around its corners. */
export function boxOf(line: LineToStack): Rect {
  return line.box ?? polygonBox(line.polygon);
}

export interface StackLayout {
  /** Height each line's box is scaled to. */
  lineHeight: number;
  /** Margin left and right of each box before it is cut, as a fraction of its height. */
  margin: number;
  /**
   * Margin above and below, as a fraction of its height. PP-OCR's boxes already hold a margin and
   * overlap the next line's ascenders in tight newspaper columns: more brings the neighbours in.
   */
  marginY: number;
  /** Tallest stack Tesseract is given at once; a page with more lines is read in several. */
  maxHeight: number;
  /** Widest strip: a very long, very thin line is scaled less rather than made wider than this. */
  maxWidth: number;
}

/**
 * Measured on the quality references' regions (read-lines.measure.ts): lines 40 px high read the
 * newspaper column at CER 0.029, where 32 px gave 0.076 and 48 px 0.109; 48 px read the French
 * page a little better (0.120 against 0.133). Tesseract asks for an x-height of 20 px or more,
 * about half a detected line's box.
 */
export const STACK_LAYOUT: StackLayout = { lineHeight: 40, margin: 0.2, marginY: 0, maxHeight: 12000, maxWidth: 6000 };

/** Where one line sits in a stack: the region of the image it was cut from and its strip. */
interface Slot {
  line: number;
  source: Rect;
  angle: 0 | 180;
  top: number;
  width: number;
  height: number;
}

export interface Stack {
  slots: Slot[];
  width: number;
  height: number;
}

/** White around and between the strips: Tesseract needs space to tell one line from the next. */
const PAD = 16;

/** Plans the stacks for a page's lines, in their order; lines with no pixels in the image get no slot. */
export function planStacks(lines: readonly LineToStack[], image: { width: number; height: number }, layout = STACK_LAYOUT): Stack[] {
  const gap = Math.round(layout.lineHeight / 2);
  const stacks: Stack[] = [];
  let current: Stack = { slots: [], width: 0, height: PAD };
  lines.forEach((line, i) => {
    const box = boxOf(line);
    const source = cutRegion(box, layout, image);
    if (!source || box.h < 1) return;
    const scale = Math.min(layout.lineHeight / box.h, layout.maxWidth / source.w);
    const width = Math.max(1, Math.round(source.w * scale));
    const height = Math.max(1, Math.round(source.h * scale));
    if (current.slots.length > 0 && current.height + height + PAD > layout.maxHeight) {
      stacks.push(finish(current));
      current = { slots: [], width: 0, height: PAD };
    }
    current.slots.push({ line: i, source, angle: line.angle, top: current.height, width, height });
    current.width = Math.max(current.width, width);
    current.height += height + gap;
  });
  if (current.slots.length > 0) stacks.push(finish(current));
  return stacks;

  function finish(stack: Stack): Stack {
    return { slots: stack.slots, width: stack.width + 2 * PAD, height: stack.height - gap + PAD };
  }
}

/** The line's box grown by the margin and kept inside the image; undefined when nothing is left. */
function cutRegion(box: Rect, { margin, marginY }: StackLayout, image: { width: number; height: number }): Rect | undefined {
  const mx = margin * box.h;
  const my = marginY * box.h;
  const x0 = Math.max(0, Math.floor(box.x - mx));
  const y0 = Math.max(0, Math.floor(box.y - my));
  const x1 = Math.min(image.width, Math.ceil(box.x + box.w + mx));
  const y1 = Math.min(image.height, Math.ceil(box.y + box.h + my));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** Draws one stack: each line's region upright (turned half a turn when it reads upside down) on white. */
export async function drawStack(image: RawImage, stack: Stack): Promise<RawImage> {
  const data = new Uint8Array(stack.width * stack.height * 3).fill(255);
  for (const slot of stack.slots) {
    const strip = whitened(cropQuad(image, uprightQuad(slot), slot.width, slot.height));
    const rowBytes = slot.width * 3;
    for (let row = 0; row < slot.height; row++) {
      data.set(strip.data.subarray(row * rowBytes, (row + 1) * rowBytes), ((slot.top + row) * stack.width + PAD) * 3);
    }
    // Cutting a page's lines holds the main thread for a while: let what waits run between lines.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { data, width: stack.width, height: stack.height };
}

/**
 * The strip in grey with its paper made white and its ink kept dark. Tesseract binarises the stack
 * as a whole: grey paper between white gaps went black with the ink, and nothing was read.
 */
function whitened(strip: RawImage): RawImage {
  const n = strip.width * strip.height;
  const grey = new Uint8Array(n);
  for (let i = 0; i < n; i++) grey[i] = luma(strip.data, i * 3);
  const histogram = new Uint32Array(256);
  for (const v of grey) histogram[v]!++;
  const ink = percentile(histogram, n, 0.02);
  const paper = percentile(histogram, n, 0.9);
  const data = new Uint8Array(n * 3);
  // A strip with no contrast has nothing to read: blank, not its noise stretched into specks.
  if (paper - ink < MIN_CONTRAST) return { data: data.fill(255), width: strip.width, height: strip.height };
  const gain = 255 / (paper - ink);
  for (let i = 0; i < n; i++) data.fill(Math.min(255, Math.max(0, Math.round((grey[i]! - ink) * gain))), i * 3, i * 3 + 3);
  return { data, width: strip.width, height: strip.height };
}

/** Ink this close to its paper (out of 255) is a blank strip or a stain. */
const MIN_CONTRAST = 40;

function luma(data: Uint8Array, o: number): number {
  return (data[o]! * 77 + data[o + 1]! * 150 + data[o + 2]! * 29) >> 8;
}

function percentile(histogram: Uint32Array, n: number, p: number): number {
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v]!;
    if (seen >= p * n) return v;
  }
  return 255;
}

/** The region's corners from where its text starts: the bottom-right one when it reads upside down. */
function uprightQuad({ source: { x, y, w, h }, angle }: Slot): Quad {
  const tl: [number, number] = [x, y];
  const tr: [number, number] = [x + w, y];
  const br: [number, number] = [x + w, y + h];
  const bl: [number, number] = [x, y + h];
  return angle === 180 ? [br, bl, tl, tr] : [tl, tr, br, bl];
}

/**
 * Tesseract's words on a stack, each given to the strip its centre falls in and mapped back into
 * the image, clipped to its line's box. `out[i]` collects what line i of the page read.
 */
export function collectWords(words: readonly Tesseract.Word[], stack: Stack, boxes: readonly Rect[], out: OcrWord[][]): void {
  for (const word of words) {
    const text = word.text.normalize('NFC').trim();
    if (text === '') continue;
    const cy = (word.bbox.y0 + word.bbox.y1) / 2;
    const slot = nearestSlot(stack.slots, cy);
    if (!slot) continue;
    const box = clip(toImage(word.bbox, slot), boxes[slot.line]!);
    if (box) out[slot.line]!.push({ text, box, confidence: unit(word.confidence) });
  }
}

/** The strip whose middle is nearest: a word between two strips belongs to the closer one. */
function nearestSlot(slots: readonly Slot[], y: number): Slot | undefined {
  let best: Slot | undefined;
  let bestDistance = Infinity;
  for (const slot of slots) {
    const distance = Math.abs(slot.top + slot.height / 2 - y);
    if (distance < bestDistance) [best, bestDistance] = [slot, distance];
  }
  return best;
}

function toImage(b: Tesseract.Bbox, slot: Slot): Rect {
  const sx = slot.source.w / slot.width;
  const sy = slot.source.h / slot.height;
  // Strip coordinates, then through the strip's scale into its region, turned back if it was turned.
  let [u0, u1] = [(b.x0 - PAD) * sx, (b.x1 - PAD) * sx];
  let [v0, v1] = [(b.y0 - slot.top) * sy, (b.y1 - slot.top) * sy];
  if (slot.angle === 180) [u0, u1, v0, v1] = [slot.source.w - u1, slot.source.w - u0, slot.source.h - v1, slot.source.h - v0];
  const x0 = Math.round(slot.source.x + u0);
  const y0 = Math.round(slot.source.y + v0);
  return { x: x0, y: y0, w: Math.round(slot.source.x + u1) - x0, h: Math.round(slot.source.y + v1) - y0 };
}

function clip(r: Rect, to: Rect): Rect | undefined {
  const x0 = Math.max(r.x, Math.floor(to.x));
  const y0 = Math.max(r.y, Math.floor(to.y));
  const x1 = Math.min(r.x + r.w, Math.ceil(to.x + to.w));
  const y1 = Math.min(r.y + r.h, Math.ceil(to.y + to.h));
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** One line of the page from the words read in its strip, in reading order. */
export function toLine(line: LineToStack, box: Rect, words: OcrWord[], language: string): OcrLine {
  // Reading order along the line in the image: right to left when it reads upside down.
  const ordered = [...words].sort((a, b) => (line.angle === 180 ? b.box.x - a.box.x : a.box.x - b.box.x));
  const chars = ordered.reduce((n, w) => n + w.text.length, 0);
  const confidence = chars === 0 ? 0 : ordered.reduce((sum, w) => sum + w.confidence * w.text.length, 0) / chars;
  return { text: ordered.map((w) => w.text).join(' '), box, confidence, words: ordered, language };
}
