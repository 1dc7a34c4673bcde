import { isRecord } from '@loupe/contracts';
import { asArray } from './image-service.js';
import { languageMap } from './presentation-2.js';
import type { Json } from './presentation-3.js';

/**
 * The language a manifest (or one canvas) says its text is in, as the ISO 639-3 codes Tesseract
 * names its models by. Publishers say it in catalogue words: MARC codes (fre, ger, dut), BCP 47
 * tags (fr, de-DE), or names in their own language or ours (Français, Latein, English, Middle).
 * A value the table does not know is left out: a wrong model reads worse than the default one.
 */

/** Tesseract's model name first, then the ways catalogues write the language (compared as `normalise` leaves them). */
const LANGUAGES: readonly (readonly string[])[] = [
  ['eng', 'en', 'english', 'anglais', 'englisch', 'inglese', 'ingles', 'engels', 'angielski'],
  ['enm', 'english, middle', 'middle english', 'mittelenglisch', 'moyen anglais'],
  ['fra', 'fr', 'fre', 'french', 'français', 'französisch', 'francese', 'frances', 'frans', 'francuski'],
  ['frm', 'french, middle', 'middle french', 'moyen français', 'mittelfranzösisch'],
  ['deu', 'de', 'ger', 'german', 'deutsch', 'allemand', 'tedesco', 'alemán', 'duits', 'niemiecki'],
  ['ita', 'it', 'italian', 'italiano', 'italien', 'italienisch', 'italiaans', 'włoski'],
  ['lat', 'la', 'latin', 'latina', 'latein', 'latino', 'latijn', 'łacina', 'lingua latina'],
  ['nld', 'nl', 'dut', 'dutch', 'nederlands', 'néerlandais', 'niederländisch', 'holländisch', 'olandese', 'holandés', 'flemish', 'vlaams'],
  ['spa', 'es', 'spanish', 'español', 'castellano', 'castilian', 'espagnol', 'spanisch', 'spagnolo', 'spaans'],
  ['por', 'pt', 'portuguese', 'português', 'portugais', 'portugiesisch', 'portoghese', 'portugees'],
  ['dan', 'da', 'danish', 'dansk', 'danois', 'dänisch', 'danese', 'deens'],
  ['swe', 'sv', 'swedish', 'svenska', 'suédois', 'schwedisch', 'svedese', 'zweeds'],
  ['nor', 'no', 'nb', 'nn', 'nob', 'nno', 'norwegian', 'norwegian bokmål', 'norwegian nynorsk', 'norsk', 'bokmål', 'nynorsk', 'norvégien', 'norwegisch', 'norvegese', 'noors'],
  ['fin', 'fi', 'finnish', 'suomi', 'finnois', 'finnisch', 'finlandese', 'fins'],
  ['pol', 'pl', 'polish', 'polski', 'język polski', 'polonais', 'polnisch', 'polacco', 'pools'],
  ['ces', 'cs', 'cze', 'czech', 'čeština', 'tchèque', 'tschechisch', 'ceco', 'tsjechisch'],
  ['slk', 'sk', 'slo', 'slovak', 'slovenčina', 'slovaque', 'slowakisch'],
  ['hun', 'hu', 'hungarian', 'magyar', 'hongrois', 'ungarisch', 'ungherese', 'hongaars'],
  // Plain "Greek" is left out on purpose: catalogues use it for both, and the two models differ (polytonic or not).
  ['ell', 'el', 'gre', 'greek, modern', 'modern greek', 'ελληνικά', 'neugriechisch', 'grec moderne'],
  ['grc', 'greek, ancient', 'ancient greek', 'classical greek', 'altgriechisch', 'grec ancien'],
  ['cym', 'cy', 'wel', 'welsh', 'cymraeg', 'gallois', 'walisisch'],
  ['gle', 'ga', 'irish', 'irish gaelic', 'gaeilge', 'irlandais', 'irisch'],
  ['gla', 'gd', 'scottish gaelic', 'gaelic, scottish', 'gàidhlig'],
  ['cat', 'ca', 'catalan', 'català', 'katalanisch', 'catalano'],
  ['glg', 'gl', 'galician', 'galego', 'gallego'],
  ['eus', 'eu', 'baq', 'basque', 'euskara', 'baskisch'],
  ['ron', 'ro', 'rum', 'romanian', 'română', 'roumain', 'rumänisch'],
  ['isl', 'is', 'ice', 'icelandic', 'íslenska', 'islandais', 'isländisch'],
  ['est', 'et', 'estonian', 'eesti'],
  ['lav', 'lv', 'latvian', 'latviešu'],
  ['lit', 'lt', 'lithuanian', 'lietuvių'],
  ['slv', 'sl', 'slovenian', 'slovene', 'slovenščina'],
  ['hrv', 'hr', 'croatian', 'hrvatski'],
  ['rus', 'ru', 'russian', 'русский', 'russe', 'russisch'],
];

const BY_KEY: ReadonlyMap<string, string> = new Map(LANGUAGES.flatMap(([code, ...aliases]) => [code!, ...aliases].map((alias) => [normalise(alias), code!] as const)));

/** A BCP 47 tag with subtags (de-DE, en_GB, la-Latn): its primary language subtag is what counts. */
const TAG = /^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})+$/;
/** Between languages in one value: "Latin, French", "lat; fre", "Latin / Greek", "French and Latin". */
const SEPARATOR = /\s*(?:[,;/|&+]|\band\b|\bund\b)\s*/;
/** "lat fre": codes run together with spaces, as some catalogues write several. */
const CODES_ONLY = /^[a-z]{3}(?:\s+[a-z]{3})+$/;

