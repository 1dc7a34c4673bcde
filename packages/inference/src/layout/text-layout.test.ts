import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rect } from '@loupe/contracts';
import t, { type Test } from 'tap';
import { prepareImage } from '../image-ops.js';
import { createTextRecognizer } from '../ppocr/text-recognizer.js';
import { layOutLines, type LaidOutBlock } from './text-layout.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/fixtures/images');
const NEWSPAPER = join(FIXTURES, 'newspaper-port-gibson-reveille.png');

interface Line {
  id: string;
  box: Rect;
}

const PAGE = { width: 1200, height: 1600 };
const LINE_H = 20;
const PITCH = 28;

/**
 * A column of set type: `paragraphs` gives each paragraph's line count; a blank line between
 * paragraphs, and each paragraph's last line ends short, as print does.
 */
function column(name: string, x: number, top: number, width: number, paragraphs: number[], jitter = () => 0): Line[] {
  const lines: Line[] = [];
  let y = top;
  paragraphs.forEach((count, p) => {
    for (let i = 0; i < count; i++) {
      const w = i === count - 1 ? Math.round(width * 0.55) : width;
      lines.push({ id: `${name}${p + 1}.${i + 1}`, box: { x: x + jitter(), y: y + jitter(), w: w + jitter(), h: LINE_H + jitter() } });
      y += PITCH;
    }
    y += PITCH;
  });
  return lines;
}

/** A deterministic jitter of up to `amount` pixels either way (a small linear congruential generator). */
function jitterOf(amount: number, seed = 7): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return Math.round(((state / 2 ** 31) * 2 - 1) * amount);
  };
}

/** Lines in the order given, shuffled the same way every run: the layout must not rely on input order. */
function shuffled<T>(items: T[]): T[] {
  const rand = jitterOf(1000, 11);
  return items.map((item) => ({ item, key: rand() })).sort((a, b) => a.key - b.key).map((x) => x.item);
}

const ids = (blocks: LaidOutBlock<Line>[]) => blocks.map((b) => b.lines.map((l) => l.id));
const order = (blocks: LaidOutBlock<Line>[]) => blocks.flatMap((b) => b.lines.map((l) => l.id));

function everyLineOnce(t: Test, blocks: LaidOutBlock<Line>[], lines: Line[]) {
  const seen = blocks.flatMap((b) => b.lines);
  t.equal(seen.length, lines.length, 'no line lost or repeated');
  t.equal(new Set(seen).size, lines.length, 'each line in exactly one block');
}

t.test('an empty page has no blocks', async (t) => {
  t.same(layOutLines([], PAGE), []);
});

t.test('a single column reads top to bottom, split into blocks at the paragraph gaps', async (t) => {
  const lines = column('a', 100, 100, 600, [4, 3, 5]);
  const blocks = layOutLines(shuffled(lines), PAGE);
  t.same(ids(blocks), [
    ['a1.1', 'a1.2', 'a1.3', 'a1.4'],
    ['a2.1', 'a2.2', 'a2.3'],
    ['a3.1', 'a3.2', 'a3.3', 'a3.4', 'a3.5'],
  ]);
  t.same(blocks.map((b) => b.role), ['body', 'body', 'body']);
  t.same(blocks[0]!.box, { x: 100, y: 100, w: 600, h: 3 * PITCH + LINE_H }, 'a block is boxed by its lines');
});

t.test('two columns under a spanning headline: headline, then each column top to bottom', async (t) => {
  const headline: Line = { id: 'head', box: { x: 250, y: 40, w: 700, h: 2.5 * LINE_H } };
  // Paragraph gaps at the same heights in both columns: whitespace across the page that must not read the columns in strips.
  const left = column('L', 100, 130, 480, [5, 5, 4]);
  const right = column('R', 620, 130, 480, [5, 5, 6]);
  const lines = [headline, ...left, ...right];
  const blocks = layOutLines(shuffled(lines), PAGE);
  everyLineOnce(t, blocks, lines);
  t.same(order(blocks), [headline, ...left, ...right].map((l) => l.id));
  t.same(blocks[0], { box: headline.box, role: 'heading', lines: [headline] }, 'the headline is a heading block of its own');
  t.same(blocks.slice(1).map((b) => b.role), Array(6).fill('body'));
  t.equal(blocks.length, 7, 'three paragraphs in each column');
});

