import type { Rect } from '@loupe/contracts';

/**
 * Page layout from text-line geometry alone: blocks, columns, reading order and headings, for line
 * detectors (PP-OCR) that return boxes without structure. A recursive cut over the line boxes:
 * first the gutters that run a region's full height (columns), else the rows where the column
 * structure changes (a headline across the columns above them); what is left is a column segment,
 * whose lines are read top to bottom and split into blocks at paragraph gaps and changes of size.
 * Whitespace across the whole page does not cut on its own: a detector that misses a few lines in
 * every column opens such bands by chance, and cutting there would read the columns in strips.
 * Tolerances are in units of the page's median line height, so they hold at any scan resolution.
 */

export type BlockRole = 'heading' | 'body' | 'caption' | 'other';

export interface LaidOutBlock<T> {
  box: Rect;
  role: BlockRole;
  lines: T[];
}

/**
 * A box whose longer side is shorter than this many line heights is a speck, a rule or a lone
 * letter: detectors find many on old newsprint, and they would open or close gutters by chance.
 * Specks follow the layout the real lines make, by their centres.
 */
const SPECK_SIZE = 1;
/**
 * How far (line heights) a line may run into a gutter and still not close it: detector boxes are
 * grown around the ink and a skewed line drifts sideways, so neighbours poke a letter into the gap.
 * Never more than a quarter of the line's own width, so a short line cannot vanish from the count.
 */
const GUTTER_OVERHANG = 1;
/** A gutter is at least this wide (line heights) once the overhang is forgiven: a word space is about 0.3. */
const MIN_GUTTER = 0.5;
/** Tall words closer than this (their height) are one headline: a word space is under one em, and detector boxes shrink the ink a little. */
const WORD_SPACE = 1.5;
/** A column has at least this many lines: one line split at a wide word space is not two columns. */
const MIN_COLUMN_LINES = 2;
/**
 * Lines shorter than this fraction of the page's median line width do not decide where gutters
 * and gaps are: fragments the detector finds in pictures, rules and ornaments land in gutters,
 * and a column's short lines (a paragraph's last word) say nothing its full lines do not.
 */
const GUIDE_WIDTH = 0.5;
/** How far (line heights) rows may overlap and still be apart: the boxes of a skewed scan's consecutive lines overlap. */
const ROW_OVERLAP = 0.25;
/** A gap between rows this tall (the smaller row's height) starts a new block: about a blank line. */
const PARAGRAPH_GAP = 1;
/** Rows whose heights differ by this factor belong to different blocks (a headline above its text). */
const SIZE_CHANGE = 1.4;
/** A block whose lines are this much taller than the page's median line is a heading. */
const HEADING_SIZE = 1.5;
/** A short block (at most this many lines) centred in its column above more text is a heading too. */
const HEADING_MAX_LINES = 3;
/** Centred: the line's centre is within this fraction of the column's width from the column's centre... */
const CENTRED = 0.08;
/** ...and the line leaves at least this fraction of the column free, so a full line is not called centred. */
const CENTRED_MARGIN = 0.15;
/** ...and spans at least this fraction of it: a centred letter or speck is debris, not a heading. */
const CENTRED_WORDS = 0.25;

interface Placed<T> {
  line: T;
  box: Rect;
  speck: boolean;
  /** Long enough to say where the columns and gaps are; the rest follow by their centres. */
  guide: boolean;
}

/**
 * The lines grouped into blocks in reading order: a headline across columns first, then each
 * column top to bottom, columns left to right; within a block top to bottom, lines side by side
 * left to right. Every line is in exactly one block. Pure: boxes are taken as given.
 */
export function layOutLines<T extends { box: Rect }>(lines: readonly T[], page: { width: number; height: number }): LaidOutBlock<T>[] {
  if (lines.length === 0) return [];
  const allHeights = median(lines.map((l) => l.box.h));
  const specks = lines.map((line) => Math.max(line.box.w, line.box.h) < SPECK_SIZE * allHeights);
  const solid = lines.filter((_, i) => !specks[i]);
  const lineHeight = median(solid.map((l) => l.box.h)) || allHeights || 1;
  const lineWidth = median(solid.map((l) => l.box.w));
  const placed = lines.map((line, i) => ({ line, box: line.box, speck: specks[i]!, guide: !specks[i] && line.box.w >= GUIDE_WIDTH * lineWidth }));
  const blocks: LaidOutBlock<T>[] = [];
  for (const segment of segments(placed, lineHeight)) blocks.push(...segmentBlocks(segment, lineHeight, page));
  return blocks;
}