/** One name or code (English, Français, fre, de-DE) as ISO 639-3, or undefined when the table does not know it. */
export function languageCode(value: string): string | undefined {
  const key = normalise(value);
  return BY_KEY.get(key) ?? BY_KEY.get(TAG.exec(key)?.[1] ?? '');
}

/**
 * Every language a metadata value names, in its order, without repeats: the whole value first (so
 * "English, Middle (1100-1500)" is Middle English, not English), else each part of it.
 */
export function languagesNamed(value: string): string[] {
  const text = value.replace(/<[^>]*>/g, ' ').replace(/&amp;/g, '&');
  const whole = languageCode(text);
  if (whole !== undefined) return [whole];
  const codes: string[] = [];
  for (const part of normalise(text).split(SEPARATOR)) {
    const pieces = CODES_ONLY.test(part) ? part.split(/\s+/) : [part];
    for (const piece of pieces) {
      const code = languageCode(piece);
      if (code !== undefined && !codes.includes(code)) codes.push(code);
    }
  }
  return codes;
}

/**
 * The languages a manifest declares for its text: its language metadata, else the `language` of
 * its renderings (a PDF or a transcription of the whole book). Empty when it says nothing.
 */
export function manifestLanguages(manifest: Json, version: 2 | 3): readonly string[] {
  const fromMetadata = metadataLanguages(manifest.metadata, version);
  return Object.freeze(fromMetadata.length > 0 ? fromMetadata : resourceLanguages(manifest.rendering));
}

/**
 * What one canvas says of its own text, which wins over the manifest: its language metadata, else
 * the `language` of what is painted or transcribed on it, else of its renderings. Presentation 3
 * defines `language` on external resources (annotation bodies, rendering, homepage, partOf); of
 * those only these are about the canvas's text. Commenting bodies are in the commenter's language,
 * a homepage in the website's. A 2.x canvas has metadata only.
 */
export function canvasLanguages(canvas: Json, version: 2 | 3): string[] {
  const fromMetadata = metadataLanguages(canvas.metadata, version);
  if (fromMetadata.length > 0 || version === 2) return fromMetadata;
  const fromBodies = resourceLanguages([...bodies(canvas.items, 'painting'), ...bodies(canvas.annotations, 'supplementing')]);
  return fromBodies.length > 0 ? fromBodies : resourceLanguages(canvas.rendering);
}

/** The bodies of the annotations with `motivation` in embedded pages; a painting annotation may leave it out. */
function bodies(pages: unknown, motivation: 'painting' | 'supplementing'): unknown[] {
  const found: unknown[] = [];
  for (const page of asArray(pages)) {
    if (!isRecord(page)) continue;
    for (const annotation of asArray(page.items)) {
      if (!isRecord(annotation)) continue;
      const motivations = asArray(annotation.motivation);
      if (motivations.includes(motivation) || (motivation === 'painting' && motivations.length === 0)) found.push(...asArray(annotation.body));
    }
  }
  return found;
}

/** Metadata labels that mean "language", in the languages catalogues label in, Dublin Core's included. */
const LANGUAGE_LABEL =
  /^(?:(?:dc|dcterms|dct)[:.])?(?:text\s+)?(?:languages?|langues?|sprachen?|lingua|lingue|idiomas?|taal|talen|sprog|sprak|kieli|jezyk|jazyk|nyelv|llengua|iaith|teanga)(?:\s+of\s+(?:the\s+)?text)?$/;

function metadataLanguages(metadata: unknown, version: 2 | 3): string[] {
  const codes: string[] = [];
  for (const entry of asArray(metadata)) {
    if (!isRecord(entry)) continue;
    const labels = textsOf(entry.label, version);
    if (!labels.some((label) => LANGUAGE_LABEL.test(normalise(label).replace(/\(s\)$/, '')))) continue;
    for (const value of textsOf(entry.value, version)) addAll(codes, languagesNamed(value));
  }
  return codes;
}

/** The `language` (a code, or a list of them) of each resource, of the options of a Choice, of a SpecificResource's source. */
function resourceLanguages(resources: unknown): string[] {
  const codes: string[] = [];
  for (const resource of asArray(resources)) {
    if (!isRecord(resource)) continue;
    for (const language of asArray(resource.language)) {
      const code = typeof language === 'string' ? languageCode(language) : undefined;
      if (code !== undefined) addAll(codes, [code]);
    }
    if (resource.type === 'Choice') addAll(codes, resourceLanguages(resource.items));
    if (resource.type === 'SpecificResource') addAll(codes, resourceLanguages(resource.source));
  }
  return codes;
}

/** Every string of a label or value, in every language of its map: a French value may say "latin". */
function textsOf(value: unknown, version: 2 | 3): string[] {
  const map = version === 2 ? languageMap(value) : value;
  if (typeof map === 'string') return [map];
  if (!isRecord(map)) return [];
  return Object.values(map).flatMap((texts) => asArray(texts).filter((t): t is string => typeof t === 'string'));
}

function addAll(codes: string[], more: readonly string[]): void {
  for (const code of more) if (!codes.includes(code)) codes.push(code);
}

/** Lower case, no accents, no "(1100-1500)" or "[sic]", one space between words, no trailing full stop. */
function normalise(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\([^)]*\)|\[[^\]]*\]/g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.:]+|[\s.:]+$/g, '');
}