t.test('three columns, jittered, a line over a gutter and specks in it: the columns hold', async (t) => {
  const jitter = jitterOf(3);
  const headline: Line = { id: 'head', box: { x: 60, y: 30, w: 1080, h: 3 * LINE_H } };
  const columns = [column('A', 60, 120, 340, [6, 8], jitter), column('B', 430, 120, 340, [9, 4], jitter), column('C', 800, 120, 340, [3, 3, 3, 3], jitter)];
  // A detector box grown a few pixels over the gutter, and the dust of a rule in the gutter.
  columns[0]![2]!.box.w += 12;
  const specks: Line[] = [0, 1, 2, 3].map((i) => ({ id: `speck${i}`, box: { x: 410 + i, y: 200 + i * 90, w: 8, h: 7 } }));
  const lines = [headline, ...columns.flat(), ...specks];
  const blocks = layOutLines(shuffled(lines), PAGE);
  everyLineOnce(t, blocks, lines);
  const text = order(blocks).filter((id) => !id.startsWith('speck'));
  t.same(text, [headline, ...columns.flat()].map((l) => l.id), 'headline, then A, B and C each top to bottom');
  const straddling = blocks.filter((b) => new Set(b.lines.filter((l) => !l.id.startsWith('speck') && l.id !== 'head').map((l) => l.id[0])).size > 1);
  t.same(ids(straddling), [], 'no block takes lines from two columns');
  t.same(
    ids(blocks).filter((b) => !b.every((id) => id.startsWith('speck'))).length,
    1 + 2 + 2 + 4,
    'a block per paragraph (specks join the column they fall in)',
  );
});

t.test('columns above a paragraph across the page: both columns, then the paragraph', async (t) => {
  const left = column('L', 100, 60, 480, [6]);
  const right = column('R', 620, 60, 480, [4]);
  const foot = column('F', 100, 60 + 8 * PITCH, 1000, [3]);
  const lines = [...left, ...right, ...foot];
  const blocks = layOutLines(shuffled(lines), PAGE);
  t.same(order(blocks), lines.map((l) => l.id));
  t.same(ids(blocks).length, 3);
});

t.test('a skewed two-column scan: boxes of neighbouring lines overlap, columns still read in turn', async (t) => {
  // Lines 400 px long turned about 1.5 degrees: each box is 10 px taller than the ink and overlaps the next.
  const skewed = (name: string, x: number) =>
    Array.from({ length: 12 }, (_, i): Line => ({ id: `${name}${String(i).padStart(2, '0')}`, box: { x: x + Math.round(i * 0.7), y: 100 + i * PITCH - 5, w: 400, h: LINE_H + 10 } }));
  const lines = [...skewed('L', 80), ...skewed('R', 540)];
  const blocks = layOutLines(shuffled(lines), PAGE);
  everyLineOnce(t, blocks, lines);
  t.same(order(blocks), lines.map((l) => l.id));
  t.equal(blocks.length, 2, 'one block per column');
});

t.test('headings: tall lines, and a short centred line above the text', async (t) => {
  const title: Line[] = [
    { id: 't1', box: { x: 200, y: 60, w: 500, h: 2 * LINE_H } },
    { id: 't2', box: { x: 260, y: 110, w: 380, h: 2 * LINE_H } },
  ];
  const body = column('b', 100, 170, 700, [4]);
  const subhead: Line = { id: 'sub', box: { x: 330, y: 320, w: 240, h: LINE_H } };
  const more = column('c', 100, 370, 700, [3]);
  const lines = [...title, ...body, subhead, ...more];
  const blocks = layOutLines(shuffled(lines), PAGE);
  t.same(ids(blocks), [['t1', 't2'], ['b1.1', 'b1.2', 'b1.3', 'b1.4'], ['sub'], ['c1.1', 'c1.2', 'c1.3']]);
  t.same(blocks.map((b) => b.role), ['heading', 'body', 'heading', 'body']);
});

