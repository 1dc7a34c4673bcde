import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  mergeVocabularies,
  normaliseDbpediaUri,
  parseConceptCsv,
  parseEuropeanaVocabularyJson,
  parseSkosJsonLd,
  PILOT_VOCABULARY_ID,
  type SkosConcept,
  type SkosVocabulary,
} from './skos.js';

// The shared fixtures live beside the repository: <repo>/../shared/fixtures/vocabularies.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const PILOT = join(repoRoot, '..', 'shared', 'fixtures', 'vocabularies', 'europeana-rd-img-classification');

const SKOS = 'http://www.w3.org/2004/02/skos/core#';
const BASE = 'http://data.europeana.eu/concept/base/';
const AAT = 'http://vocab.getty.edu/aat/';

function byNotation(vocabulary: SkosVocabulary): Map<string, SkosConcept> {
  return new Map(vocabulary.concepts.map((c) => [c.notation ?? c.uri, c]));
}

function byUri(vocabulary: SkosVocabulary): Map<string, SkosConcept> {
  return new Map(vocabulary.concepts.map((c) => [c.uri, c]));
}

t.test('vocabulary.json: names trimmed, words for labels, the name as notation', async (t) => {
  const vocabulary = parseEuropeanaVocabularyJson(
    `{ "building": "${BASE}29", "archaeological_site": "${AAT}300266151", "clothing " : " ${AAT}300266639" }`,
  );
  t.equal(vocabulary.id, PILOT_VOCABULARY_ID);
  t.same(vocabulary.concepts, [
    { uri: `${BASE}29`, prefLabel: { en: 'building' }, notation: 'building' },
    { uri: `${AAT}300266151`, prefLabel: { en: 'archaeological site' }, notation: 'archaeological_site' },
    { uri: `${AAT}300266639`, prefLabel: { en: 'clothing' }, notation: 'clothing' },
  ]);
  const fromObject = parseEuropeanaVocabularyJson({ map: `${BASE}43`, chart: `${BASE}43` }, { id: 'maps', label: 'Maps' });
  t.same(fromObject, { id: 'maps', label: 'Maps', concepts: [{ uri: `${BASE}43`, prefLabel: { en: 'map' }, altLabel: { en: ['chart'] }, notation: 'map' }] }, 'a second name for one URI is an alternative label');
});

t.test('vocabulary.json: what is refused', async (t) => {
  t.throws(() => parseEuropeanaVocabularyJson('{"a": ', { source: 'v.json' }), { code: 'LOUPE_ERR_VALIDATION', message: /^v\.json is not JSON/ });
  t.throws(() => parseEuropeanaVocabularyJson(['x']), { code: 'LOUPE_ERR_VALIDATION', message: /must be an object/ });
  t.throws(() => parseEuropeanaVocabularyJson({ toy: 'not a uri' }), { code: 'LOUPE_ERR_VALIDATION', message: /'toy' maps to "not a uri"/ });
  t.throws(() => parseEuropeanaVocabularyJson({ toy: `${BASE}56`, 'toy ': `${BASE}57` }), { code: 'LOUPE_ERR_VALIDATION', message: /'toy' is .*56 at key 'toy' but .*57 at key 'toy '/ });
});

// The quirks of the pilot's uris_vocabularies.csv, made by hand: columns in another order, a
// missing wikidata column, names with trailing spaces, a quoted value ending in a line break,
// DBpedia page URLs, a row without a Europeana entity, CRLF line ends and a blank last line.
const CONCEPT_CSV = [
  'dbpedia,concept,ef_entity_collection,getty_aat,Unnamed: 4',
  `http://dbpedia.org/page/Building,building,${BASE}29,${AAT}300004792,`,
  `"http://dbpedia.org/resource/Ceramic\n",ceramics,${BASE}31,${AAT}300151343,`,
  `http://dbpedia.org/page/Clothing,clothing ,,${AAT}300266639,`,
  `,archaeological_site,,${AAT}300266151,`,
  `http://dbpedia.org/page/Medal,medal ,,${AAT}300046025,`,
  '',
].join('\r\n');

