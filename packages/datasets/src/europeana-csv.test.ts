import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseCsv } from './csv.js';
import { EUROPEANA_CSV_HEADER, fromEuropeanaCsv, toEuropeanaCsv } from './europeana-csv.js';
import type { LabelledImage } from './model.js';
import { mergeVocabularies, parseConceptCsv, parseEuropeanaVocabularyJson, type SkosVocabulary } from './skos.js';
import { seededRandom as random } from './random.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PILOT = join(repoRoot, '..', 'shared', 'fixtures', 'vocabularies', 'europeana-rd-img-classification');

const BASE = 'http://data.europeana.eu/concept/base/';
const AAT = 'http://vocab.getty.edu/aat/';
const ITEM = 'http://data.europeana.eu/item/';

const vocabulary: SkosVocabulary = parseEuropeanaVocabularyJson({
  building: `${BASE}29`,
  drawing: `${BASE}35`,
  photograph: `${BASE}48`,
  postcard: `${BASE}50`,
  archaeological_site: `${AAT}300266151`,
});

t.test('columns by name in any order, multi-label rows, unnamed columns, blank rows', async (t) => {
  const text = [
    'URI,skos_concept,Unnamed: 2,category,ID,URL,,',
    `${ITEM}1/a,${BASE}29 ${BASE}35,0,building drawing,/1/a,"https://img.example/a.jpg?size=1200,1200",,`,
    ',,,,,,,',
    `${ITEM}1/b,${AAT}300266151,1,archaeological_site ,,https://img.example/b.jpg,,`,
  ].join('\n');
  const result = fromEuropeanaCsv(text);
  t.same(result, {
    images: [
      { id: `${ITEM}1/a`, url: 'https://img.example/a.jpg?size=1200,1200', externalId: '/1/a', labels: [{ concept: `${BASE}29`, label: 'building' }, { concept: `${BASE}35`, label: 'drawing' }] },
      { id: `${ITEM}1/b`, url: 'https://img.example/b.jpg', labels: [{ concept: `${AAT}300266151`, label: 'archaeological_site' }] },
    ],
    problems: [],
    rows: 2,
  });
});

t.test('names resolve through the vocabulary where skos_concept does not pair up with them', async (t) => {
  const text = [
    'category,skos_concept,URI,ID,URL',
    `building photograph,${BASE}29,${ITEM}2/a,/2/a,https://img/a`, // one URI for two names: the vocabulary completes it
    `photograph,${BASE}29,${ITEM}2/b,/2/b,https://img/b`, // the URI is another category's
    `drawing postcard,${BASE}29,${ITEM}2/c,/2/c,https://img/c`, // a URI that is neither name's
    `furniiture,${BASE}37,${ITEM}2/d,/2/d,https://img/d`, // paired: taken as given
    `building,${BASE}29,${ITEM}2/e,/2/e,`, // no URL
    `building,${BASE}29,,/2/f,https://img/f`, // no URI
  ].join('\r\n');

  const without = fromEuropeanaCsv(text, { source: 'ml.csv' });
  t.same(without.images.map((i) => i.id), [`${ITEM}2/b`, `${ITEM}2/d`], 'without a vocabulary only paired rows are read, as given');
  t.same(without.problems, [
    { line: 2, message: '2 category names (building photograph) but 1 skos_concept URIs: pass a vocabulary to resolve the names' },
    { line: 4, message: '2 category names (drawing postcard) but 1 skos_concept URIs: pass a vocabulary to resolve the names' },
    { line: 6, message: 'no URL' },
    { line: 7, message: 'no URI' },
  ]);

  const withVocabulary = fromEuropeanaCsv(text, { vocabulary });
  t.same(withVocabulary.images, [
    { id: `${ITEM}2/a`, url: 'https://img/a', externalId: '/2/a', labels: [{ concept: `${BASE}29`, label: 'building' }, { concept: `${BASE}48`, label: 'photograph' }] },
    { id: `${ITEM}2/d`, url: 'https://img/d', externalId: '/2/d', labels: [{ concept: `${BASE}37`, label: 'furniiture' }] },
  ]);
  t.same(withVocabulary.problems, [
    { line: 3, message: `category 'photograph' is ${BASE}48 in the vocabulary but skos_concept gives ${BASE}29` },
    { line: 4, message: `skos_concept ${BASE}29 is not the concept of any category (drawing postcard)` },
    { line: 6, message: 'no URL' },
    { line: 7, message: 'no URI' },
  ]);
});