t.test('a line the detector found in two pieces reads left to right in its block', async (t) => {
  const lines: Line[] = [
    { id: 'a', box: { x: 100, y: 100, w: 600, h: LINE_H } },
    { id: 'b2', box: { x: 420, y: 129, w: 280, h: LINE_H } },
    { id: 'b1', box: { x: 100, y: 127, w: 290, h: LINE_H } },
    { id: 'c', box: { x: 100, y: 156, w: 600, h: LINE_H } },
  ];
  t.same(ids(layOutLines(lines, PAGE)), [['a', 'b1', 'b2', 'c']]);
});

/**
 * The 1921 Port Gibson Reveille front page: a masthead over six columns, the sixth of
 * advertisements. Its gutters, read off the image, lie near these x positions.
 */
const GUTTERS = [170, 312, 455, 598, 745];
const columnOf = (box: Rect) => GUTTERS.filter((g) => box.x + box.w / 2 > g).length;

t.test('the 1921 newspaper page: blocks keep to the columns, and the columns are read in turn', { skip: existsSync(NEWSPAPER) ? false : `no fixture at ${NEWSPAPER} (../shared is absent)`, timeout: 300_000 }, async (t) => {
  // Every line the detector finds, as preprocess hands them to the text stage (reading them all would
  // take a minute: only the masthead is read).
  const recognizer = await createTextRecognizer();
  t.teardown(() => recognizer.close());
  const image = await prepareImage(await readFile(NEWSPAPER));
  const { lines } = await recognizer.findLines(image);
  const blocks = layOutLines(lines, image);
  const seen = blocks.flatMap((b) => b.lines);
  t.equal(seen.length, lines.length, 'no line lost or repeated');
  t.equal(new Set(seen).size, lines.length, 'each line in exactly one block');

  // Text lines, not the fragments the detector finds in pictures and rules; and not the music
  // store's advertisement, boxed across the second and third columns, whose price list crosses the
  // gutter: it is one block, as it should be.
  const inAdvert = (box: Rect) => box.x >= 300 && box.x + box.w <= 610 && box.y >= 530 && box.y + box.h <= 775;
  const isText = (box: Rect) => box.w >= 60 && box.h < 25 && !inAdvert(box);
  const bodyTop = 210; // below the masthead and the dateline that runs across the page
  const straddling = blocks.filter((b) => new Set(b.lines.filter((l) => isText(l.box) && l.box.y > bodyTop).map((l) => columnOf(l.box))).size > 1);
  t.same(straddling.map((b) => b.box), [], 'no block takes text lines from two columns');
  const visits = seen.filter((l) => isText(l.box) && l.box.y > bodyTop).map((l) => columnOf(l.box));
  const runs = visits.filter((c, i) => c !== visits[i - 1]);
  // Columns left to right, each top to bottom; the second and third are cut by the advertisement
  // boxed across both, so the part above it is read, then the part below (as an X-Y cut reads a
  // spanning box; a reader following one story down column two would go round the box instead).
  t.same(runs, [0, 1, 2, 3, 2, 3, 4, 5], 'each column read top to bottom, left to right, above and below the advertisement');
  t.equal(blocks[0]!.role, 'heading', 'the masthead first, as a heading');
  const masthead = await recognizer.readLines(image, blocks[0]!.lines);
  t.match(masthead.map((l) => l.text).join(' '), /PORT.*GIBSON.*REVEILLE/);
  t.comment(`${lines.length} lines in ${blocks.length} blocks (${blocks.filter((b) => b.role === 'heading').length} headings) over ${new Set(visits).size} columns`);
});