t.test('concept CSV: URI by priority, the rest as exactMatch, names trimmed', async (t) => {
  const vocabulary = parseConceptCsv(CONCEPT_CSV, { id: 'pilot' });
  t.equal(vocabulary.id, 'pilot');
  t.same(vocabulary.concepts, [
    { uri: `${BASE}29`, prefLabel: { en: 'building' }, notation: 'building', exactMatch: [`${AAT}300004792`, 'http://dbpedia.org/resource/Building'] },
    { uri: `${BASE}31`, prefLabel: { en: 'ceramics' }, notation: 'ceramics', exactMatch: [`${AAT}300151343`, 'http://dbpedia.org/resource/Ceramic'] },
    { uri: `${AAT}300266639`, prefLabel: { en: 'clothing' }, notation: 'clothing', exactMatch: ['http://dbpedia.org/resource/Clothing'] },
    { uri: `${AAT}300266151`, prefLabel: { en: 'archaeological site' }, notation: 'archaeological_site' },
    { uri: `${AAT}300046025`, prefLabel: { en: 'medal' }, notation: 'medal', exactMatch: ['http://dbpedia.org/resource/Medal'] },
  ]);
  t.equal(
    parseConceptCsv(`concept,wikidata\ntoy,http://www.wikidata.org/entity/Q11422\n`).concepts[0]!.uri,
    'http://www.wikidata.org/entity/Q11422',
    'Wikidata when there is neither a Europeana entity nor an AAT term',
  );
  t.equal(normaliseDbpediaUri('https://fr.dbpedia.org/page/Carte'), 'https://fr.dbpedia.org/resource/Carte');
});

