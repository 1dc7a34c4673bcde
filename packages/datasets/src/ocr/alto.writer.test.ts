import t from 'tap';
import { toAlto } from './alto.writer.js';
import { altoProblems, descendants, heritagePage, parseXml } from './ocr-page.test-support.js';

const opts = {
  imageUri: 'https://iiif.example/image/p1/full/max/0/default.jpg?a=1&b=2',
  canvasId: 'https://iiif.example/canvas/p1',
  created: new Date('2024-05-01T12:00:00Z'),
  software: { name: 'Loupe', version: '0.1.0' },
};

t.test('a two-column page with a heading passes the structural checks written from alto-4-4.xsd', async (t) => {
  t.strictSame(altoProblems(toAlto(heritagePage(), opts)), []);
  t.strictSame(altoProblems(toAlto({ ...heritagePage(), blocks: [] })), [], 'an empty page');
});

t.test('the structural check finds what the XSD would refuse', async (t) => {
  const good = toAlto(heritagePage(), opts);
  t.match(altoProblems(good.replace('WC="0.99"', 'WC="1.5"')), [/WC 1.5 is outside 0..1/]);
  t.match(altoProblems(good.replace('ID="P1_TB2_TL1"', 'ID="P1_TB1_TL1"')), [/ID P1_TB1_TL1 is not unique/]);
  t.match(altoProblems(good.replace('<MeasurementUnit>pixel</MeasurementUnit>', '')), [/MeasurementUnit must come first/]);
  t.match(altoProblems(good.replace('TAGREFS="TAG_heading"', 'TAGREFS="TAG_nothing"')), [/names no tag/]);
  t.match(altoProblems(good.replace('LANG="la"', 'LANG="la_old"')), [/not an xsd:language/]);
});

t.test('Description names the image, the canvas, the engine, its language models and Loupe', async (t) => {
  const root = parseXml(toAlto(heritagePage(), opts));
  const text = (name: string): string => descendants(root).find((e) => e.name === name)!.text;
  t.equal(text('MeasurementUnit'), 'pixel');
  t.equal(text('fileName'), opts.imageUri, '& survives escaping');
  t.equal(text('fileIdentifier'), opts.canvasId);
  t.equal(text('processingDateTime'), '2024-05-01T12:00:00.000Z');
  t.equal(text('processingStepSettings'), 'language models: fra+lat');
  t.equal(text('softwareName'), 'tesseract-lstm');
  t.equal(text('softwareVersion'), '5.5.0');
  t.equal(text('applicationDescription'), 'run by Loupe 0.1.0');
  const bare = toAlto(heritagePage());
  t.notMatch(bare, /sourceImageInformation|processingDateTime|applicationDescription/, 'nothing is invented when options are absent');
  t.equal(toAlto(heritagePage()), bare, 'the same page writes the same bytes');
});

t.test('blocks keep reading order, headings are tagged, languages are BCP 47 where known', async (t) => {
  const root = parseXml(toAlto(heritagePage(), opts));
  const all = descendants(root);
  t.strictSame(
    all.filter((e) => e.name.endsWith('Tag')).map((e) => [e.name, e.attrs['ID'], e.attrs['LABEL']]),
    [['StructureTag', 'TAG_heading', 'heading']],
  );
  const blocks = all.filter((e) => e.name === 'TextBlock');
  t.strictSame(
    blocks.map((b) => [b.attrs['ID'], b.attrs['TAGREFS'], b.attrs['LANG'], b.attrs['HPOS']]),
    [
      ['P1_TB1', 'TAG_heading', 'fr', '100'],
      ['P1_TB2', undefined, 'fr', '100'],
      ['P1_TB3', undefined, undefined, '620'],
    ],
    'the right column mixes French and Latin, so its lines carry LANG instead',
  );
  t.strictSame(blocks[2]!.children.map((l) => l.attrs['LANG']), ['fr', 'la']);
  t.strictSame(blocks[1]!.children.map((l) => l.attrs['LANG']), [undefined, undefined, undefined], 'a line in its block language does not repeat it');
  const page = all.find((e) => e.name === 'Page')!;
  t.strictSame([page.attrs['ID'], page.attrs['PHYSICAL_IMG_NR'], page.attrs['WIDTH'], page.attrs['HEIGHT']], ['P1', '1', '1200', '1600']);
});

t.test('words are Strings with escaped CONTENT, WC and spaces between them; boxes are whole pixels that nest', async (t) => {
  const root = parseXml(toAlto(heritagePage(), opts));
  const lines = descendants(root).filter((e) => e.name === 'TextLine');
  const contents = (i: number): string[] => lines[i]!.children.filter((c) => c.name === 'String').map((s) => s.attrs['CONTENT']!);
  t.strictSame(contents(0), ['JOURNAL', 'DES', 'SÇAVANS']);
  t.strictSame(contents(1), ['échappés', 'à', 'la', 'perspicacité']);
  t.strictSame(contents(2), ['Fish', '&', '<Chips>', 'œuvre'], 'U+0000 is dropped, & and < come back');
  t.strictSame(contents(3), ['des anciens ; mais,'], 'a line without words keeps its text as one String');
  const first = lines[1]!;
  t.strictSame([first.attrs['HPOS'], first.attrs['VPOS'], first.attrs['WIDTH'], first.attrs['HEIGHT']], ['100', '201', '471', '41'], 'rounded, and grown to hold the word below it');
  const strings = first.children.filter((c) => c.name === 'String');
  t.equal(strings[3]!.attrs['WC'], '0.877');
  t.strictSame(
    first.children.filter((c) => c.name === 'SP').map((s) => [s.attrs['HPOS'], s.attrs['WIDTH']]),
    [['250', '12'], ['282', '12'], ['324', '12']],
  );
  const raw = toAlto(heritagePage(), opts);
  t.match(raw, /CONTENT="&lt;Chips&gt;"/);
  t.notMatch(raw, /\u0000/);
});

t.test('text that XML cannot carry is dropped, and coordinates outside the image are clamped', async (t) => {
  const page = heritagePage();
  page.blocks = [
    {
      role: 'caption',
      box: { x: -10, y: 1590, w: 50, h: 30 },
      lines: [{ text: 'x', box: { x: -10, y: 1590, w: 50, h: 30 }, confidence: Number.NaN, words: [{ text: 'a\uD800"b\'\u0007c\td', box: { x: -10, y: 1590, w: 50, h: 30 }, confidence: 1.2 }] }],
    },
  ];
  const xml = toAlto(page);
  t.strictSame(altoProblems(xml), []);
  const string = descendants(parseXml(xml)).find((e) => e.name === 'String')!;
  t.equal(string.attrs['CONTENT'], 'a"b\'c\td');
  t.equal(string.attrs['WC'], '1');
  t.strictSame([string.attrs['HPOS'], string.attrs['VPOS'], string.attrs['WIDTH'], string.attrs['HEIGHT']], ['0', '1590', '40', '10']);
  t.match(xml, /<StructureTag ID="TAG_caption" LABEL="caption"\/>/);
});
