import t from 'tap';
import { csvField, csvRecords, parseCsv, toCsv } from './csv.js';

t.test('parseCsv: quotes, doubled quotes, every line ending, embedded newlines', async (t) => {
  t.same(parseCsv('a,b\r\n1,2\r\n'), [['a', 'b'], ['1', '2']], 'CRLF, final line break starts no record');
  t.same(parseCsv('a,b\n1,2'), [['a', 'b'], ['1', '2']], 'LF, no final line break');
  t.same(parseCsv('a,b\r1,2\r'), [['a', 'b'], ['1', '2']], 'old Mac CR');
  t.same(parseCsv('"x, y","say ""hi""",z\n'), [['x, y', 'say "hi"', 'z']]);
  t.same(parseCsv('a,"two\r\nlines",c\nd,e,f\n'), [['a', 'two\r\nlines', 'c'], ['d', 'e', 'f']]);
  t.same(parseCsv('a,,\n,,\n'), [['a', '', ''], ['', '', '']], 'empty fields kept');
  t.same(parseCsv('\ufeffname\nx\n'), [['name'], ['x']], 'BOM dropped');
  t.same(parseCsv('a\n\nb\n\n\n'), [['a'], [''], ['b']], 'inner blank line kept, trailing ones dropped');
  t.same(parseCsv(''), []);
  t.same(parseCsv('""'), [], 'one empty quoted field at the end is padding too');
  t.same(parseCsv('"a"b,c'), [['ab', 'c']], 'text after a closing quote is kept, as spreadsheets do');
});

t.test('parseCsv: an unterminated quote is a validation error naming the line', async (t) => {
  t.throws(() => parseCsv('a,b\n1,"open\n2,3\n', { source: 'bad.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: /bad\.csv: a quoted field opened on line 2/ });
});

t.test('the writer round-trips through the reader', async (t) => {
  const rows = [
    ['plain', 'a,b', 'say "hi"'],
    ['two\nlines', 'cr\rhere', ''],
    ['https://example.org/iiif/x/0,0,10,10/full/0/default.jpg', 'ü', ' padded '],
  ];
  const text = toCsv(['one', 'two', 'three'], rows);
  t.ok(text.endsWith('\r\n'));
  t.same(parseCsv(text), [['one', 'two', 'three'], ...rows]);
});

t.test('csvField defuses spreadsheet formulas and leaves numbers alone', async (t) => {
  t.equal(csvField('=1+1'), "'=1+1");
  t.equal(csvField('-x'), "'-x");
  t.equal(csvField(-3), '-3');
  t.equal(csvField(undefined), '');
  t.equal(csvField(true), 'true');
});

t.test('csvRecords: by header name, trimmed, unnamed columns and blank rows ignored', async (t) => {
  const text = [
    ' category ,URI,,Unnamed: 3,skos_concept',
    'building , http://x/item/1 ,junk,0,"http://dbpedia.org/resource/Ceramic\n"',
    ',,,,',
    'map,http://x/item/2',
    'toy,http://x/item/3,,,http://c/3,,,',
    '',
  ].join('\r\n');
  const { header, records, lines } = csvRecords(text, { required: ['category', 'URI'] });
  t.same(header, ['category', 'URI', 'skos_concept']);
  t.same(records, [
    { category: 'building', URI: 'http://x/item/1', skos_concept: 'http://dbpedia.org/resource/Ceramic' },
    { category: 'map', URI: 'http://x/item/2', skos_concept: '' },
    { category: 'toy', URI: 'http://x/item/3', skos_concept: 'http://c/3' },
  ]);
  t.same(lines, [2, 5, 6], 'lines count the quoted line break and the skipped blank row');
});

t.test('csvRecords: a missing required column names the column, the file and the columns found', async (t) => {
  t.throws(() => csvRecords('category,URL\nx,y\n', { required: ['category', 'URI'], source: 'data.csv' }), {
    code: 'LOUPE_ERR_VALIDATION',
    message: "data.csv has no column 'URI' (columns found: category, URL)",
    details: { missing: ['URI'], columns: ['category', 'URL'] },
  });
});

t.test('csvRecords: values beyond the header and duplicate columns are refused', async (t) => {
  t.throws(() => csvRecords('a,b\n1,2,3\n', { source: 'wide.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: /^wide\.csv line 2: 3 fields/ });
  t.throws(() => csvRecords('a,b,a\n1,2,3\n'), { code: 'LOUPE_ERR_VALIDATION', message: /'a' appears twice/ });
  t.same(csvRecords('').records, [], 'an empty file has no records');
});
