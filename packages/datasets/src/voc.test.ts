import t from 'tap';
import type { LabelledImage } from './model.js';
import { fromVoc, toVoc } from './voc.js';

t.test('a 0-based box over pixels 0..9 is VOC 1..10, and back', async (t) => {
  const image: LabelledImage = { id: 'c', file: 'a.jpg', width: 20, height: 20, labels: [{ label: 'cat', box: { x: 0, y: 0, w: 10, h: 10 } }] };
  const xml = toVoc(image);
  t.match(xml, /<xmin>1<\/xmin>\s*<ymin>1<\/ymin>\s*<xmax>10<\/xmax>\s*<ymax>10<\/ymax>/);
  t.same(fromVoc(xml).labels[0]!.box, { x: 0, y: 0, w: 10, h: 10 });
  const shifted = toVoc({ ...image, labels: [{ label: 'cat', box: { x: 5, y: 7, w: 1, h: 3 } }] });
  t.match(shifted, /<xmin>6<\/xmin>\s*<ymin>8<\/ymin>\s*<xmax>6<\/xmax>\s*<ymax>10<\/ymax>/, 'a one-pixel-wide box has xmin = xmax');
});

t.test('fractional boxes are rounded to whole pixels on export', async (t) => {
  const xml = toVoc({ id: 'c', labels: [{ label: 'a', box: { x: 10.4, y: 0.6, w: 20.2, h: 0.3 } }] });
  // x: round(10.4) = 10 -> xmin 11; x + w = 30.6 -> xmax 31. y: round(0.6) = 1 -> ymin 2; y + h = 0.9
  // rounds to 1, below ymin, so the box keeps one pixel: ymax 2.
  t.match(xml, /<xmin>11<\/xmin>\s*<ymin>2<\/ymin>\s*<xmax>31<\/xmax>\s*<ymax>2<\/ymax>/);
  t.same(fromVoc(xml).labels[0]!.box, { x: 10, y: 1, w: 21, h: 1 });
});

t.test('LabelledImage -> VOC -> LabelledImage is the identity for integer boxes', async (t) => {
  const images: LabelledImage[] = [
    {
      id: 'https://iiif.example/canvas/1',
      manifest: 'https://iiif.example/manifest.json',
      url: 'https://iiif.example/image/1/full/max/0/default.jpg',
      file: '1.jpg',
      externalId: '/2064105/Museu_1',
      width: 640,
      height: 480,
      labels: [
        { concept: 'http://www.wikidata.org/entity/Q146', label: 'cat', box: { x: 0, y: 0, w: 640, h: 480 } },
        { concept: 'http://www.wikidata.org/entity/Q144', box: { x: 12, y: 30, w: 1, h: 1 }, difficult: true },
        { label: 'Fish & <Chips> "quoted" \'single\'', box: { x: 100, y: 200, w: 50, h: 25 }, score: 0.875 },
        { label: 'boat', box: { x: 3, y: 4, w: 5, h: 6 } },
      ],
    },
    { id: 'https://iiif.example/canvas/2', file: '2.jpg', labels: [] },
    { id: 'local/3', file: 'three.png', width: 10, height: 10, labels: [{ label: 'x', box: { x: 9, y: 9, w: 1, h: 1 } }] },
  ];
  for (const image of images) t.strictSame(fromVoc(toVoc(image)), image, image.id);
});

t.test('toVoc writes the VOC layout, escapes text and leaves out labels without box', async (t) => {
  const xml = toVoc(
    {
      id: 'https://iiif.example/canvas/1?a=1&b=2',
      url: 'https://iiif.example/image/1/full/max/0/default.jpg?x=1',
      width: 300,
      height: 200,
      labels: [
        { label: 'R&D <lab>', box: { x: 1, y: 2, w: 3, h: 4 } },
        { concept: 'http://x/whole', label: 'whole image' },
        { text: 'a line', box: { x: 1, y: 1, w: 1, h: 1 } },
      ],
    },
    { folder: 'VOC2012', database: 'Rijksmuseum' },
  );
  t.equal(
    xml,
    [
      '<annotation>',
      '\t<folder>VOC2012</folder>',
      '\t<filename>default.jpg</filename>',
      '\t<path>https://iiif.example/canvas/1?a=1&amp;b=2</path>',
      '\t<url>https://iiif.example/image/1/full/max/0/default.jpg?x=1</url>',
      '\t<source>',
      '\t\t<database>Rijksmuseum</database>',
      '\t</source>',
      '\t<size>',
      '\t\t<width>300</width>',
      '\t\t<height>200</height>',
      '\t\t<depth>3</depth>',
      '\t</size>',
      '\t<segmented>0</segmented>',
      '\t<object>',
      '\t\t<name>R&amp;D &lt;lab&gt;</name>',
      '\t\t<pose>Unspecified</pose>',
      '\t\t<truncated>0</truncated>',
      '\t\t<difficult>0</difficult>',
      '\t\t<bndbox>',
      '\t\t\t<xmin>2</xmin>',
      '\t\t\t<ymin>3</ymin>',
      '\t\t\t<xmax>4</xmax>',
      '\t\t\t<ymax>6</ymax>',
      '\t\t</bndbox>',
      '\t</object>',
      '</annotation>',
      '',
    ].join('\n'),
  );
});