t.test('without skos_concept: concepts from the vocabulary (notation or label), unknown names are problems', async (t) => {
  const withMaps: SkosVocabulary = { ...vocabulary, concepts: [...vocabulary.concepts, { uri: `${BASE}43`, prefLabel: { en: 'map' }, altLabel: { en: ['chart'] } }] };
  const text = [
    'URI,ID,URL,category,,',
    `${ITEM}3/a,/3/a,https://img/a,archaeological_site,,hat`,
    `${ITEM}3/b,/3/b,https://img/b,Archaeological_Site Map,,`,
    `${ITEM}3/c,/3/c,https://img/c,chart furniiture,,`,
    `${ITEM}3/a,/3/a,https://img/a,building,,`,
    `${ITEM}3/a,,https://img/other,archaeological_site,,`,
  ].join('\r\n');
  const { images, problems, rows } = fromEuropeanaCsv(text, { vocabulary: withMaps });
  t.equal(rows, 5);
  t.same(images, [
    {
      id: `${ITEM}3/a`,
      url: 'https://img/a',
      externalId: '/3/a',
      labels: [{ concept: `${AAT}300266151`, label: 'archaeological_site' }, { concept: `${BASE}29`, label: 'building' }],
    },
    { id: `${ITEM}3/b`, url: 'https://img/b', externalId: '/3/b', labels: [{ concept: `${AAT}300266151`, label: 'Archaeological_Site' }, { concept: `${BASE}43`, label: 'Map' }] },
  ], 'names match notations and labels in any case; the same item twice merges its labels, once each');
  t.same(problems, [{ line: 4, message: "the vocabulary has no category 'furniiture'" }], 'one unknown name leaves the row out');

  t.throws(() => fromEuropeanaCsv(text, { source: 'eval.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: /^eval\.csv has no skos_concept column/ });
  t.throws(() => fromEuropeanaCsv('category,URI\nx,y\n', { source: 'x.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: "x.csv has no column 'URL' (columns found: category, URI)" });
});


t.test('round trip: generated images -> CSV -> images', async (t) => {
  const next = random(7);
  const names = vocabulary.concepts.map((c) => ({ concept: c.uri, label: c.notation! }));
  const images: LabelledImage[] = [];
  for (let i = 0; i < 300; i++) {
    const pool = [...names];
    const labels = Array.from({ length: 1 + Math.floor(next() * 3) }, () => pool.splice(Math.floor(next() * pool.length), 1)[0]!);
    images.push({
      id: `${ITEM}gen/${i}`,
      url: `https://img.example/iiif/${i}/full/max/0/default.jpg${next() < 0.2 ? '?a="q",b' : ''}`,
      ...(next() < 0.8 ? { externalId: `/gen/${i}` } : {}),
      labels,
    });
  }
  const text = toEuropeanaCsv(images);
  t.same(parseCsv(text)[0], [...EUROPEANA_CSV_HEADER], 'the header, exactly');
  const back = fromEuropeanaCsv(text);
  t.same(back.problems, []);
  t.same(back.images, images);
  t.equal(toEuropeanaCsv(back.images), text, 'and again to the same text');
});

t.test('toEuropeanaCsv: names from conceptName, spaces joined, labels without a concept left out', async (t) => {
  const text = toEuropeanaCsv(
    [
      {
        id: `${ITEM}4/a`,
        url: 'https://img/a',
        labels: [
          { concept: `${AAT}300266151`, label: 'archaeological site' },
          { concept: `${BASE}29`, label: 'Building' },
          { concept: `${BASE}29`, label: 'duplicate' },
          { label: 'no concept' },
          { concept: 'http://example.org/c/mystery/' },
        ],
      },
      { id: `${ITEM}4/b`, labels: [{ label: 'only text' }] },
    ],
    { conceptName: (uri) => (uri === `${BASE}29` ? 'building' : undefined) },
  );
  t.equal(
    text,
    `category,skos_concept,URI,URL,ID\r\narchaeological_site building mystery,${AAT}300266151 ${BASE}29 http://example.org/c/mystery/,${ITEM}4/a,https://img/a,\r\n`,
  );
});

t.test('the pilot dataset CSVs', async (t) => {
  const folder = join(PILOT, 'datasets');
  if (!existsSync(folder)) return t.plan(0, `no fixtures at ${folder} (the shared folder sits beside the repository)`);
  const pilot = mergeVocabularies(
    parseEuropeanaVocabularyJson(readFileSync(join(PILOT, 'vocabulary.json'), 'utf8')),
    parseConceptCsv(readFileSync(join(PILOT, 'uris_vocabularies.csv'), 'utf8')),
  );
  const known = new Set(pilot.concepts.flatMap((c) => [c.uri, ...(c.exactMatch ?? [])]));
  const files = readdirSync(folder).filter((f) => f.endsWith('.csv')).sort();
  t.ok(files.length >= 6, `${files.length} CSVs`);
  const counts: Record<string, { rows: number; images: number; labels: number; problems: number }> = {};
  for (const file of files) {
    const { images, problems, rows } = fromEuropeanaCsv(readFileSync(join(folder, file), 'utf8'), { vocabulary: pilot, source: file });
    const labels = images.reduce((n, i) => n + i.labels.length, 0);
    counts[file] = { rows, images: images.length, labels, problems: problems.length };
    t.comment(`${file}: ${rows} rows, ${images.length} images, ${labels} labels, ${problems.length} problems`);
    t.ok(images.every((i) => i.labels.length > 0 && i.url && i.labels.every((l) => known.has(l.concept!))), `${file}: every image has an URL and labels from the vocabulary`);
    t.ok(problems.every((p) => p.line > 1 && p.message.length > 0), `${file}: problems carry their line`);
    t.ok(images.length + problems.length <= rows, `${file}: each row is an image, part of one, or a problem`);
  }
  t.same(counts['crowdheritage_dataset.csv'], { rows: 2000, images: 1918, labels: 1918, problems: 0 }, 'crowdheritage: 2000 rows, repeated items merged');
  t.equal(counts['eval_dataset.csv']?.problems, 5, "eval: a misspelt 'furniiture' and four rows of notes");
  t.equal(counts['multilabel_eval_with_URL.csv']?.problems, 3, 'three rows without URL');
  t.equal(counts['multilabel_clean_training_data.csv']?.problems, 22, 'rows whose skos_concept is another category');
});
