/**
 * The Europeana image-classification pilot's dataset CSVs: one row per item with its category
 * names (space-separated when there are several), usually their SKOS concept URIs in the same
 * order, the item's URI, its record ID and an image URL. Columns are read by name, since the
 * pilot's files order them differently and carry stray unnamed columns.
 *
 * The files disagree with themselves in places (a row naming two categories but giving one URI, a
 * URI that belongs to another category, a misspelt name): such a row is reported as a problem with
 * its line and left out, rather than imported with labels that are wrong or missing.
 */
import { LoupeError } from '@loupe/contracts';
import { csvRecords, toCsv } from './csv.js';
import type { GroundTruthLabel, LabelledImage } from './model.js';
import type { SkosConcept, SkosVocabulary } from './skos.js';

export interface EuropeanaCsvOptions {
  /** Resolves category names (by notation, preferred or alternative label) to concepts. */
  readonly vocabulary?: SkosVocabulary;
  /** The file's name, for messages. */
  readonly source?: string;
}

export interface EuropeanaCsvProblem {
  /** The line the row starts on (the header is line 1). */
  readonly line: number;
  readonly message: string;
}

export interface EuropeanaCsvResult {
  /** One per distinct item URI, in first-seen order. */
  readonly images: LabelledImage[];
  /** Rows left out, with why. */
  readonly problems: EuropeanaCsvProblem[];
  /** Rows read (blank rows not counted). */
  readonly rows: number;
}

/** Names match whatever their spelling of case and word separators: 'Archaeological site' is archaeological_site. */
function nameKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_]+/g, ' ');
}

interface ConceptIndex {
  resolve(name: string): SkosConcept | undefined;
}

/** Notations first, then preferred labels, then alternative ones: the first concept to claim a name keeps it. */
function indexVocabulary(vocabulary: SkosVocabulary): ConceptIndex {
  const tiers = [new Map<string, SkosConcept>(), new Map<string, SkosConcept>(), new Map<string, SkosConcept>()] as const;
  const claim = (tier: Map<string, SkosConcept>, name: string, concept: SkosConcept): void => {
    const key = nameKey(name);
    if (key !== '' && !tier.has(key)) tier.set(key, concept);
  };
  for (const concept of vocabulary.concepts) {
    if (concept.notation !== undefined) claim(tiers[0], concept.notation, concept);
    for (const label of Object.values(concept.prefLabel)) claim(tiers[1], label, concept);
    for (const labels of Object.values(concept.altLabel ?? {})) for (const label of labels) claim(tiers[2], label, concept);
  }
  return { resolve: (name) => tiers[0].get(nameKey(name)) ?? tiers[1].get(nameKey(name)) ?? tiers[2].get(nameKey(name)) };
}

/** A URI names the vocabulary's concept when it is the concept or one of its exact matches. */
function isConcept(concept: SkosConcept, uri: string): boolean {
  return concept.uri === uri || (concept.exactMatch ?? []).includes(uri);
}

const words = (value: string): string[] => value.split(/\s+/).filter((w) => w !== '');

/**
 * Reads a pilot CSV into labelled images: id = URI, url = URL, externalId = ID, one label per
 * category ({concept, label: the category name}). Concepts come from skos_concept, paired with the
 * names in order; where the file has no such column, or a row's URIs do not pair up with its
 * names, from the vocabulary. An item listed twice gets the labels of both rows.
 */
