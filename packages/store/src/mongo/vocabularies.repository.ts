import { ObjectId, type Collection, type Filter } from 'mongodb';
import { checkText, checkVocabulary } from '../annotation-checks.js';
import { toConceptDocs, type ConceptDoc, type VocabularyDoc } from '../mongo.documents.js';
import { isDuplicateKey } from '../mongo.errors.js';
import type { Concept, Vocabulary, VocabularySummary } from '../store.js';
import { chunks } from './batches.js';
import type { MongoCollections } from './collections.js';

/** Byte order of the UTF-8 encodings, the order MongoDB and SQLite sort strings in. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** SKOS vocabularies, each pointing at the generation of concepts that readers see. */
export class MongoVocabulariesRepository {
  readonly #vocabularies: Collection<VocabularyDoc>;
  readonly #concepts: Collection<ConceptDoc>;

  constructor(collections: MongoCollections) {
    this.#vocabularies = collections.vocabularies;
    this.#concepts = collections.concepts;
  }

  /**
   * The concepts are written under a new generation, then the vocabulary document is switched
   * to it (only forward: of two concurrent puts the later generation wins and the other cleans
   * up after itself), then older generations are deleted. Readers follow the vocabulary's
   * generation, so they see the old concepts or the new ones, never a mix. A crash leaves
   * unreachable concepts that the next put of the vocabulary deletes.
   */
  async putVocabulary(vocabulary: Vocabulary): Promise<{ concepts: number }> {
    checkVocabulary(vocabulary);
    const id = vocabulary.id;
    const generation = new ObjectId();
    const concepts = toConceptDocs(id, generation, vocabulary.concepts);
    for (const chunk of chunks(concepts, 5000)) await this.#concepts.insertMany(chunk, { ordered: false });
    const fields = { label: vocabulary.label ?? null, generation, concepts: concepts.length };
    if (await this.#switchGeneration(id, fields)) {
      await this.#concepts.deleteMany({ vocabularyId: id, generation: { $lt: generation } });
    } else {
      // A newer put won: ours is never read.
      await this.#concepts.deleteMany({ vocabularyId: id, generation });
    }
    return { concepts: concepts.length };
  }

  /** Points the vocabulary at `fields.generation` unless it already points at a newer one; false when it does. */
  async #switchGeneration(id: string, fields: Omit<VocabularyDoc, '_id'>): Promise<boolean> {
    const forward = async (): Promise<boolean> =>
      (await this.#vocabularies.updateOne({ _id: id, generation: { $lt: fields.generation } }, { $set: fields })).matchedCount === 1;
    if (await forward()) return true;
    try {
      await this.#vocabularies.insertOne({ _id: id, ...fields });
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    // Another put created it meanwhile: ours wins only if that one is older.
    return forward();
  }

  async getVocabulary(id: string): Promise<Vocabulary | undefined> {
    if (typeof id !== 'string') return undefined;
    const doc = await this.#vocabularies.findOne({ _id: id });
    if (!doc) return undefined;
    const concepts = await this.#concepts.find({ vocabularyId: id, generation: doc.generation }).sort({ position: 1 }).toArray();
    return { id: doc._id, ...(doc.label !== null && { label: doc.label }), concepts: concepts.map((c) => JSON.parse(c.json) as Concept) };
  }

  async listVocabularies(): Promise<VocabularySummary[]> {
    const docs = await this.#vocabularies.find().sort({ _id: 1 }).toArray();
    return docs.map((doc) => ({ id: doc._id, ...(doc.label !== null && { label: doc.label }), concepts: doc.concepts }));
  }

  async findConcept(uri: string): Promise<(Concept & { readonly vocabulary: string }) | undefined> {
    checkText('uri', uri);
    const hit = (await this.#currentConcept({ uri })) ?? (await this.#currentConcept({ exactMatch: uri }));
    return hit && { ...(JSON.parse(hit.json) as Concept), vocabulary: hit.vocabularyId };
  }

  /** The first match in vocabulary id order, among concepts of their vocabulary's current generation. */
  async #currentConcept(filter: Filter<ConceptDoc>): Promise<ConceptDoc | undefined> {
    const candidates = await this.#concepts.find(filter).toArray();
    if (candidates.length === 0) return undefined;
    const vocabularies = await this.#vocabularies
      .find({ _id: { $in: [...new Set(candidates.map((c) => c.vocabularyId))] } }, { projection: { generation: 1 } })
      .toArray();
    const current = new Map(vocabularies.map((v) => [v._id, v.generation]));
    return candidates
      .filter((c) => current.get(c.vocabularyId)?.equals(c.generation))
      .sort((a, b) => byteOrder(a.vocabularyId, b.vocabularyId) || a.position - b.position)[0];
  }
}