/** Column segments in reading order: regions with no gutter left in them. */
function segments<T>(region: Placed<T>[], unit: number): Placed<T>[][] {
  const solid = region.filter((p) => p.guide);
  if (solid.length < 2) return [region];

  const columns = gutters(solid, unit);
  if (columns.length > 0) return splitAt(region, columns, 'x').flatMap((part) => segments(part, unit));

  // No gutter runs the full height: look for the longest run of rows that has one (the columns
  // under a headline), and cut above and below it.
  const rowCuts = rowGaps(solid, unit);
  const rows = splitAt(solid, rowCuts, 'y');
  const run = longestColumnedRun(rows, unit);
  if (!run) return [region];
  const cuts = [run.first > 0 ? rowCuts[run.first - 1]! : undefined, run.last < rows.length - 1 ? rowCuts[run.last]! : undefined];
  return splitAt(region, cuts.filter((c): c is number => c !== undefined), 'y').flatMap((part) => segments(part, unit));
}

/** The consecutive rows, most lines first, that together have a gutter; none when no run has one. */
function longestColumnedRun<T>(rows: Placed<T>[][], unit: number): { first: number; last: number } | undefined {
  const all = rows.flat().map((p) => inkSpan(p, unit));
  const extent: Interval = [Math.min(...all.map((s) => s[0])), Math.max(...all.map((s) => s[1]))];
  let best: { first: number; last: number; lines: number } | undefined;
  for (let first = 0; first < rows.length; first++) {
    const members: Placed<T>[] = [];
    let free: Interval[] = [extent];
    for (let last = first; last < rows.length; last++) {
      members.push(...rows[last]!);
      // Whitespace only shrinks as rows are added: once no gap is wide enough, no longer run has a gutter.
      free = subtract(free, rows[last]!.map((p) => inkSpan(p, unit))).filter(([a, b]) => b - a >= MIN_GUTTER * unit);
      if (free.length === 0) break;
      if (members.length > (best?.lines ?? 0) && gutters(members, unit).length > 0) best = { first, last, lines: members.length };
    }
  }
  return best;
}

type Interval = readonly [number, number];

function subtract(free: Interval[], spans: Interval[]): Interval[] {
  let left = free;
  for (const [start, end] of spans) {
    left = left.flatMap(([a, b]): Interval[] => {
      if (end <= a || start >= b) return [[a, b]];
      return [...(start > a ? [[a, start] as const] : []), ...(end < b ? [[end, b] as const] : [])];
    });
  }
  return left;
}

/**
 * Each line's ink span, a headline's words joined: large type is spaced by its own size, so a
 * word space in a masthead is wider than a newspaper's gutters, and the detector often finds the
 * words apart. Tall boxes side by side closer than WORD_SPACE of their height are one line.
 */
function headlineSpans<T>(lines: Placed<T>[], unit: number): Interval[] {
  const spans = lines.map((p) => inkSpan(p, unit));
  const tall = lines.map((p, i) => ({ box: p.box, i })).filter((t) => t.box.h >= HEADING_SIZE * unit).sort((a, b) => a.box.x - b.box.x);
  for (const a of tall) {
    for (const b of tall) {
      const gap = b.box.x - (a.box.x + a.box.w);
      const height = Math.min(a.box.h, b.box.h);
      if (gap < 0 || gap >= WORD_SPACE * height || Math.abs(centre(a.box, 'y') - centre(b.box, 'y')) >= height / 2) continue;
      const joined: Interval = [Math.min(spans[a.i]![0], spans[b.i]![0]), Math.max(spans[a.i]![1], spans[b.i]![1])];
      spans[a.i] = joined;
      spans[b.i] = joined;
    }
  }
  return spans;
}

/** The part of a line's x-range that closes a gutter, forgiving the overhang. */
function inkSpan<T>(p: Placed<T>, unit: number): Interval {
  const overhang = Math.min(GUTTER_OVERHANG * unit, p.box.w / 4);
  return [p.box.x + overhang, p.box.x + p.box.w - overhang];
}

/** y positions (the middles) of the horizontal whitespace bands that no line crosses. */
function rowGaps<T>(lines: Placed<T>[], unit: number): number[] {
  const slack = ROW_OVERLAP * unit;
  const spans = lines.map((p) => [p.box.y + slack, p.box.y + p.box.h - slack] as const).sort((a, b) => a[0] - b[0]);
  const found: number[] = [];
  let reach = spans[0]![1];
  for (const [top, bottom] of spans.slice(1)) {
    if (top > reach) found.push((top + reach) / 2);
    reach = Math.max(reach, bottom);
  }
  return found;
}

/** x positions of the vertical gutters that run the region's full height, with a column of lines on each side. */
function gutters<T>(lines: Placed<T>[], unit: number): number[] {
  const spans = headlineSpans(lines, unit).sort((a, b) => a[0] - b[0]);
  const found: number[] = [];
  let reach = spans[0]![1];
  let left = 1;
  for (let i = 1; i < spans.length; i++) {
    const [start, end] = spans[i]!;
    if (start - reach >= MIN_GUTTER * unit && left >= MIN_COLUMN_LINES && spans.length - i >= MIN_COLUMN_LINES) {
      found.push((start + reach) / 2);
      left = 0;
    }
    reach = Math.max(reach, end);
    left++;
  }
  // A gutter chosen above may leave too few lines on its right before the next one: drop those.
  return found.filter((x, i) => {
    const next = found[i + 1] ?? Infinity;
    return lines.filter((p) => centre(p.box, 'x') > x && centre(p.box, 'x') < next).length >= MIN_COLUMN_LINES;
  });
}

