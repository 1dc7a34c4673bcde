import { checkText, checkVocabulary } from '../annotation-checks.js';
import type { SqliteDatabase } from '../sqlite.database.js';
import type { Concept, Vocabulary, VocabularySummary } from '../store.js';

/** SKOS vocabularies: concepts kept as JSON in the order given, exactMatch URIs indexed for findConcept. */
export class SqliteVocabulariesRepository {
  readonly #db: SqliteDatabase;
  readonly #stmt;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#stmt = {
      putVocabulary: db.prepare<[string, string | null]>(
        'INSERT INTO vocabularies (id, label) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET label = excluded.label',
      ),
      // concept_matches follow by ON DELETE CASCADE.
      clearConcepts: db.prepare<[string]>('DELETE FROM concepts WHERE vocabulary_id = ?'),
      insertConcept: db.prepare<[string, string, string]>('INSERT INTO concepts (vocabulary_id, uri, json) VALUES (?, ?, ?)'),
      insertMatch: db.prepare<[string, string, string]>('INSERT INTO concept_matches (uri, vocabulary_id, concept_uri) VALUES (?, ?, ?)'),
      getVocabulary: db.prepare<[string], { id: string; label: string | null }>('SELECT id, label FROM vocabularies WHERE id = ?'),
      concepts: db.prepare<[string], { json: string }>('SELECT json FROM concepts WHERE vocabulary_id = ? ORDER BY rowid'),
      listVocabularies: db.prepare<[], { id: string; label: string | null; n: number }>(
        `SELECT v.id, v.label, COUNT(c.uri) AS n FROM vocabularies v LEFT JOIN concepts c ON c.vocabulary_id = v.id
         GROUP BY v.id ORDER BY v.id`,
      ),
      conceptByUri: db.prepare<[string], { vocabulary_id: string; json: string }>(
        'SELECT vocabulary_id, json FROM concepts WHERE uri = ? ORDER BY vocabulary_id LIMIT 1',
      ),
      conceptByMatch: db.prepare<[string], { vocabulary_id: string; json: string }>(
        `SELECT c.vocabulary_id, c.json FROM concept_matches m
         JOIN concepts c ON c.vocabulary_id = m.vocabulary_id AND c.uri = m.concept_uri
         WHERE m.uri = ? ORDER BY c.vocabulary_id, c.rowid LIMIT 1`,
      ),
    };
  }

  putVocabulary(vocabulary: Vocabulary): { concepts: number } {
    checkVocabulary(vocabulary);
    return this.#db.transaction(() => {
      this.#stmt.putVocabulary.run(vocabulary.id, vocabulary.label ?? null);
      this.#stmt.clearConcepts.run(vocabulary.id);
      for (const concept of vocabulary.concepts) {
        this.#stmt.insertConcept.run(vocabulary.id, concept.uri, JSON.stringify(concept));
        for (const match of new Set(concept.exactMatch ?? [])) this.#stmt.insertMatch.run(match, vocabulary.id, concept.uri);
      }
      return { concepts: vocabulary.concepts.length };
    })();
  }

  getVocabulary(id: string): Vocabulary | undefined {
    const row = this.#stmt.getVocabulary.get(id);
    if (!row) return undefined;
    const concepts = this.#stmt.concepts.all(id).map((c) => JSON.parse(c.json) as Concept);
    return { id: row.id, ...(row.label !== null && { label: row.label }), concepts };
  }

  listVocabularies(): VocabularySummary[] {
    return this.#stmt.listVocabularies.all().map((row) => ({ id: row.id, ...(row.label !== null && { label: row.label }), concepts: row.n }));
  }

  findConcept(uri: string): (Concept & { readonly vocabulary: string }) | undefined {
    checkText('uri', uri);
    const row = this.#stmt.conceptByUri.get(uri) ?? this.#stmt.conceptByMatch.get(uri);
    return row && { ...(JSON.parse(row.json) as Concept), vocabulary: row.vocabulary_id };
  }
}