// As LabelImg writes it: attributes on the root, a local path, one object (so the parser sees a
// single element, not a list), whitespace around values, a zero-based corner, numbers with
// fractions from another tool, and an entity.
const LABELIMG = `<?xml version="1.0" encoding="utf-8"?>
<annotation verified="yes">
	<folder>images</folder>
	<filename>000005.jpg</filename>
	<path>/home/ann/images/000005.jpg</path>
	<source>
		<database>Unknown</database>
	</source>
	<size>
		<width>500</width>
		<height>375</height>
		<depth>3</depth>
	</size>
	<segmented>0</segmented>
	<object>
		<name> chair &amp; table </name>
		<pose>Rear</pose>
		<truncated>0</truncated>
		<difficult>1</difficult>
		<bndbox>
			<xmin>0</xmin>
			<ymin>211</ymin>
			<xmax>324</xmax>
			<ymax>339.5</ymax>
		</bndbox>
	</object>
</annotation>
`;

t.test('fromVoc reads a typical LabelImg file', async (t) => {
  t.same(fromVoc(LABELIMG), {
    id: '/home/ann/images/000005.jpg',
    file: '000005.jpg',
    width: 500,
    height: 375,
    labels: [{ label: 'chair & table', box: { x: 0, y: 210, w: 324, h: 129.5 }, difficult: true }],
  });
  const twoObjects = LABELIMG.replace('</object>', '</object>\n\t<object><name>&#233;tag&#xE8;re</name><bndbox><xmin>10</xmin><ymin>10</ymin><xmax>19</xmax><ymax>19</ymax></bndbox></object>');
  t.same(fromVoc(twoObjects).labels.map((l) => [l.label, l.box]), [
    ['chair & table', { x: 0, y: 210, w: 324, h: 129.5 }],
    ['étagère', { x: 9, y: 9, w: 10, h: 10 }],
  ], 'several objects, character references');
  const noPath = LABELIMG.replace(/<path>.*<\/path>/u, '').replace(/<size>[^]*<\/size>/u, '');
  t.same(fromVoc(noPath), { id: '000005.jpg', file: '000005.jpg', labels: [{ label: 'chair & table', box: { x: 0, y: 210, w: 324, h: 129.5 }, difficult: true }] }, 'no path: the file name is the id; no size');
  t.same(fromVoc('<annotation><filename>empty.jpg</filename></annotation>').labels, [], 'no objects');
});

t.test('fromVoc names the bad element', async (t) => {
  const refused = (xml: string, message: RegExp, what: string) => t.throws(() => fromVoc(xml, { source: '000005.xml' }), { name: 'LoupeError', code: 'LOUPE_ERR_VALIDATION', message }, what);
  refused('<annotation><filename>a</filename>', /^000005\.xml: line 1 column \d+ is not well-formed XML/, 'unclosed');
  refused('not xml at all', /is not well-formed XML/, 'text');
  refused('<coco>1</coco>', /annotation is missing/, 'another root');
  refused('<annotation><folder>x</folder></annotation>', /annotation\/filename is missing/, 'no file name');
  refused(LABELIMG.replace('<xmax>324</xmax>', '<xmax>3x4</xmax>'), /annotation\/object\[1\]\/bndbox\/xmax is not a number \("3x4"\)/, 'a bad number');
  refused(LABELIMG.replace('<ymin>211</ymin>', ''), /annotation\/object\[1\]\/bndbox\/ymin is missing/, 'a missing corner');
  refused(LABELIMG.replace('<xmax>324</xmax>', '<xmax>-4</xmax>'), /annotation\/object\[1\]\/bndbox\/xmax \(-4\) is less than xmin \(0\)/, 'inverted corners');
  refused(LABELIMG.replace(/<bndbox>[^]*<\/bndbox>/u, ''), /annotation\/object\[1\]\/bndbox is missing/, 'no bndbox');
  refused(LABELIMG.replace('<name> chair &amp; table </name>', '<name></name>'), /annotation\/object\[1\]\/name is missing or empty/, 'an empty name');
  refused(LABELIMG.replace('<difficult>1</difficult>', '<difficult>yes</difficult>'), /annotation\/object\[1\]\/difficult is not 0 or 1/, 'difficult yes');
  refused(LABELIMG.replace('<width>500</width>', '<width>wide</width>'), /annotation\/size\/width is not a number/, 'a bad width');
  refused(LABELIMG.replace('</object>', '</object><object><name>b</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>b</ymax></bndbox></object>'), /annotation\/object\[2\]\/bndbox\/ymax/, 'the second object');
});

t.test('XML with a DOCTYPE or entity declarations is refused before it is parsed', async (t) => {
  const annotation = '<annotation><filename>a.jpg</filename></annotation>';
  const unsafe = {
    'a bare DOCTYPE': `<?xml version="1.0"?><!DOCTYPE annotation>${annotation}`,
    'an external entity (file read)': `<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><annotation><filename>&xxe;</filename></annotation>`,
    'nested entities (expansion bomb)': `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><annotation><filename>&lol2;</filename></annotation>`,
    'an external DTD, lower case, after a BOM': `\uFEFF<!doctype annotation SYSTEM "http://169.254.169.254/dtd">${annotation}`,
    'a parameter entity': `<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.org/p.dtd"> %p;]>${annotation}`,
  };
  for (const [what, xml] of Object.entries(unsafe)) {
    t.throws(() => fromVoc(xml, { source: 'upload.xml' }), {
      code: 'LOUPE_ERR_XML_UNSAFE',
      status: 400,
      message: 'upload.xml: the XML declares a DOCTYPE or entities, which Loupe refuses (a VOC annotation needs neither)',
    }, what);
  }
  const harmless = `<!-- exported with <!DOCTYPE> stripped --><annotation><filename><![CDATA[<!DOCTYPE>.jpg]]></filename></annotation>`;
  t.equal(fromVoc(harmless).id, '<!DOCTYPE>.jpg', 'the words in a comment or a CDATA section are text, not a declaration');
});