/** The region in parts between the cuts (ascending), each line (speck or not) by its centre. */
function splitAt<T>(region: Placed<T>[], cuts: number[], axis: 'x' | 'y'): Placed<T>[][] {
  const parts: Placed<T>[][] = cuts.map(() => []);
  parts.push([]);
  for (const p of region) {
    const c = centre(p.box, axis);
    const index = cuts.findIndex((cut) => c < cut);
    parts[index === -1 ? cuts.length : index]!.push(p);
  }
  return parts.filter((part) => part.length > 0);
}

/** A column segment's lines read in rows, split into blocks where a gap opens or the size changes. */
function segmentBlocks<T>(segment: Placed<T>[], unit: number, page: { width: number; height: number }): LaidOutBlock<T>[] {
  const rows = readRows(segment);
  const groups: Placed<T>[][][] = [];
  let previous: { bottom: number; height: number } | undefined;
  for (const row of rows) {
    const solid = row.filter((p) => !p.speck);
    const height = solid.length > 0 ? median(solid.map((p) => p.box.h)) : undefined;
    const top = Math.min(...row.map((p) => p.box.y));
    const bottom = Math.max(...row.map((p) => p.box.y + p.box.h));
    const apart =
      previous !== undefined &&
      height !== undefined &&
      (top - previous.bottom >= PARAGRAPH_GAP * Math.min(height, previous.height) ||
        Math.max(height, previous.height) >= SIZE_CHANGE * Math.min(height, previous.height));
    if (!previous || apart) groups.push([row]);
    else groups.at(-1)!.push(row);
    if (height !== undefined) previous = { bottom, height };
    else if (previous) previous.bottom = Math.max(previous.bottom, bottom);
  }

  const column = measure(segment);
  return groups.map((group, i) => {
    const members = group.flat();
    const role = roleOf(group, groups[i + 1] !== undefined, column, unit);
    return { box: clip(enclosing(members.map((p) => p.box)), page), role, lines: members.map((p) => p.line) };
  });
}

/** Rows top to bottom, each left to right; lines whose centres are within half the thinner one's height share a row. */
function readRows<T>(lines: Placed<T>[]): Placed<T>[][] {
  const sorted = [...lines].sort((a, b) => centre(a.box, 'y') - centre(b.box, 'y'));
  const rows: Placed<T>[][] = [];
  for (const p of sorted) {
    const last = rows.at(-1)?.at(-1);
    if (last && Math.abs(centre(p.box, 'y') - centre(last.box, 'y')) < Math.min(p.box.h, last.box.h) / 2) rows.at(-1)!.push(p);
    else rows.push([p]);
  }
  return rows.map((row) => row.sort((a, b) => a.box.x - b.box.x));
}

/** Where a column's full lines run: the middle and width of its typical guide line (most lines of a column are full). */
function measure<T>(segment: Placed<T>[]): { centre: number; width: number } {
  const guides = segment.filter((p) => p.guide);
  const typical = guides.length > 0 ? guides : segment;
  return { centre: median(typical.map((p) => centre(p.box, 'x'))), width: median(typical.map((p) => p.box.w)) };
}

function roleOf<T>(rows: Placed<T>[][], textFollows: boolean, column: { centre: number; width: number }, unit: number): BlockRole {
  const solid = rows.flat().filter((p) => !p.speck);
  if (solid.length === 0) return 'other';
  if (median(solid.map((p) => p.box.h)) >= HEADING_SIZE * unit) return 'heading';
  const centred = (p: Placed<T>) =>
    Math.abs(centre(p.box, 'x') - column.centre) <= CENTRED * column.width &&
    p.box.w <= (1 - CENTRED_MARGIN) * column.width &&
    p.box.w >= CENTRED_WORDS * column.width;
  const short = rows.length <= HEADING_MAX_LINES && rows.every((row) => centred(enclosingPlaced(row)));
  if (textFollows && short) return 'heading';
  return 'body';
}

function enclosingPlaced<T>(row: Placed<T>[]): Placed<T> {
  return { line: row[0]!.line, box: enclosing(row.map((p) => p.box)), speck: false, guide: true };
}

function enclosing(boxes: Rect[]): Rect {
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, w: Math.max(...boxes.map((b) => b.x + b.w)) - x, h: Math.max(...boxes.map((b) => b.y + b.h)) - y };
}

/** Detector boxes are grown around the ink and can run past the page's edge. */
function clip(box: Rect, page: { width: number; height: number }): Rect {
  const x = Math.max(0, box.x);
  const y = Math.max(0, box.y);
  return { x, y, w: Math.max(0, Math.min(page.width, box.x + box.w) - x), h: Math.max(0, Math.min(page.height, box.y + box.h) - y) };
}

function centre(box: Rect, axis: 'x' | 'y'): number {
  return axis === 'x' ? box.x + box.w / 2 : box.y + box.h / 2;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}
