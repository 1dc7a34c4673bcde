/**
 * SKOS vocabularies from the forms they arrive in: the Europeana image-classification pilot's
 * vocabulary.json (name -> concept URI) and uris_vocabularies.csv (a name with its Getty AAT,
 * DBpedia, Wikidata and Europeana entity URIs), and generic SKOS as JSON-LD.
 *
 * The types mirror @loupe/store's Concept and Vocabulary field for field, so a vocabulary parsed
 * here is stored as it is, while this package stays free of the store.
 */
import { LoupeError } from '@loupe/contracts';
import jsonld, { type ExpandedNode, type RemoteDocument } from 'jsonld';
import { csvRecords } from './csv.js';

/** A SKOS concept. Labels are keyed by language tag ('' when the source gives none). */
export interface SkosConcept {
  readonly uri: string;
  readonly prefLabel: Readonly<Record<string, string>>;
  readonly altLabel?: Readonly<Record<string, readonly string[]>>;
  readonly notation?: string;
  readonly broader?: readonly string[];
  readonly narrower?: readonly string[];
  /** skos:exactMatch / closeMatch URIs (Getty AAT, Wikidata, DBpedia...). */
  readonly exactMatch?: readonly string[];
}

export interface SkosVocabulary {
  /** The concept scheme's URI, or a name the importer chose. */
  readonly id: string;
  readonly label?: string;
  readonly concepts: readonly SkosConcept[];
}

export interface VocabularyOptions {
  /** The vocabulary's id; for the pilot's files it defaults to PILOT_VOCABULARY_ID. */
  readonly id?: string;
  readonly label?: string;
  /** The file's name, for error messages. */
  readonly source?: string;
}

/**
 * The default id of vocabularies read from the pilot's files (named after its repository,
 * europeana/rd-img-classification-pilot): both files describe the same concepts, so reading them
 * under one id lets mergeVocabularies join them.
 */
export const PILOT_VOCABULARY_ID = 'europeana-rd-img-classification';

const SKOS = 'http://www.w3.org/2004/02/skos/core#';
const RDFS = 'http://www.w3.org/2000/01/rdf-schema#';
const DCTERMS = 'http://purl.org/dc/terms/';
const DC = 'http://purl.org/dc/elements/1.1/';

