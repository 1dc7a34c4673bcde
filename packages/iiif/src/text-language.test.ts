import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { harvestAll } from './harvest.js';
import { parseJsonDocument } from './json-document.js';
import { parseManifest } from './presentation.js';
import { languageCode, languagesNamed } from './text-language.js';
import type { HarvestedManifest } from './types.js';

const P2 = 'http://iiif.io/api/presentation/2/context.json';
const P3 = 'http://iiif.io/api/presentation/3/context.json';

t.test('names and codes of European print languages map to ISO 639-3', async (t) => {
  const cases: [string, string][] = [
    ['English', 'eng'],
    ['en-GB', 'eng'],
    ['Français', 'fra'],
    ['FRANCAIS', 'fra'],
    ['fre', 'fra'],
    ['fr', 'fra'],
    ['Französisch', 'fra'],
    ['ger', 'deu'],
    ['de-DE', 'deu'],
    ['Deutsch', 'deu'],
    ['Allemand', 'deu'],
    ['Italiano', 'ita'],
    ['Latein', 'lat'],
    ['la', 'lat'],
    ['dut', 'nld'],
    ['Nederlands', 'nld'],
    ['Español', 'spa'],
    ['es-419', 'spa'],
    ['pt-BR', 'por'],
    ['Dansk', 'dan'],
    ['svenska', 'swe'],
    ['nb', 'nor'],
    ['Suomi', 'fin'],
    ['Polski', 'pol'],
    ['cze', 'ces'],
    ['Magyar', 'hun'],
    ['el', 'ell'],
    ['Greek, Ancient (to 1453)', 'grc'],
    ['grc', 'grc'],
    ['wel', 'cym'],
    ['Cymraeg', 'cym'],
    ['Gaeilge', 'gle'],
    ['Català', 'cat'],
    ['English, Middle (1100-1500)', 'enm'],
    ['German (Fraktur)', 'deu'],
    ['русский', 'rus'],
  ];
  for (const [value, code] of cases) t.equal(languageCode(value), code, value);
  for (const unknown of ['Greek', 'Klingon', 'und', 'zxx', 'mul', '', 'Fraktur', 'zh-Hans']) t.equal(languageCode(unknown), undefined, `${JSON.stringify(unknown)} is not guessed`);
});

t.test('a metadata value may name several languages', async (t) => {
  t.same(languagesNamed('Latin, French'), ['lat', 'fra']);
  t.same(languagesNamed('lat; fre; lat'), ['lat', 'fra'], 'repeats removed, order kept');
  t.same(languagesNamed('French and Latin'), ['fra', 'lat']);
  t.same(languagesNamed('Latin / Greek, Ancient'), ['lat'], 'a part the table does not know is left out');
  t.same(languagesNamed('Deutsch und Latein'), ['deu', 'lat']);
  t.same(languagesNamed('ger lat'), ['deu', 'lat'], 'codes run together with spaces');
  t.same(languagesNamed('<span class="lang">Latin</span> &amp; Italian'), ['lat', 'ita'], 'HTML in a 2.x value');
  t.same(languagesNamed('English, Middle (1100-1500)'), ['enm'], 'a MARC name with a comma is one language');
  t.same(languagesNamed('mostly illegible'), []);
});

function v2Manifest(metadata: unknown, canvasMetadata?: unknown): Record<string, unknown> {
  const canvas = (n: number, extra?: unknown): Record<string, unknown> => ({
    '@id': `https://example.org/p2/c${n}`,
    '@type': 'sc:Canvas',
    width: 100,
    height: 100,
    images: [{ '@type': 'oa:Annotation', motivation: 'sc:painting', on: `https://example.org/p2/c${n}`, resource: { '@id': `https://example.org/p2/c${n}.jpg`, '@type': 'dctypes:Image' } }],
    ...(extra !== undefined && { metadata: extra }),
  });
  return {
    '@context': P2,
    '@id': 'https://example.org/p2/manifest',
    '@type': 'sc:Manifest',
    label: 'P2',
    ...(metadata !== undefined && { metadata }),
    sequences: [{ canvases: [canvas(1), canvas(2, canvasMetadata)] }],
  };
}

