import type { Collection, Db } from 'mongodb';
import {
  COLLECTIONS,
  type AnnotationDoc,
  type CanvasDoc,
  type CollectionName,
  type ConceptDoc,
  type DatasetDoc,
  type OcrPageDoc,
  type RevisionDoc,
  type SourceDoc,
  type VocabularyDoc,
} from '../mongo.documents.js';
import type { IntentDoc, SearchEntryDoc } from './search-entries.js';

/** The store's collections under their prefixed names: what every repository is built from. */
export interface MongoCollections {
  readonly names: Record<CollectionName, string>;
  readonly annotations: Collection<AnnotationDoc>;
  readonly revisions: Collection<RevisionDoc>;
  readonly canvases: Collection<CanvasDoc>;
  readonly vocabularies: Collection<VocabularyDoc>;
  readonly concepts: Collection<ConceptDoc>;
  readonly datasets: Collection<DatasetDoc>;
  readonly sources: Collection<SourceDoc>;
  readonly ocrPages: Collection<OcrPageDoc>;
  /** Content Search's entries and the intents of writes not yet indexed (search-entries.ts). */
  readonly searchEntries: Collection<SearchEntryDoc>;
  readonly searchIntents: Collection<IntentDoc>;
}

export function collectionsOf(db: Db, prefix: string): MongoCollections {
  const names = Object.fromEntries(COLLECTIONS.map((name) => [name, prefix + name])) as Record<CollectionName, string>;
  return {
    names,
    annotations: db.collection<AnnotationDoc>(names.annotations),
    revisions: db.collection<RevisionDoc>(names.revisions),
    canvases: db.collection<CanvasDoc>(names.canvases),
    vocabularies: db.collection<VocabularyDoc>(names.vocabularies),
    concepts: db.collection<ConceptDoc>(names.concepts),
    datasets: db.collection<DatasetDoc>(names.datasets),
    sources: db.collection<SourceDoc>(names.sources),
    ocrPages: db.collection<OcrPageDoc>(names.ocrPages),
    searchEntries: db.collection<SearchEntryDoc>(`${prefix}searchEntries`),
    searchIntents: db.collection<IntentDoc>(`${prefix}searchIntents`),
  };
}