function invalid(message: string, details?: Record<string, unknown>, cause?: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, {
    ...(details ? { details } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

function isAbsoluteUri(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\S+$/i.test(value) && URL.canParse(value);
}

/** The pilot's names carry underscores ('archaeological_site'); the label reads as words. */
function labelFromName(name: string): string {
  return name.replaceAll('_', ' ').replace(/\s+/g, ' ').trim();
}

/** Mutable form of a concept while a vocabulary is assembled; sets keep merges duplicate-free. */
class ConceptDraft {
  readonly prefLabel = new Map<string, string>();
  readonly altLabel = new Map<string, string[]>();
  notation: string | undefined;
  readonly broader = new Set<string>();
  readonly narrower = new Set<string>();
  readonly exactMatch = new Set<string>();

  constructor(readonly uri: string) {}

  /** A label for a language that already has a different preferred one becomes an alternative. */
  addLabel(language: string, value: string, preferred: boolean): void {
    const text = value.trim();
    if (text === '') return;
    const current = this.prefLabel.get(language);
    if (preferred && current === undefined) {
      this.prefLabel.set(language, text);
      const alts = this.altLabel.get(language);
      if (alts?.includes(text)) this.altLabel.set(language, alts.filter((a) => a !== text));
      return;
    }
    if (current === text) return;
    const alts = this.altLabel.get(language) ?? [];
    if (!alts.includes(text)) this.altLabel.set(language, [...alts, text]);
  }

  merge(concept: SkosConcept): void {
    for (const [language, value] of Object.entries(concept.prefLabel)) this.addLabel(language, value, true);
    for (const [language, values] of Object.entries(concept.altLabel ?? {})) for (const v of values) this.addLabel(language, v, false);
    this.notation ??= concept.notation;
    for (const uri of concept.broader ?? []) this.broader.add(uri);
    for (const uri of concept.narrower ?? []) this.narrower.add(uri);
    for (const uri of concept.exactMatch ?? []) if (uri !== this.uri) this.exactMatch.add(uri);
  }

  toConcept(): SkosConcept {
    const altLabel = Object.fromEntries([...this.altLabel].filter(([, values]) => values.length > 0));
    return {
      uri: this.uri,
      prefLabel: Object.fromEntries(this.prefLabel),
      ...(Object.keys(altLabel).length > 0 ? { altLabel } : {}),
      ...(this.notation !== undefined ? { notation: this.notation } : {}),
      ...(this.broader.size > 0 ? { broader: [...this.broader] } : {}),
      ...(this.narrower.size > 0 ? { narrower: [...this.narrower] } : {}),
      ...(this.exactMatch.size > 0 ? { exactMatch: [...this.exactMatch] } : {}),
    };
  }
}

class VocabularyDraft {
  private readonly concepts = new Map<string, ConceptDraft>();
  /** name -> URI, so that one name never silently means two concepts. */
  private readonly names = new Map<string, { uri: string; where: string }>();

  concept(uri: string): ConceptDraft {
    let draft = this.concepts.get(uri);
    if (!draft) {
      draft = new ConceptDraft(uri);
      this.concepts.set(uri, draft);
    }
    return draft;
  }

  /** A pilot category name: its label, and its notation unless the concept has one already. */
  addName(name: string, uri: string, where: string, source: string): void {
    const earlier = this.names.get(name);
    if (earlier && earlier.uri !== uri) {
      throw invalid(`${source}: the name '${name}' is ${earlier.uri} at ${earlier.where} but ${uri} at ${where}`, { source, name, uris: [earlier.uri, uri] });
    }
    this.names.set(name, { uri, where });
    const draft = this.concept(uri);
    draft.addLabel('en', labelFromName(name), true);
    draft.notation ??= name;
  }

  /** Each broader link implies the narrower one back, and the other way round. */
  fillInverses(): void {
    for (const draft of this.concepts.values()) {
      for (const uri of draft.broader) this.concepts.get(uri)?.narrower.add(draft.uri);
      for (const uri of draft.narrower) this.concepts.get(uri)?.broader.add(draft.uri);
    }
  }

  toVocabulary(id: string, label: string | undefined): SkosVocabulary {
    return { id, ...(label !== undefined ? { label } : {}), concepts: [...this.concepts.values()].map((c) => c.toConcept()) };
  }
}

/**
 * The pilot's vocabulary.json: an object from category name to concept URI, such as
 * {"building": "http://data.europeana.eu/concept/base/29"}. Names are trimmed (the file has
 * "clothing " style keys); the label is the name in words, the notation the name as written.
 */
export function parseEuropeanaVocabularyJson(input: string | unknown, options: VocabularyOptions = {}): SkosVocabulary {
  const source = options.source ?? 'vocabulary.json';
  let json: unknown = input;
  if (typeof input === 'string') {
    try {
      json = JSON.parse(input);
    } catch (error) {
      throw invalid(`${source} is not JSON: ${(error as Error).message}`, { source }, error);
    }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalid(`${source} must be an object from category name to concept URI`, { source });
  }
  const draft = new VocabularyDraft();
  for (const [key, value] of Object.entries(json)) {
    const name = key.trim();
    if (name === '') throw invalid(`${source}: an empty category name`, { source });
    const uri = typeof value === 'string' ? value.trim() : '';
    if (!isAbsoluteUri(uri)) {
      throw invalid(`${source}: the category '${name}' maps to ${JSON.stringify(value)}, not a concept URI`, { source, name });
    }
    draft.addName(name, uri, `key '${key}'`, source);
  }
  return draft.toVocabulary(options.id ?? PILOT_VOCABULARY_ID, options.label);
}

/** DBpedia's HTML pages (/page/X) describe the resource /resource/X, the URI to match on. */
export function normaliseDbpediaUri(uri: string): string {
  return uri.replace(/^(https?:\/\/(?:[a-z-]+\.)?dbpedia\.org)\/page\//, '$1/resource/');
}

const CONCEPT_CSV_URI_COLUMNS = ['ef_entity_collection', 'getty_aat', 'wikidata', 'dbpedia'] as const;

/**
 * The pilot's uris_vocabularies.csv: columns concept, getty_aat, dbpedia, wikidata,
 * ef_entity_collection, read by name in any order (only concept is required). A concept's URI is
 * its Europeana entity when it has one, else its Getty AAT term, else its Wikidata entity: the
 * order vocabulary.json follows, so both files give a name the same URI. The other URIs become
 * exactMatch.
 */
export function parseConceptCsv(text: string, options: VocabularyOptions = {}): SkosVocabulary {
  const source = options.source ?? 'the concept CSV';
  const { records, lines } = csvRecords(text, { required: ['concept'], source });
  const draft = new VocabularyDraft();
  records.forEach((record, index) => {
    const line = lines[index]!;
    const name = record['concept'] ?? '';
    if (name === '') throw invalid(`${source} line ${line}: no concept name`, { source, line });
    const uris: Partial<Record<(typeof CONCEPT_CSV_URI_COLUMNS)[number], string>> = {};
    for (const column of CONCEPT_CSV_URI_COLUMNS) {
      const value = record[column] ?? '';
      if (value === '') continue;
      if (!isAbsoluteUri(value)) {
        throw invalid(`${source} line ${line}: ${column} of '${name}' is not a URI: ${JSON.stringify(value)}`, { source, line, column });
      }
      uris[column] = column === 'dbpedia' ? normaliseDbpediaUri(value) : value;
    }
    const uri = uris.ef_entity_collection ?? uris.getty_aat ?? uris.wikidata;
    if (uri === undefined) {
      throw invalid(`${source} line ${line}: '${name}' has no ef_entity_collection, getty_aat or wikidata URI`, { source, line, name });
    }
    draft.addName(name, uri, `line ${line}`, source);
    const concept = draft.concept(uri);
    for (const column of ['getty_aat', 'dbpedia', 'wikidata', 'ef_entity_collection'] as const) {
      const match = uris[column];
      if (match !== undefined && match !== uri) concept.exactMatch.add(match);
    }
  });
  return draft.toVocabulary(options.id ?? PILOT_VOCABULARY_ID, options.label);
}

/**
 * Both vocabularies' concepts, one per URI: labels, links and matches joined (where both give a
 * preferred label in one language, a's stays preferred and b's becomes an alternative). The id and
 * label are a's.
 */
export function mergeVocabularies(a: SkosVocabulary, b: SkosVocabulary): SkosVocabulary {
  const draft = new VocabularyDraft();
  for (const concept of [...a.concepts, ...b.concepts]) draft.concept(concept.uri).merge(concept);
  return draft.toVocabulary(a.id, a.label ?? b.label);
}

// --- SKOS in JSON-LD -------------------------------------------------------------------------

/** Every string @context (and @import) in the document: each would be fetched from the network. */
function remoteContexts(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) remoteContexts(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '@context') {
        for (const context of Array.isArray(item) ? item : [item]) {
          if (typeof context === 'string') found.push(context);
          else remoteContexts(context, found);
        }
      } else if (key === '@import' && typeof item === 'string') {
        found.push(item);
      } else {
        remoteContexts(item, found);
      }
    }
  }
  return found;
}

function remoteContextError(urls: readonly string[]): LoupeError {
  return invalid(
    `the JSON-LD document refers to the remote @context ${urls.join(', ')}; Loupe never fetches contexts: inline the context (the object that URL returns) in the document`,
    { contexts: urls },
  );
}

const refuseRemote = async (url: string): Promise<RemoteDocument> => {
  throw remoteContextError([url]);
};

/**
 * A prefix used without being declared stays in the expanded IRI ('skos:prefLabel'): documents
 * written by hand often do that for the well-known vocabularies, so those read as declared.
 */
const UNDECLARED_PREFIXES: Readonly<Record<string, string>> = { skos: SKOS, rdfs: RDFS, dcterms: DCTERMS, dct: DCTERMS, dc: DC };

function fullIri(iri: string): string {
  const colon = iri.indexOf(':');
  const namespace = colon > 0 ? UNDECLARED_PREFIXES[iri.slice(0, colon)] : undefined;
  return namespace !== undefined && !iri.startsWith('//', colon + 1) ? namespace + iri.slice(colon + 1) : iri;
}

/** A node with its property IRIs and type IRIs in full. */
function normaliseNode(node: ExpandedNode): Map<string, unknown[]> {
  const properties = new Map<string, unknown[]>();
  for (const [key, value] of Object.entries(node)) {
    const iri = key.startsWith('@') ? key : fullIri(key);
    let values = Array.isArray(value) ? value : [value];
    if (key === '@type') values = values.map((t) => (typeof t === 'string' ? fullIri(t) : t));
    properties.set(iri, [...(properties.get(iri) ?? []), ...values]);
  }
  return properties;
}

interface Literal {
  readonly value: string;
  readonly language: string;
}

function literals(values: readonly unknown[] | undefined): Literal[] {
  const out: Literal[] = [];
  for (const v of values ?? []) {
    if (v !== null && typeof v === 'object' && '@value' in v) {
      const value = (v as { '@value': unknown })['@value'];
      const language = (v as { '@language'?: unknown })['@language'];
      if (typeof value === 'string' || typeof value === 'number') out.push({ value: String(value), language: typeof language === 'string' ? language : '' });
    }
  }
  return out;
}

/** Linked resources; a plain string that is a URI counts too, as contexts often forget "@type": "@id". */
function references(values: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    if (v === null || typeof v !== 'object') continue;
    const id = (v as { '@id'?: unknown })['@id'];
    const value = (v as { '@value'?: unknown })['@value'];
    if (typeof id === 'string') out.push(id);
    else if (typeof value === 'string' && isAbsoluteUri(value)) out.push(value);
  }
  return out;
}

