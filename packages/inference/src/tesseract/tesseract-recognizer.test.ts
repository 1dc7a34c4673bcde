import { OcrPage } from '@loupe/contracts';
import { characterErrorRate } from '@loupe/datasets';
import { renderTextPage } from '@loupe/testing';
import { Value } from '@sinclair/typebox/value';
import sharp from 'sharp';
import t from 'tap';
import { createTesseractRecognizer, type RgbImage } from './tesseract-recognizer.js';

const FRENCH = [
  'Tous ces faits paroissent incontestables ; on doit être surpris',
  "qu'ils aient échappés à la perspicacité des anciens ; mais,",
  'leur œuvre, reprise à Noël, fut achevée par des élèves zélés.',
];
const GERMAN = ['Die Größe der Straße überraschte den Fußgänger,', 'der müde über die Brücke nach Köln ging.', 'Äußerst schöne Häuser säumten den Weg.'];
// Tesseract's layout analysis finds a column only where it has lines enough to see one.
const LEFT = ['The first column tells of', 'the harbour and its ships,', 'the quays and the tides,', 'the nets drying in the sun', 'and the gulls above them.', 'Fishermen mend the sails', 'while the boys carry rope', 'down to the waiting boats.'];
const RIGHT = ['The second column speaks', 'of markets in the town,', 'of bread, wool and wine,', 'of carts that come at dawn', 'from farms beyond the hill.', 'Traders call their prices', 'and the clerks write them', 'in ledgers bound in calf.'];

async function rgb(png: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

const pageText = (page: OcrPage) => page.blocks.map((b) => b.lines.map((l) => l.text).join('\n')).join('\n');

t.test('reads French and German print with their accents, as NFC, on one reused worker', async (t) => {
  const french = createTesseractRecognizer({ languages: ['fra'] });
  t.teardown(() => french.close());
  const image = await rgb((await renderTextPage({ lines: FRENCH, font: 'serif', sizePt: 16, width: 1000 })).image);
  const page = await french.recognize(image);
  const text = pageText(page);
  t.ok(Value.Check(OcrPage, page), 'an OcrPage as the contract declares it');
  t.ok(characterErrorRate(FRENCH.join('\n'), text) <= 0.01, `CER ≤ 1 % with diacritics: ${JSON.stringify(text)}`);
  t.equal(text, text.normalize('NFC'));
  t.match(text, /œuvre/);
  t.same(page.engine.id, 'tesseract-lstm');
  t.match(page.engine.version, /^\d+\.\d+\.\d+/);
  t.same(page.languages, ['fra']);
  t.same([page.width, page.height], [image.width, image.height]);
  const words = page.blocks.flatMap((b) => b.lines.flatMap((l) => l.words));
  t.ok(words.length >= 25, 'word boxes');
  t.ok(
    words.every((w) => w.box.x >= 0 && w.box.y >= 0 && w.box.x + w.box.w <= image.width && w.box.y + w.box.h <= image.height && w.confidence > 0.5),
    'word boxes on the page, confidences on 0..1',
  );
  t.equal(page.blocks[0]!.lines[0]!.language, 'fra');

  const again = await french.recognize(image);
  t.same(pageText(again), text, 'the second page reads the same on the kept worker');

  const german = createTesseractRecognizer({ languages: ['deu', 'fra'] });
  t.teardown(() => german.close());
  const gpage = await german.recognize(await rgb((await renderTextPage({ lines: GERMAN, font: 'serif', sizePt: 16, width: 1000 })).image));
  const gtext = pageText(gpage);
  t.ok(characterErrorRate(GERMAN.join('\n'), gtext) <= 0.01, `CER ≤ 1 % with ß and umlauts: ${JSON.stringify(gtext)}`);
  t.same(gpage.languages, ['deu', 'fra']);
});

t.test('gives a two-column page column by column', async (t) => {
  const column = (lines: string[]) => renderTextPage({ lines, font: 'serif', sizePt: 16, width: 420, margin: 24 });
  const [left, right] = await Promise.all([column(LEFT), column(RIGHT)]);
  const gutter = 120;
  const height = Math.max(left.height, right.height);
  const png = await sharp({ create: { width: left.width + gutter + right.width, height, channels: 3, background: '#ffffff' } })
    .composite([
      { input: left.image, left: 0, top: 0 },
      { input: right.image, left: left.width + gutter, top: 0 },
    ])
    .png()
    .toBuffer();
  const recognizer = createTesseractRecognizer({ languages: ['eng'] });
  t.teardown(() => recognizer.close());
  const page = await recognizer.recognize(await rgb(png));
  const text = pageText(page);
  t.ok(page.blocks.length >= 2, 'the columns are separate blocks');
  t.ok(characterErrorRate([...LEFT, ...RIGHT].join('\n'), text) <= 0.01, `left column first, then the right: ${JSON.stringify(text)}`);
  const split = left.width + gutter / 2;
  const sides = page.blocks.map((b) => (b.box.x + b.box.w <= split ? 'left' : b.box.x >= split ? 'right' : 'both'));
  t.same(sides, [...sides].sort(), 'every block on one side, the left ones first');
});

t.test('an aborted page stops, and the next page still reads', async (t) => {
  const recognizer = createTesseractRecognizer({ languages: ['eng'] });
  t.teardown(() => recognizer.close());
  const image = await rgb((await renderTextPage({ lines: LEFT, font: 'sans', sizePt: 16, width: 600 })).image);
  await t.rejects(recognizer.recognize(image, { signal: AbortSignal.abort(new Error('gone')) }), /gone/);
  const controller = new AbortController();
  const aborted = recognizer.recognize(image, { signal: controller.signal });
  // Queued behind nothing: the abort lands while the worker starts or reads.
  setImmediate(() => controller.abort(new Error('stopped')));
  await t.rejects(aborted, /stopped/);
  const page = await recognizer.recognize(image);
  t.ok(characterErrorRate(LEFT.join('\n'), pageText(page)) <= 0.01);
});

t.test('close reads the pages already accepted, then refuses new ones', async (t) => {
  const recognizer = createTesseractRecognizer({ languages: ['eng'] });
  const image = await rgb((await renderTextPage({ lines: LEFT, font: 'sans', sizePt: 16, width: 600 })).image);
  const accepted = recognizer.recognize(image);
  const closed = recognizer.close();
  t.ok(characterErrorRate(LEFT.join('\n'), pageText(await accepted)) <= 0.01, 'the accepted page is read');
  await closed;
  await t.rejects(recognizer.recognize(image), /closed/);
});

t.test('refuses a language with no installed model when created', async (t) => {
  t.throws(() => createTesseractRecognizer({ languages: ['fra', 'xyz'] }), /no Tesseract model for language "xyz"/);
  t.throws(() => createTesseractRecognizer({ languages: ['../fra'] }), RangeError);
  t.throws(() => createTesseractRecognizer({ languages: [] }), RangeError);
});