t.test('concept CSV: what is refused', async (t) => {
  t.throws(() => parseConceptCsv('name,getty_aat\nx,http://a/1\n', { source: 'uris.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: "uris.csv has no column 'concept' (columns found: name, getty_aat)" });
  t.throws(() => parseConceptCsv('concept,dbpedia\nx,http://dbpedia.org/resource/X\n', { source: 'uris.csv' }), { code: 'LOUPE_ERR_VALIDATION', message: "uris.csv line 2: 'x' has no ef_entity_collection, getty_aat or wikidata URI" });
  t.throws(() => parseConceptCsv('concept,getty_aat\nx,aat 123\n'), { code: 'LOUPE_ERR_VALIDATION', message: /line 2: getty_aat of 'x' is not a URI/ });
});

t.test('the JSON and the CSV give a name the same URI, and merge into one vocabulary', async (t) => {
  const json = parseEuropeanaVocabularyJson({ building: `${BASE}29`, 'clothing ': `${AAT}300266639`, archaeological_site: `${AAT}300266151` });
  const csv = parseConceptCsv(CONCEPT_CSV);
  const csvByName = byNotation(csv);
  for (const concept of json.concepts) t.equal(csvByName.get(concept.notation!)?.uri, concept.uri, concept.notation!);
  const merged = mergeVocabularies(json, csv);
  t.equal(merged.concepts.length, 5, 'one concept per URI');
  t.same(byUri(merged).get(`${BASE}29`), csvByName.get('building'), 'the CSV adds its matches to the JSON concept');
});

t.test('mergeVocabularies: labels, alternatives and matches joined; a keeps its preferred labels', async (t) => {
  const a: SkosVocabulary = { id: 'a', concepts: [{ uri: 'http://c/1', prefLabel: { en: 'map' }, exactMatch: ['http://w/1'] }] };
  const b: SkosVocabulary = {
    id: 'b',
    label: 'B',
    concepts: [
      { uri: 'http://c/1', prefLabel: { en: 'chart', fr: 'carte' }, altLabel: { en: ['map', 'plan'] }, notation: 'M', exactMatch: ['http://w/1', 'http://w/2'], broader: ['http://c/0'] },
      { uri: 'http://c/2', prefLabel: { en: 'toy' } },
    ],
  };
  t.same(mergeVocabularies(a, b), {
    id: 'a',
    label: 'B',
    concepts: [
      { uri: 'http://c/1', prefLabel: { en: 'map', fr: 'carte' }, altLabel: { en: ['chart', 'plan'] }, notation: 'M', broader: ['http://c/0'], exactMatch: ['http://w/1', 'http://w/2'] },
      { uri: 'http://c/2', prefLabel: { en: 'toy' } },
    ],
  });
});

t.test('SKOS JSON-LD, compacted with an inline context: languages, links and their inverses', async (t) => {
  const doc = {
    '@context': {
      skos: SKOS,
      rdfs: 'http://www.w3.org/2000/01/rdf-schema#',
      ex: 'http://example.org/vocab/',
      prefLabel: { '@id': 'skos:prefLabel', '@container': '@language' },
      altLabel: { '@id': 'skos:altLabel', '@container': '@language' },
      broader: { '@id': 'skos:broader', '@type': '@id' },
      exactMatch: { '@id': 'skos:exactMatch', '@type': '@id' },
      inScheme: { '@id': 'skos:inScheme', '@type': '@id' },
    },
    '@graph': [
      { '@id': 'ex:scheme', '@type': 'skos:ConceptScheme', 'rdfs:label': [{ '@value': 'Objets', '@language': 'fr' }, { '@value': 'Objects', '@language': 'en' }] },
      {
        '@id': 'ex:furniture',
        '@type': 'skos:Concept',
        prefLabel: { en: 'furniture', fr: 'mobilier', de: 'Möbel' },
        altLabel: { en: ['furnishings', 'movables'] },
        'skos:notation': 'F',
        exactMatch: `${AAT}300037680`,
        inScheme: 'ex:scheme',
      },
      { '@id': 'ex:chair', '@type': 'skos:Concept', prefLabel: { en: 'chair' }, broader: 'ex:furniture', 'skos:closeMatch': { '@id': 'http://www.wikidata.org/entity/Q15026' } },
      { '@id': 'ex:other', '@type': 'skos:Concept', prefLabel: { en: 'elsewhere' }, inScheme: 'ex:another-scheme' },
    ],
  };
  const vocabulary = await parseSkosJsonLd(doc);
  t.equal(vocabulary.id, 'http://example.org/vocab/scheme');
  t.equal(vocabulary.label, 'Objects', 'the English label of the scheme');
  const concepts = byUri(vocabulary);
  t.same([...concepts.keys()].sort(), ['http://example.org/vocab/chair', 'http://example.org/vocab/furniture'], 'a concept of another scheme is left out');
  t.same(concepts.get('http://example.org/vocab/furniture'), {
    uri: 'http://example.org/vocab/furniture',
    prefLabel: { en: 'furniture', fr: 'mobilier', de: 'Möbel' },
    altLabel: { en: ['furnishings', 'movables'] },
    notation: 'F',
    narrower: ['http://example.org/vocab/chair'],
    exactMatch: [`${AAT}300037680`],
  });
  t.same(concepts.get('http://example.org/vocab/chair'), {
    uri: 'http://example.org/vocab/chair',
    prefLabel: { en: 'chair' },
    broader: ['http://example.org/vocab/furniture'],
    exactMatch: ['http://www.wikidata.org/entity/Q15026'],
  }, 'closeMatch joins exactMatch');
});

t.test('SKOS JSON-LD in expanded form, as JSON text, nested nodes, labels without a language', async (t) => {
  const doc = [
    { '@id': 'http://ex.org/s', '@type': [`${SKOS}ConceptScheme`], [`${SKOS}prefLabel`]: [{ '@value': 'Scheme' }] },
    {
      '@id': 'http://ex.org/a',
      '@type': [`${SKOS}Concept`],
      [`${SKOS}prefLabel`]: [{ '@value': 'A' }, { '@value': 'Ah', '@language': 'en' }],
      [`${SKOS}narrower`]: [{ '@id': 'http://ex.org/b', '@type': [`${SKOS}Concept`], [`${SKOS}prefLabel`]: [{ '@value': 'B', '@language': 'en' }] }],
    },
  ];
  const vocabulary = await parseSkosJsonLd(JSON.stringify(doc));
  t.same(vocabulary, {
    id: 'http://ex.org/s',
    label: 'Scheme',
    concepts: [
      { uri: 'http://ex.org/a', prefLabel: { '': 'A', en: 'Ah' }, narrower: ['http://ex.org/b'] },
      { uri: 'http://ex.org/b', prefLabel: { en: 'B' }, broader: ['http://ex.org/a'] },
    ],
  });
});

t.test('SKOS JSON-LD: skos: terms without a declared prefix, a second preferred label, an id given', async (t) => {
  const doc = {
    '@graph': [
      { '@id': 'http://ex.org/x', '@type': 'skos:Concept', 'skos:prefLabel': [{ '@value': 'X', '@language': 'en' }, { '@value': 'Ex', '@language': 'en' }], 'skos:broader': { '@id': 'http://ex.org/y' } },
      { '@id': 'http://ex.org/y', '@type': 'skos:Concept', 'skos:prefLabel': { '@value': 'Y', '@language': 'en' } },
    ],
  };
  const vocabulary = await parseSkosJsonLd(doc, { id: 'mine', label: 'Mine' });
  t.same(vocabulary, {
    id: 'mine',
    label: 'Mine',
    concepts: [
      { uri: 'http://ex.org/x', prefLabel: { en: 'X' }, altLabel: { en: ['Ex'] }, broader: ['http://ex.org/y'] },
      { uri: 'http://ex.org/y', prefLabel: { en: 'Y' }, narrower: ['http://ex.org/x'] },
    ],
  });
});

t.test('SKOS JSON-LD: a remote @context is refused without a request, naming the URL', async (t) => {
  const url = 'https://example.org/contexts/skos.jsonld';
  await t.rejects(parseSkosJsonLd({ '@context': url, '@id': 'http://ex.org/a', '@type': 'Concept' }), {
    code: 'LOUPE_ERR_VALIDATION',
    message: new RegExp(`remote @context ${url.replaceAll('.', '\\.')}.*inline the context`),
    details: { contexts: [url] },
  });
  await t.rejects(parseSkosJsonLd({ '@context': [{ skos: SKOS }, 'http://example.org/other'], '@type': 'skos:Concept' }), { code: 'LOUPE_ERR_VALIDATION', details: { contexts: ['http://example.org/other'] } }, 'in a context array');
  await t.rejects(parseSkosJsonLd({ '@context': { skos: SKOS, broader: { '@id': 'skos:broader', '@context': 'http://example.org/scoped' } }, '@id': 'http://ex.org/a' }), { code: 'LOUPE_ERR_VALIDATION', details: { contexts: ['http://example.org/scoped'] } }, 'in a scoped context');
});

t.test('SKOS JSON-LD: what else is refused', async (t) => {
  await t.rejects(parseSkosJsonLd({ '@id': 'http://ex.org/a', 'skos:prefLabel': 'A' }), { code: 'LOUPE_ERR_VALIDATION', message: /holds no skos:Concept/ });
  await t.rejects(parseSkosJsonLd({ '@id': 'http://ex.org/a', '@type': 'skos:Concept' }), { code: 'LOUPE_ERR_VALIDATION', message: /no skos:ConceptScheme with a URI: give the vocabulary an id/ });
  await t.rejects(parseSkosJsonLd({ '@type': 'skos:Concept', 'skos:prefLabel': 'nameless' }, { id: 'v' }), { code: 'LOUPE_ERR_VALIDATION', message: /a skos:Concept \('nameless'\) has no @id/ });
  await t.rejects(parseSkosJsonLd('{"@id": '), { code: 'LOUPE_ERR_VALIDATION', message: /is not JSON/ });
  await t.rejects(parseSkosJsonLd({ '@context': { '@version': 2 }, '@id': 'http://ex.org/a' }), { code: 'LOUPE_ERR_VALIDATION', message: /is not valid JSON-LD/ });
});

t.test('the pilot vocabulary files', async (t) => {
  if (!existsSync(PILOT)) return t.plan(0, `no fixtures at ${PILOT} (the shared folder sits beside the repository)`);
  const json = parseEuropeanaVocabularyJson(readFileSync(join(PILOT, 'vocabulary.json'), 'utf8'), { source: 'vocabulary.json' });
  const csv = parseConceptCsv(readFileSync(join(PILOT, 'uris_vocabularies.csv'), 'utf8'), { source: 'uris_vocabularies.csv' });
  t.equal(json.concepts.length, 20);
  t.equal(csv.concepts.length, 34);
  const csvByName = byNotation(csv);
  for (const concept of json.concepts) t.equal(csvByName.get(concept.notation!)?.uri, concept.uri, `${concept.notation} has one URI in both files`);
  t.same(csvByName.get('clothing')?.prefLabel, { en: 'clothing' }, "'clothing ' is trimmed");
  t.ok(csvByName.has('medal'), "'medal ' is trimmed");
  t.same(csvByName.get('ceramics')?.exactMatch, [`${AAT}300151343`, 'http://dbpedia.org/resource/Ceramic', 'http://www.wikidata.org/entity/Q45621']);
  t.ok(csvByName.get('building')?.exactMatch?.includes('http://dbpedia.org/resource/Building'), 'page/ URLs become resource/ URIs');
  const merged = mergeVocabularies(json, csv);
  t.equal(merged.concepts.length, 34, 'every JSON concept is one of the CSV concepts');
});