function pickLabel(candidates: readonly Literal[]): string | undefined {
  return (candidates.find((l) => l.language.toLowerCase() === 'en') ?? candidates.find((l) => l.language === '') ?? candidates[0])?.value;
}

const isBlank = (id: string): boolean => id.startsWith('_:');

/**
 * SKOS concepts and their scheme from a JSON-LD document (object, array or JSON text): compacted
 * with an inline context, expanded, or a @graph. Reads skos:Concept nodes (prefLabel, altLabel,
 * notation, broader, narrower, exactMatch and closeMatch) and the skos:ConceptScheme, whose URI
 * and label become the vocabulary's unless options give them. Nothing is fetched: a remote
 * @context is refused with a message saying to inline it.
 */
export async function parseSkosJsonLd(doc: unknown, options: VocabularyOptions = {}): Promise<SkosVocabulary> {
  const source = options.source ?? 'the JSON-LD document';
  let input = doc;
  if (typeof doc === 'string') {
    // jsonld reads a string as a URL to fetch: this is the document's text.
    try {
      input = JSON.parse(doc);
    } catch (error) {
      throw invalid(`${source} is not JSON: ${(error as Error).message}`, { source }, error);
    }
  }
  if (input === null || typeof input !== 'object') throw invalid(`${source} is not a JSON-LD object or array`, { source });
  const remote = remoteContexts(input);
  if (remote.length > 0) throw remoteContextError([...new Set(remote)]);

  let flattened: ExpandedNode[];
  try {
    flattened = await jsonld.flatten(input, null, { documentLoader: refuseRemote });
  } catch (error) {
    const cause = (error as { details?: { cause?: unknown } }).details?.cause;
    if (error instanceof LoupeError) throw error;
    if (cause instanceof LoupeError) throw cause;
    throw invalid(`${source} is not valid JSON-LD: ${(error as Error).message}`, { source }, error);
  }

  const nodes = flattened.map(normaliseNode);
  const typed = (node: Map<string, unknown[]>, type: string): boolean => (node.get('@type') ?? []).includes(type);
  const concepts = nodes.filter((n) => typed(n, `${SKOS}Concept`));
  const schemes = nodes.filter((n) => typed(n, `${SKOS}ConceptScheme`));
  if (concepts.length === 0) throw invalid(`${source} holds no skos:Concept`, { source });

  const named = schemes.map((s) => s.get('@id')?.[0]).filter((i): i is string => typeof i === 'string' && !isBlank(i));
  if (options.id === undefined && named.length !== 1) {
    throw invalid(
      named.length === 0
        ? `${source} has no skos:ConceptScheme with a URI: give the vocabulary an id`
        : `${source} has ${named.length} concept schemes (${named.join(', ')}): give the vocabulary an id`,
      { source, schemes: named },
    );
  }
  const id = options.id ?? named[0]!;
  const scheme = schemes.find((s) => s.get('@id')?.[0] === id);
  // Scheme membership, from either side: a concept placed only in other schemes is not this one's.
  const members = new Set(references(scheme?.get(`${SKOS}hasTopConcept`)));
  const belongs = (node: Map<string, unknown[]>, uri: string): boolean => {
    const inSchemes = [...references(node.get(`${SKOS}inScheme`)), ...references(node.get(`${SKOS}topConceptOf`))];
    return inSchemes.length === 0 || inSchemes.includes(id) || members.has(uri);
  };

  const draft = new VocabularyDraft();
  for (const node of concepts) {
    const uri = node.get('@id')?.[0];
    const labels = literals(node.get(`${SKOS}prefLabel`));
    if (typeof uri !== 'string' || isBlank(uri)) {
      throw invalid(`${source}: a skos:Concept${labels[0] ? ` ('${labels[0].value}')` : ''} has no @id; every concept needs its URI`, { source });
    }
    if (!belongs(node, uri)) continue;
    const concept = draft.concept(uri);
    for (const l of labels) concept.addLabel(l.language, l.value, true);
    for (const l of literals(node.get(`${SKOS}altLabel`))) concept.addLabel(l.language, l.value, false);
    concept.notation ??= literals(node.get(`${SKOS}notation`))[0]?.value;
    for (const b of references(node.get(`${SKOS}broader`))) concept.broader.add(b);
    for (const n of references(node.get(`${SKOS}narrower`))) concept.narrower.add(n);
    for (const m of [...references(node.get(`${SKOS}exactMatch`)), ...references(node.get(`${SKOS}closeMatch`))]) {
      if (m !== uri) concept.exactMatch.add(m);
    }
  }
  draft.fillInverses();
  let label = options.label;
  if (label === undefined && scheme) {
    label = pickLabel([
      ...literals(scheme.get(`${SKOS}prefLabel`)),
      ...literals(scheme.get(`${RDFS}label`)),
      ...literals(scheme.get(`${DCTERMS}title`)),
      ...literals(scheme.get(`${DC}title`)),
    ]);
  }
  return draft.toVocabulary(id, label);
}
