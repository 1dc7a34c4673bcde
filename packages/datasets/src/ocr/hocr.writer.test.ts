import t from 'tap';
import { HOCR_CAPABILITIES, toHocr } from './hocr.writer.js';
import { descendants, heritagePage, parseXml, XSD_LANGUAGE, type XmlElement } from './ocr-page.test-support.js';

const opts = { imageUri: 'https://iiif.example/image/p1/full/max/0/default.jpg?a=1&b=2', canvasId: 'https://iiif.example/canvas/p1', software: { name: 'Loupe', version: '0.1.0' } };

const classOf = (e: XmlElement): string | undefined => e.attrs['class'];
const bboxOf = (e: XmlElement): number[] => /bbox (\d+) (\d+) (\d+) (\d+)/u.exec(e.attrs['title'] ?? '')!.slice(1).map(Number);
const within = (a: number[], b: number[]): boolean => a[0]! >= b[0]! && a[1]! >= b[1]! && a[2]! <= b[2]! && a[3]! <= b[3]!;

t.test('hOCR 1.2: XHTML, the required metadata, and page > carea > par > line > word with nested bboxes', async (t) => {
  const root = parseXml(toHocr(heritagePage(), opts));
  t.equal(root.name, 'html');
  t.equal(root.attrs['xmlns'], 'http://www.w3.org/1999/xhtml');
  const metas = Object.fromEntries(descendants(root).filter((e) => e.name === 'meta' && e.attrs['name'] !== undefined).map((e) => [e.attrs['name'], e.attrs['content']]));
  t.equal(metas['ocr-system'], 'tesseract-lstm 5.5.0 (Loupe 0.1.0)');
  t.equal(metas['ocr-capabilities'], HOCR_CAPABILITIES.join(' '));
  t.equal(metas['ocr-langs'], 'fr la');

  const all = descendants(root);
  const ids = all.map((e) => e.attrs['id']).filter(Boolean);
  t.equal(new Set(ids).size, ids.length, 'ids are unique');
  const used = new Set(all.map(classOf).filter((c): c is string => c?.startsWith('ocr') === true));
  for (const c of used) t.ok((HOCR_CAPABILITIES as readonly string[]).includes(c), `${c} is a listed capability`);
  for (const e of all) if (e.attrs['lang'] !== undefined) t.match(e.attrs['lang'], XSD_LANGUAGE);

  const page = all.find((e) => classOf(e) === 'ocr_page')!;
  t.equal(page.attrs['title'], `image "${opts.imageUri}"; bbox 0 0 1200 1600; ppageno 0`);
  const areas = page.children;
  t.strictSame(areas.map(classOf), ['ocr_carea', 'ocr_carea', 'ocr_carea']);
  for (const area of areas) {
    t.ok(within(bboxOf(area), bboxOf(page)));
    const [par] = area.children;
    t.equal(classOf(par!), 'ocr_par');
    for (const line of par!.children) {
      t.ok(within(bboxOf(line), bboxOf(par!)), `${line.attrs['id']} inside its paragraph`);
      for (const word of line.children) {
        t.equal(classOf(word), 'ocrx_word');
        t.ok(within(bboxOf(word), bboxOf(line)), `${word.attrs['id']} inside its line`);
        t.match(word.attrs['title'], /; x_wconf (\d|[1-9]\d|100)$/u);
      }
    }
  }
});

t.test('headings are ocr_header lines, languages sit on the paragraph, text is escaped and NFC', async (t) => {
  const root = parseXml(toHocr(heritagePage(), opts));
  const pars = descendants(root).filter((e) => classOf(e) === 'ocr_par');
  t.strictSame(pars.map((p) => p.attrs['lang']), ['fr', 'fr', undefined]);
  t.strictSame(pars[0]!.children.map(classOf), ['ocr_header']);
  t.strictSame(pars[2]!.children.map((l) => l.attrs['lang']), ['fr', 'la']);
  const words = (p: number, l: number): string[] => pars[p]!.children[l]!.children.map((w) => w.text);
  t.strictSame(words(1, 1), ['Fish', '&', '<Chips>', 'œuvre']);
  t.strictSame(words(1, 2), ['des anciens ; mais,']);
  t.equal(pars[1]!.children[0]!.children[3]!.attrs['title'], 'bbox 336 201 571 242; x_wconf 88');
  const decomposed = heritagePage();
  decomposed.blocks[1]!.lines[0]!.words[0]!.text = 'e\u0301chappe\u0301s';
  t.match(toHocr(decomposed), />échappés</u, 'combining accents come out composed');
});

t.test('without a known language or image, nothing is invented', async (t) => {
  const xml = toHocr({ ...heritagePage(), languages: ['osd'], blocks: [] });
  t.match(xml, /<meta name="ocr-langs" content="unknown"\/>/);
  t.match(xml, /title="bbox 0 0 1200 1600; ppageno 0"/);
  t.notMatch(xml, / lang=/);
  t.doesNotThrow(() => parseXml(xml));
});