function v3Canvas(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `https://example.org/p3/c${n}`;
  return {
    id,
    type: 'Canvas',
    width: 100,
    height: 100,
    items: [{ id: `${id}/page`, type: 'AnnotationPage', items: [{ id: `${id}/a`, type: 'Annotation', motivation: 'painting', target: id, body: { id: `${id}.jpg`, type: 'Image' } }] }],
    ...extra,
  };
}

function v3Manifest(extra: Record<string, unknown>, canvases: Record<string, unknown>[]): Record<string, unknown> {
  return { '@context': P3, id: 'https://example.org/p3/manifest', type: 'Manifest', label: { en: ['P3'] }, ...extra, items: canvases };
}

async function harvestedLanguages(manifest: Record<string, unknown>): Promise<(readonly string[] | undefined)[]> {
  const { manifests, errors } = await harvestAll('doc', async () => structuredClone(manifest));
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return manifests[0]!.canvases.map((canvas) => canvas.languages);
}

t.test('Presentation 2: language metadata, labelled in any language, on every canvas; a canvas of its own wins', async (t) => {
  t.same(await harvestedLanguages(v2Manifest([{ label: 'Language', value: 'Latin' }])), [['lat'], ['lat']]);
  t.same(await harvestedLanguages(v2Manifest([{ label: 'Sprache', value: 'Deutsch; Latein' }])), [['deu', 'lat'], ['deu', 'lat']]);
  t.same(await harvestedLanguages(v2Manifest([{ label: 'dc:language', value: [{ '@value': 'fre' }] }])), [['fra'], ['fra']], 'Dublin Core label');
  t.same(
    await harvestedLanguages(v2Manifest([{ label: [{ '@value': 'Title', '@language': 'en' }], value: 'Latin' }, { label: [{ '@value': 'Langue', '@language': 'fr' }, { '@value': 'Idioma', '@language': 'es' }], value: [{ '@value': 'italien', '@language': 'fr' }, { '@value': 'italiano', '@language': 'es' }] }])),
    [['ita'], ['ita']],
    'a label in French or Spanish; a value in both, once; a "Title" of "Latin" is no language',
  );
  t.same(await harvestedLanguages(v2Manifest([{ label: 'Language', value: 'Latin' }], [{ label: 'Taal', value: 'Nederlands' }])), [['lat'], ['nld']], 'the second canvas says Dutch');
  t.same(await harvestedLanguages(v2Manifest([{ label: 'Language', value: 'Klingon' }])), [undefined, undefined], 'an unknown value is ignored');
  t.same(await harvestedLanguages(v2Manifest(undefined)), [undefined, undefined], 'no metadata, no languages');
});

