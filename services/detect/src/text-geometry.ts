import type { OcrPage, Rect, StageInput, StageResults } from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import { polygonBox, type FoundLine } from '@loupe/inference';

/**
 * Line height (detector pixels, ascenders to descenders) under which a page is fetched again with
 * more pixels: Tesseract reads well from an x-height of about 20 px, which such a line has; small
 * newspaper type fetched to fit 2048 px comes at 6-10 px.
 */
export const MIN_TEXT_LINE_PX = 32;
/** The largest side asked for when enlarging: a broadsheet at 6000 px is ~100 MB of RGB, the most a text page should hold. */
const MAX_TEXT_SIDE = 6000;
/** Enlarging by less than this is not worth a second request. */
const MIN_GAIN = 1.25;

/** What preprocess said about the image, if it ran (every field optional: operators may hand in their own). */
type Prepared = StageResults['preprocess'] | undefined;

/** The lines preprocess found, in the pixels of the image this stage fetched (the same request, maybe resized). */
export function linesFromPreprocess(prepared: Prepared, image: { width: number; height: number }): FoundLine[] | undefined {
  const text = prepared?.text;
  if (!text) return undefined;
  return scaleLines(text.lines, image.width / text.width, image.height / text.height, image);
}

function scaleLines(lines: readonly { polygon: [number, number][]; angle: 0 | 180 }[], sx: number, sy: number, image: { width: number; height: number }): FoundLine[] {
  return lines.map((line) => {
    const polygon = line.polygon.map(([x, y]): [number, number] => [x * sx, y * sy]);
    return { polygon, box: polygonBox(polygon, image), angle: line.angle };
  });
}


function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * The page with enough pixels for its text: when its lines are small, the image server is asked
 * for more of its own pixels first (never an upscaled size: the planner does not ask for one);
 * a server that has no more leaves the page as it is, and the engines enlarge each line's crop
 * themselves.
 */
export async function withPixelsForText(
  fetcher: Fetcher,
  task: StageInput['task'],
  prepared: Prepared,
  fetched: CanvasImage,
  lines: FoundLine[],
): Promise<{ image: CanvasImage; lines: FoundLine[] }> {
  const height = median(lines.map((l) => l.box.h));
  const longSide = Math.max(fetched.width, fetched.height);
  const factor = Math.min(MIN_TEXT_LINE_PX / Math.max(1, height), MAX_TEXT_SIDE / longSide);
  if (factor < MIN_GAIN) return { image: fetched, lines };
  const size = Math.round(longSide * factor);
  const canvas = { width: task.canvasWidth, height: task.canvasHeight };
  const bigger = await fetchCanvasImage(fetcher, task.image, canvas, { fit: { width: size, height: size } }, fetchHints(prepared, { region: false }));
  if (bigger.width < fetched.width * MIN_GAIN) return { image: fetched, lines };
  return { image: bigger, lines: scaleLines(lines, bigger.width / fetched.width, bigger.height / fetched.height, bigger) };
}

/** The page in canvas coordinates, the canvas's size: what is stored, and what ALTO and hOCR describe. */
export function pageOnCanvas(page: OcrPage, image: CanvasImage, canvas: { canvasWidth: number; canvasHeight: number }): OcrPage {
  const at = (r: Rect): Rect => {
    const c = image.toCanvas(r);
    return { x: round1(c.x), y: round1(c.y), w: round1(c.w), h: round1(c.h) };
  };
  return {
    ...page,
    // A canvas without a size (allowed for some) is described in the image's pixels' stead.
    width: canvas.canvasWidth > 0 ? canvas.canvasWidth : page.width,
    height: canvas.canvasHeight > 0 ? canvas.canvasHeight : page.height,
    blocks: page.blocks.map((block) => ({
      ...block,
      box: at(block.box),
      lines: block.lines.map((line) => ({ ...line, box: at(line.box), words: line.words.map((w) => ({ ...w, box: at(w.box) })) })),
    })),
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
