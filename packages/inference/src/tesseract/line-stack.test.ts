import type { OcrLine, Rect } from '@loupe/contracts';
import { characterErrorRate } from '@loupe/datasets';
import { renderTextPage } from '@loupe/testing';
import sharp from 'sharp';
import t from 'tap';
import type { LineToStack } from './line-stack.js';
import { createTesseractRecognizer, type RgbImage } from './tesseract-recognizer.js';

const FRENCH = ["qu'ils aient échappés à la perspicacité des anciens ; mais,", 'leur œuvre, reprise à Noël, fut achevée par des élèves zélés.'];

async function rgb(png: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** A line as a detector gives it: the ink's box with the margin PP-OCR's unclip leaves around it. */
function detected(ink: Rect, angle: 0 | 180 = 0): LineToStack {
  const m = Math.round(ink.h * 0.25);
  const box = { x: ink.x - m, y: ink.y - m, w: ink.w + 2 * m, h: ink.h + 2 * m };
  const corners: [number, number][] = [
    [box.x, box.y],
    [box.x + box.w, box.y],
    [box.x + box.w, box.y + box.h],
    [box.x, box.y + box.h],
  ];
  // The polygon starts where the text starts: bottom right when the line reads upside down.
  return { box, angle, polygon: angle === 180 ? [...corners.slice(2), ...corners.slice(0, 2)] : corners };
}

const inside = (r: Rect, box: Rect) => r.x >= box.x && r.y >= box.y && r.x + r.w <= box.x + box.w && r.y + r.h <= box.y + box.h;

t.test('readLines', async (t) => {
  const recognizer = createTesseractRecognizer({ languages: ['fra'] });
  t.teardown(() => recognizer.close());
  const page = await renderTextPage({ lines: FRENCH, font: 'serif', sizePt: 14, width: 1100, height: 400 });
  const image = await rgb(page.image);
  const lines = page.lines.map((l) => detected(l.box));

  t.test('reads each given line with its accents, one OcrLine per line in the order given', async (t) => {
    const read = await recognizer.readLines(image, [lines[1]!, lines[0]!]);
    t.equal(read.length, 2);
    const expected = [FRENCH[1]!, FRENCH[0]!];
    read.forEach((line, i) => {
      t.ok(characterErrorRate(expected[i]!, line.text) <= 0.02, `line ${i}: ${JSON.stringify(line.text)}`);
      t.equal(line.text, line.text.normalize('NFC'));
      t.equal(line.language, 'fra');
      t.ok(line.confidence > 0.5 && line.confidence <= 1);
    });
    t.match(read[0]!.text, /œuvre/);
  });

  t.test("word boxes fall inside their line's box in the image, left to right", async (t) => {
    const read = await recognizer.readLines(image, lines);
    for (const [i, line] of read.entries()) {
      t.ok(line.words.length >= 8, `line ${i} has its words`);
      t.ok(
        line.words.every((w) => inside(w.box, lines[i]!.box) && w.box.w > 0 && w.confidence > 0),
        `line ${i}'s words inside ${JSON.stringify(lines[i]!.box)}`,
      );
      t.same(
        line.words.map((w) => w.box.x),
        line.words.map((w) => w.box.x).sort((a, b) => a - b),
      );
      t.same(line.box, lines[i]!.box);
    }
    // The boxes are where the words are: the first word starts near the line's ink.
    const first = read[0]!.words[0]!;
    t.ok(Math.abs(first.box.x - page.lines[0]!.box.x) <= 4, `first word at x ${first.box.x}, ink at ${page.lines[0]!.box.x}`);
  });

  t.test('reads a line that is upside down in the image the right way up, its boxes where it is', async (t) => {
    const turned = await rgb(await sharp(page.image).rotate(180).png().toBuffer());
    const ink = page.lines[1]!.box;
    const box = { x: image.width - ink.x - ink.w, y: image.height - ink.y - ink.h, w: ink.w, h: ink.h };
    const [line] = await recognizer.readLines(turned, [detected(box, 180)]);
    t.ok(characterErrorRate(FRENCH[1]!, line!.text) <= 0.02, JSON.stringify(line!.text));
    t.ok(line!.words.every((w) => inside(w.box, detected(box, 180).box)));
    // Read from its start: the first word is the rightmost in the turned image.
    t.same(
      line!.words.map((w) => w.box.x),
      line!.words.map((w) => w.box.x).sort((a, b) => b - a),
    );
  });

  t.test("gives '' for a blank line and for one outside the image, and keeps the others in place", async (t) => {
    const blank = detected({ x: 40, y: image.height - 80, w: 600, h: 30 });
    const outside = detected({ x: image.width + 50, y: 10, w: 100, h: 20 });
    const read: OcrLine[] = await recognizer.readLines(image, [blank, lines[0]!, outside]);
    t.equal(read.length, 3);
    t.same([read[0]!.text, read[0]!.words, read[0]!.confidence], ['', [], 0]);
    t.same([read[2]!.text, read[2]!.words], ['', []]);
    t.ok(characterErrorRate(FRENCH[0]!, read[1]!.text) <= 0.02, JSON.stringify(read[1]!.text));
    t.same(await recognizer.readLines(image, []), []);
  });

  t.test('a line given by its corners alone is read inside the box around them', async (t) => {
    const { polygon, angle, box } = lines[0]!;
    const [line] = await recognizer.readLines(image, [{ polygon, angle }]);
    t.same(line!.box, box);
    t.ok(characterErrorRate(FRENCH[0]!, line!.text) <= 0.02, JSON.stringify(line!.text));
  });

  t.test('an aborted read rejects, and the recogniser reads on', async (t) => {
    await t.rejects(recognizer.readLines(image, lines, { signal: AbortSignal.abort(new Error('gone')) }), /gone/);
    const [line] = await recognizer.readLines(image, [lines[0]!]);
    t.ok(characterErrorRate(FRENCH[0]!, line!.text) <= 0.02);
  });
});

t.test('many lines are read in several stacks when one would be too tall', async (t) => {
  const recognizer = createTesseractRecognizer({ languages: ['fra'], stack: { maxHeight: 150 } });
  t.teardown(() => recognizer.close());
  const page = await renderTextPage({ lines: [...FRENCH, ...FRENCH], font: 'serif', sizePt: 14, width: 1100 });
  const read = await recognizer.readLines(await rgb(page.image), page.lines.map((l) => detected(l.box)));
  t.same(
    read.map((l, i) => characterErrorRate(FRENCH[i % 2]!, l.text) <= 0.02),
    [true, true, true, true],
    JSON.stringify(read.map((l) => l.text)),
  );
});