t.test('Presentation 3: metadata, then the language of painted, transcribed and rendered resources', async (t) => {
  const metadata = [{ label: { fr: ['Langue'], en: ['Language'] }, value: { fr: ['français', 'latin'], en: ['French', 'Latin'] } }];
  t.same(await harvestedLanguages(v3Manifest({ metadata }, [v3Canvas(1), v3Canvas(2)])), [['fra', 'lat'], ['fra', 'lat']]);

  const transcribed = v3Canvas(2, {
    annotations: [
      {
        id: 'https://example.org/p3/c2/annos',
        type: 'AnnotationPage',
        items: [
          { id: 'https://example.org/p3/c2/comment', type: 'Annotation', motivation: 'commenting', body: { type: 'TextualBody', value: 'Nice', language: 'en' }, target: 'https://example.org/p3/c2' },
          { id: 'https://example.org/p3/c2/text', type: 'Annotation', motivation: 'supplementing', body: { type: 'TextualBody', value: 'Im Anfang', language: 'de' }, target: 'https://example.org/p3/c2' },
        ],
      },
    ],
  });
  const withMetadata = v3Canvas(3, { metadata: [{ label: { de: ['Sprache'] }, value: { de: ['Niederländisch'] } }] });
  const rendered = v3Canvas(4, { rendering: [{ id: 'https://example.org/p3/c4.txt', type: 'Text', format: 'text/plain', language: ['it'] }] });
  t.same(
    await harvestedLanguages(v3Manifest({ metadata }, [v3Canvas(1), transcribed, withMetadata, rendered])),
    [['fra', 'lat'], ['deu'], ['nld'], ['ita']],
    "a transcription, the canvas's metadata, a rendering: each wins over the manifest; a comment's language does not count",
  );

  const choice = v3Canvas(1, {
    items: [
      {
        id: 'p',
        type: 'AnnotationPage',
        items: [{ id: 'a', type: 'Annotation', motivation: 'painting', target: 'x', body: { type: 'Choice', items: [{ id: 'https://example.org/fr.jpg', type: 'Image', language: 'fr' }, { id: 'https://example.org/en.jpg', type: 'Image', language: 'en' }] } }],
      },
    ],
  });
  t.same(await harvestedLanguages(v3Manifest({}, [choice])), [['fra', 'eng']], 'images painted in two languages, the first option first');

  const homepage = [{ id: 'https://example.org/about', type: 'Text', format: 'text/html', language: ['nl'] }];
  t.same(await harvestedLanguages(v3Manifest({ homepage }, [v3Canvas(1)])), [undefined], "a homepage's language is the website's, not the book's");
  t.same(
    await harvestedLanguages(v3Manifest({ rendering: [{ id: 'https://example.org/book.pdf', type: 'Text', format: 'application/pdf', language: ['cy'] }] }, [v3Canvas(1)])),
    [['cym']],
    "the manifest's rendering when its metadata says nothing",
  );
  t.same(await harvestedLanguages(v3Manifest({ metadata: [{ label: { en: ['Language'] }, value: { none: ['Elvish'] } }] }, [v3Canvas(1)])), [undefined], 'an unknown value is ignored');
  t.same(await harvestedLanguages(v3Manifest({}, [v3Canvas(1)])), [undefined], 'no metadata, no languages');
});

// The shared fixtures live beside the repository: <repo>/../shared/fixtures/iiif.
const FIXTURES = join(fileURLToPath(new URL('../../../', import.meta.url)), '..', 'shared', 'fixtures', 'iiif', 'manifests');

t.test('real manifests: what their publishers say of the language', async (t) => {
  if (!existsSync(FIXTURES)) return t.plan(0, `no fixtures at ${FIXTURES} (the shared folder sits beside the repository)`);
  const read = (path: string): HarvestedManifest => parseManifest(parseJsonDocument(readFileSync(join(FIXTURES, path)), path), path);
  const expected: [string, readonly string[] | undefined][] = [
    ['v2/p2-gallica-btv1b53243704g-imageapi1.json', ['fra']], // "Language": "français"
    ['v2/p2-ecodices-gau-fragment-two-images-per-canvas.json', ['lat']], // "Text Language": "Latin"
    ['v2/p2-biblissima-florus-empty-canvases-322.json', ['lat']],
    ['v2/p2-europeana-BibliographicResource_3000126341277.json', ['fin']], // "language": [{"@value": "fin"}]
    ['v2/p2-bodleian-nested-ranges-920-canvases.json', ['eng']],
    ['v3/p3-yale-canterbury-tales-171-canvases.json', ['enm']], // "English, Middle (1100-1500)"
    ['v3/p3-bodleian-imageapi2-in-p3.json', ['eng']],
    ['v3/p3-tudelft-exhibition-4-images-per-canvas.json', undefined], // only its homepage is in Dutch
    ['v3/p3-iaw-specific-resource-none-lang.json', undefined], // only comments are in English
  ];
  for (const [path, languages] of expected) {
    if (!existsSync(join(FIXTURES, path))) {
      t.fail(`${path} is missing from the shared fixtures`);
      continue;
    }
    const manifest = read(path);
    const found = new Set(manifest.canvases.map((c) => JSON.stringify(c.languages)));
    t.same([...found], [JSON.stringify(languages)], `${path}: ${languages?.join(', ') ?? 'none'} on all ${manifest.canvases.length} canvases`);
  }
});