export function fromEuropeanaCsv(text: string, options: EuropeanaCsvOptions = {}): EuropeanaCsvResult {
  const source = options.source ?? 'the Europeana CSV';
  const { header, records, lines } = csvRecords(text, { required: ['category', 'URI', 'URL'], source });
  const hasConcepts = header.includes('skos_concept');
  const index = options.vocabulary ? indexVocabulary(options.vocabulary) : undefined;
  if (!hasConcepts && !index) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `${source} has no skos_concept column, so its category names need a vocabulary to become concepts: import the pilot's vocabulary and pass it`,
      { details: { source, columns: header } },
    );
  }

  const images = new Map<string, { url: string; externalId: string; labels: GroundTruthLabel[] }>();
  const problems: EuropeanaCsvProblem[] = [];
  records.forEach((record, i) => {
    const line = lines[i]!;
    const problem = (message: string): void => {
      problems.push({ line, message });
    };
    const uri = record['URI'] ?? '';
    const url = record['URL'] ?? '';
    const category = record['category'] ?? '';
    const missing = [uri === '' && 'URI', url === '' && 'URL', category === '' && 'category'].filter((m): m is string => m !== false);
    if (missing.length > 0) return problem(`no ${missing.join(', no ')}`);

    const names = words(category);
    const uris = hasConcepts ? words(record['skos_concept'] ?? '') : [];
    const paired = uris.length === names.length;
    const labels: GroundTruthLabel[] = [];
    const known: SkosConcept[] = [];
    for (const [n, name] of names.entries()) {
      const entry = index?.resolve(name);
      if (entry) known.push(entry);
      const given = paired ? uris[n] : undefined;
      if (entry && given !== undefined && !isConcept(entry, given)) {
        return problem(`category '${name}' is ${entry.uri} in the vocabulary but skos_concept gives ${given}`);
      }
      const concept = given ?? entry?.uri;
      if (concept === undefined) {
        if (hasConcepts && !paired) {
          return problem(
            `${names.length} category names (${category}) but ${uris.length} skos_concept URIs` +
              (index ? `, and the vocabulary has no '${name}'` : ': pass a vocabulary to resolve the names'),
          );
        }
        return problem(`the vocabulary has no category '${name}'`);
      }
      if (!labels.some((l) => l.concept === concept)) labels.push({ concept, label: name });
    }
    // The vocabulary answered for names whose URIs did not pair up: each URI given must still be one of its answers.
    const stray = paired ? undefined : uris.find((u) => !known.some((c) => isConcept(c, u)));
    if (stray !== undefined) return problem(`skos_concept ${stray} is not the concept of any category (${category})`);

    const image = images.get(uri);
    if (!image) {
      images.set(uri, { url, externalId: record['ID'] ?? '', labels });
      return;
    }
    for (const label of labels) if (!image.labels.some((l) => l.concept === label.concept)) image.labels.push(label);
    if (image.externalId === '') image.externalId = record['ID'] ?? '';
  });

  return {
    images: [...images].map(([id, { url, externalId, labels }]) => ({ id, url, ...(externalId !== '' ? { externalId } : {}), labels })),
    problems,
    rows: records.length,
  };
}

export interface ToEuropeanaCsvOptions {
  /**
   * The category name of a concept (a vocabulary's notation, such as 'archaeological_site'). Without
   * it, or where it answers undefined, a label's own text names its concept.
   */
  readonly conceptName?: (uri: string) => string | undefined;
}

export const EUROPEANA_CSV_HEADER = ['category', 'skos_concept', 'URI', 'URL', 'ID'] as const;

/** The last path segment of a URI: a name of last resort that keeps the columns paired. */
function uriName(uri: string): string {
  return uri.replace(/[/#]+$/, '').split(/[/#]/).at(-1) || uri;
}

/**
 * A pilot CSV: category, skos_concept, URI, URL, ID, several labels joined by single spaces.
 * Only labels with a concept are written (the format pairs each name with a URI), once per
 * concept; an image with none is left out. Names lose their inner spaces ('archaeological site'
 * is written archaeological_site), since a space separates names.
 */
export function toEuropeanaCsv(images: Iterable<LabelledImage>, options: ToEuropeanaCsvOptions = {}): string {
  const rows: string[][] = [];
  for (const image of images) {
    const concepts = new Map<string, string>();
    for (const label of image.labels) {
      if (label.concept === undefined || concepts.has(label.concept)) continue;
      const name = options.conceptName?.(label.concept) ?? label.label ?? uriName(label.concept);
      concepts.set(label.concept, name.trim().replace(/\s+/g, '_') || uriName(label.concept));
    }
    if (concepts.size === 0) continue;
    rows.push([[...concepts.values()].join(' '), [...concepts.keys()].join(' '), image.id, image.url ?? '', image.externalId ?? '']);
  }
  return toCsv(EUROPEANA_CSV_HEADER, rows);
}
