import { LoupeError, type Annotation, type ReviewState } from '@loupe/contracts';
import {
  MongoBulkWriteError,
  MongoClient,
  ObjectId,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Filter,
} from 'mongodb';
import {
  checkAnnotations,
  checkBulkReview,
  checkCanvas,
  checkCount,
  checkDatasetName,
  checkDescription,
  checkGroundTruth,
  checkKey,
  checkQuery,
  checkReview,
  checkText,
  checkUris,
  checkVocabulary,
  GROUND_TRUTH_STAGE,
  setKeyOf,
} from './annotation-checks.js';
import {
  ANNOTATION_SORT,
  COLLECTIONS,
  INDEXES,
  annotationAtRevision,
  contentOf,
  mongoFilterOf,
  nextRevision,
  revisionUpdate,
  revisionZeroOf,
  toAnnotation,
  toCanvasDoc,
  toCanvasRecord,
  toConceptDocs,
  type AnnotationDoc,
  type CanvasDoc,
  type CollectionName,
  type ConceptDoc,
  type DatasetDoc,
  type RevisionDoc,
  type SourceDoc,
  type VocabularyDoc,
} from './mongo.documents.js';
import {
  MONGODB_URL_VARIABLE,
  checkDatabaseName,
  databaseFromUrl,
  isDuplicateKey,
  mongoConfigError,
  mongoStoreError,
  redactUrl,
  writeErrorsOf,
} from './mongo.errors.js';
import type {
  AnnotationQuery,
  AnnotationStore,
  CanvasRecord,
  Concept,
  Dataset,
  GroundTruthInput,
  ReplaceResult,
  ResultSetKey,
  ReviewInput,
  Revision,
  Vocabulary,
  VocabularySummary,
} from './store.js';

export interface MongoStoreOptions {
  /** A mongodb:// or mongodb+srv:// connection string (what LOUPE_MONGODB_URL holds). */
  readonly url: string;
  /** Default: the database in the URL's path, else 'loupe'. */
  readonly database?: string;
  /** Prepended to every collection name, so that several stores can share one database. Default ''. */
  readonly collectionPrefix?: string;
  /**
   * A client the caller made and owns (shared connection pool, custom TLS...): the store uses it
   * and does not close it. Without one the store opens its own from `url` and closes it on close().
   */
  readonly client?: MongoClient;
  /** How long an operation waits for a usable server before failing with LOUPE_ERR_STORE (retryable). Default 5000. */
  readonly serverSelectionTimeoutMS?: number;
}

/** Ids per `$in`: far below the 16 MiB command limit even for long annotation URLs. */
const CHUNK = 1000;
/** Annotations per round of a bulk review: two writes each. */
const REVIEW_CHUNK = 500;
/** How many times a review re-reads after finding another review of the same revision pending. */
const REVIEW_ATTEMPTS = 5;
const PREFIX = /^[A-Za-z0-9_-]*$/;

/**
 * The ground-truth store on MongoDB (4.4 or later; a standalone server is enough).
 *
 * No multi-document transactions: they need a replica set, and many small deployments run one
 * mongod. Instead every write is idempotent and ordered so that a crash part-way leaves a state
 * that the same call, retried, repairs; what each method does if interrupted is said beside it.
 * The one place where readers could see a half-done write of many documents (a vocabulary being
 * replaced) is made atomic by switching a generation number last.
 */
export async function openMongoAnnotationStore(opts: MongoStoreOptions): Promise<AnnotationStore> {
  const { url, database, prefix, timeout } = checkOptions(opts);
  const owned = opts.client === undefined;
  let client = opts.client;
  if (!client) {
    try {
      client = new MongoClient(url, { serverSelectionTimeoutMS: timeout, appName: 'loupe', ignoreUndefined: true });
    } catch (err) {
      throw mongoConfigError(err, url);
    }
  }
  try {
    await client.connect();
    const db = client.db(database);
    await Promise.all(
      COLLECTIONS.filter((name) => INDEXES[name].length > 0).map((name) => db.collection(prefix + name).createIndexes([...INDEXES[name]])),
    );
    return new MongoAnnotationStore(client, db, prefix, url, owned);
  } catch (err) {
    if (owned) await client.close().catch(() => undefined);
    throw mongoStoreError('connect', err, url);
  }
}

function configError(message: string, details: Record<string, unknown>): LoupeError {
  return new LoupeError('LOUPE_ERR_CONFIG_INVALID', message, { details: { variable: MONGODB_URL_VARIABLE, ...details } });
}

function checkOptions(opts: MongoStoreOptions): { url: string; database: string; prefix: string; timeout: number } {
  const url = opts?.url;
  if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) {
    throw configError(`${MONGODB_URL_VARIABLE} must be a mongodb:// or mongodb+srv:// connection string, not ${JSON.stringify(redactUrl(String(url)))}`, {
      url: redactUrl(String(url)),
    });
  }
  const database = opts.database ?? databaseFromUrl(url) ?? 'loupe';
  const bad = checkDatabaseName(database);
  if (bad !== undefined) throw configError(`The MongoDB database name ${JSON.stringify(database)} ${bad}`, { database });
  const prefix = opts.collectionPrefix ?? '';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.length > 64) {
    throw configError(`The collection prefix ${JSON.stringify(prefix)} must be up to 64 characters of A-Z, a-z, 0-9, '_' and '-'`, { prefix });
  }
  const timeout = opts.serverSelectionTimeoutMS ?? 5000;
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw configError('serverSelectionTimeoutMS must be a positive integer (milliseconds)', { serverSelectionTimeoutMS: timeout });
  }
  return { url, database, prefix, timeout };
}

const nowIso = (): string => new Date().toISOString();

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Byte order of the UTF-8 encodings, the order MongoDB and SQLite sort strings in. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function notFound(id: unknown): LoupeError {
  return new LoupeError('LOUPE_ERR_NOT_FOUND', `No annotation with the id ${String(id)}`, { details: { id } });
}

/** Calls `write` again when it fails on a duplicate key: two upserts of one new _id raced and the loser now finds the document. */
async function retryOnDuplicate<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return write();
  }
}

class MongoAnnotationStore implements AnnotationStore {
  readonly #client: MongoClient;
  readonly #owned: boolean;
  readonly #url: string;
  readonly #names: Record<CollectionName, string>;
  readonly #annotations: Collection<AnnotationDoc>;
  readonly #revisions: Collection<RevisionDoc>;
  readonly #canvases: Collection<CanvasDoc>;
  readonly #vocabularies: Collection<VocabularyDoc>;
  readonly #concepts: Collection<ConceptDoc>;
  readonly #datasets: Collection<DatasetDoc>;
  readonly #sources: Collection<SourceDoc>;
  #closed = false;

  constructor(client: MongoClient, db: Db, prefix: string, url: string, owned: boolean) {
    this.#client = client;
    this.#owned = owned;
    this.#url = url;
    this.#names = Object.fromEntries(COLLECTIONS.map((name) => [name, prefix + name])) as Record<CollectionName, string>;
    this.#annotations = db.collection<AnnotationDoc>(this.#names.annotations);
    this.#revisions = db.collection<RevisionDoc>(this.#names.revisions);
    this.#canvases = db.collection<CanvasDoc>(this.#names.canvases);
    this.#vocabularies = db.collection<VocabularyDoc>(this.#names.vocabularies);
    this.#concepts = db.collection<ConceptDoc>(this.#names.concepts);
    this.#datasets = db.collection<DatasetDoc>(this.#names.datasets);
    this.#sources = db.collection<SourceDoc>(this.#names.sources);
  }

  /** Every operation runs here: a closed store refuses, and driver errors become LoupeErrors. */
  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new LoupeError('LOUPE_ERR_STORE', 'The store is closed', { details: { operation } });
    try {
      return await fn();
    } catch (err) {
      throw mongoStoreError(operation, err, this.#url);
    }
  }

  /**
   * Three steps, each idempotent: (1) one unordered bulk write upserts every annotation (a new
   * one gets its review fields, `created` and revision 0 through $setOnInsert; an unreviewed one
   * gets the new body; any gets the run's provenance and place in the set), (2) revision 0 of an
   * unreviewed annotation with a history becomes what the model says now, (3) the set's stale
   * annotations go: unreviewed ones are deleted, reviewed ones detached. A crash after (1) leaves
   * the new set written beside the old set's stale annotations; calling again with the same
   * input finishes (2) and (3) (its counts then describe what that call found: all kept).
   * Two writers of different contents for one set at the same moment end with one of them, not
   * a mix of both, only as far as their step (3)s do not interleave.
   */
  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult> {
    return this.#run('replaceResultSet', async () => {
      checkKey(key, modelVersion);
      const ids = [...checkAnnotations(annotations)];
      const setKey = setKeyOf(key);
      const place = { manifestId: key.manifestId, canvasId: key.canvasId, imageIndex: key.imageIndex, stage: key.stage, modelId: key.modelId };
      const now = nowIso();
      const before = new Map<string, Pick<AnnotationDoc, '_id' | 'reviewState' | 'revision' | 'inc'>>();
      for (const chunk of chunks(ids)) {
        const docs = await this.#annotations.find({ _id: { $in: chunk } }, { projection: { reviewState: 1, revision: 1, inc: 1 } }).toArray();
        for (const doc of docs) before.set(doc._id, doc);
      }

      const ops = annotations.flatMap((annotation, position): AnyBulkWriteOperation<AnnotationDoc>[] => {
        const content = contentOf(annotation);
        const generated = annotation.generated ?? null;
        return [
          {
            updateOne: {
              filter: { _id: annotation.id },
              update: {
                // Where the annotation belongs now: the set that produced it, its order, the run.
                $set: { ...place, modelVersion, generated, setKey, position },
                $setOnInsert: {
                  ...content,
                  reviewState: annotation['loupe:reviewState'] ?? 'unreviewed',
                  reviewer: null,
                  reviewedAt: null,
                  created: annotation.created ?? now,
                  revision: 0,
                  inc: new ObjectId(),
                },
              },
              upsert: true,
            },
          },
          // A curator's revision is never overwritten by the model: only an unreviewed body follows the run.
          { updateOne: { filter: { _id: annotation.id, reviewState: 'unreviewed' }, update: { $set: content } } },
        ];
      });
      const inserted = await this.#upsert(ops);

      const zeros = annotations.flatMap((annotation): AnyBulkWriteOperation<RevisionDoc>[] => {
        const doc = before.get(annotation.id);
        if (!doc || doc.reviewState !== 'unreviewed' || doc.revision === 0) return [];
        const generated = annotation.generated ?? null;
        return [
          {
            updateOne: {
              filter: { annotationId: annotation.id, inc: doc.inc, revision: 0 },
              update: { $set: { bodyJson: contentOf(annotation).bodyJson, generated, at: generated ?? now } },
            },
          },
        ];
      });
      if (zeros.length > 0) await this.#revisions.bulkWrite(zeros, { ordered: false });

      const { removed, detached } = await this.#dropStale(setKey, ids);
      return { inserted: inserted.size, kept: annotations.length - inserted.size + detached, removed };
    });
  }

  /** Upserts in one unordered bulk write; returns the ids it inserted. */
  async #upsert(ops: AnyBulkWriteOperation<AnnotationDoc>[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    if (ops.length === 0) return inserted;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await this.#annotations.bulkWrite(ops, { ordered: false });
        for (const id of Object.values(result.upsertedIds)) inserted.add(id as string);
        return inserted;
      } catch (err) {
        // Two writers upserting one new id at once: the server may fail the loser with E11000.
        // The same operations again find the document and update it; each id is inserted once.
        if (!(err instanceof MongoBulkWriteError) || !isDuplicateKey(err) || attempt >= 2) throw err;
        for (const id of Object.values(err.result.upsertedIds)) inserted.add(id as string);
      }
    }
  }

  async #dropStale(setKey: string, keep: readonly string[]): Promise<{ removed: number; detached: number }> {
    const stale = await this.#annotations
      .find({ setKey, _id: { $nin: [...keep] } }, { projection: { reviewState: 1, revision: 1, inc: 1 } })
      .toArray();
    if (stale.length === 0) return { removed: 0, detached: 0 };
    let removed = 0;
    const unreviewed = stale.filter((doc) => doc.reviewState === 'unreviewed');
    for (const chunk of chunks(unreviewed)) {
      // The state is checked again in the filter: one reviewed since the read above is detached below instead.
      const result = await this.#annotations.deleteMany({ _id: { $in: chunk.map((d) => d._id) }, setKey, reviewState: 'unreviewed' });
      removed += result.deletedCount;
    }
    // Only annotations that once had reviews (and were set back to unreviewed) have revisions to remove.
    await this.#dropRevisionsOfRemoved(unreviewed.filter((doc) => doc.revision > 0));
    // A curator's judgement is ground truth even when the model stops saying it.
    const detached = await this.#annotations.updateMany(
      { setKey, _id: { $nin: [...keep] }, reviewState: { $ne: 'unreviewed' } },
      { $set: { setKey: null } },
    );
    return { removed, detached: detached.modifiedCount };
  }

  /** Deletes the revisions of annotations that are gone (the same id produced again has another `inc`). */
  async #dropRevisionsOfRemoved(candidates: readonly Pick<AnnotationDoc, '_id' | 'inc'>[]): Promise<void> {
    for (const chunk of chunks(candidates)) {
      const alive = await this.#annotations.find({ _id: { $in: chunk.map((d) => d._id) } }, { projection: { inc: 1 } }).toArray();
      const still = new Set(alive.map((d) => `${d._id}\n${d.inc.toHexString()}`));
      const gone = chunk.filter((d) => !still.has(`${d._id}\n${d.inc.toHexString()}`));
      if (gone.length > 0) await this.#revisions.deleteMany({ $or: gone.map((d) => ({ annotationId: d._id, inc: d.inc })) });
    }
  }

  query(q: AnnotationQuery): Promise<Annotation[]> {
    return this.#run('query', async () => {
      const filter = await this.#filter(q);
      const limit = checkCount('limit', q.limit);
      const offset = checkCount('offset', q.offset) ?? 0;
      // The driver reads limit 0 as "no limit".
      if (limit === 0) return [];
      const cursor = this.#annotations.find(filter, { sort: ANNOTATION_SORT, skip: offset, allowDiskUse: true });
      const docs = await (limit === undefined ? cursor : cursor.limit(limit)).toArray();
      return q.original ? this.#originals(docs) : docs.map(toAnnotation);
    });
  }

  /** Each annotation with revision 0's body (written at its first review; before that the current body is it). */
  async #originals(docs: AnnotationDoc[]): Promise<Annotation[]> {
    const reviewed = docs.filter((doc) => doc.revision > 0);
    const zeros = new Map<string, RevisionDoc>();
    for (const chunk of chunks(reviewed)) {
      const found = await this.#revisions.find({ annotationId: { $in: chunk.map((d) => d._id) }, revision: 0 }).toArray();
      for (const zero of found) zeros.set(`${zero.annotationId}\n${zero.inc.toHexString()}`, zero);
    }
    return docs.map((doc) => {
      const zero = doc.revision > 0 ? zeros.get(`${doc._id}\n${doc.inc.toHexString()}`) : undefined;
      return toAnnotation(zero ? { ...doc, bodyJson: zero.bodyJson, generated: zero.generated } : doc);
    });
  }

  count(q: AnnotationQuery): Promise<number> {
    return this.#run('count', async () => this.#annotations.countDocuments(await this.#filter(q)));
  }

  get(id: string): Promise<Annotation | undefined> {
    return this.#run('get', async () => {
      if (typeof id !== 'string') return undefined;
      const doc = await this.#annotations.findOne({ _id: id });
      return doc ? toAnnotation(doc) : undefined;
    });
  }

  setReviewState(id: string, state: ReviewState, reviewer: string): Promise<Annotation> {
    return this.#reviewOne('setReviewState', id, { state, reviewer });
  }

  review(id: string, input: ReviewInput): Promise<Annotation> {
    return this.#reviewOne('review', id, input);
  }

  #reviewOne(operation: string, id: string, input: ReviewInput): Promise<Annotation> {
    return this.#run(operation, async () => {
      checkReview(input);
      const doc = typeof id === 'string' ? await this.#annotations.findOne({ _id: id }) : null;
      if (!doc) throw notFound(id);
      const outcome = await this.#review(doc, input, nowIso(), false);
      if (outcome === 'gone' || outcome === 'skipped') throw notFound(id);
      return outcome;
    });
  }

  /**
   * Appends one revision to `doc` (as last read). The revision document is written first, then
   * the annotation moves to it with a compare-and-set on its revision number, so:
   * - two reviewers at once: the unique (annotationId, inc, revision) index lets one write
   *   revision n+1; the other applies that pending revision itself and writes n+2 on top of it;
   * - a crash between the two writes leaves revision n+1 pending: history() does not show it
   *   yet, and the next review of the annotation applies it before adding its own (a review
   *   once written is never lost);
   * - an annotation removed meanwhile (an unreviewed one its model stopped producing) is 'gone'.
   * A review racing a re-run of the model on the same unreviewed annotation may record the body
   * the re-run is replacing in its revision; the annotation itself keeps the re-run's body.
   */
  async #review(doc: AnnotationDoc, input: ReviewInput, at: string, skipIfSameState: boolean): Promise<Annotation | 'gone' | 'skipped'> {
    let current: AnnotationDoc | null = doc;
    for (let attempt = 0; attempt < REVIEW_ATTEMPTS; attempt += 1) {
      if (attempt > 0) current = await this.#annotations.findOne({ _id: doc._id });
      if (!current) return 'gone';
      if (skipIfSameState && current.reviewState === input.state) return 'skipped';
      if (current.revision === 0) await this.#writeRevisionZero([current]);
      const next = nextRevision(current, input, at);
      const cas = { _id: current._id, inc: current.inc, revision: current.revision };
      try {
        await this.#revisions.insertOne(next);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        const pending = await this.#revisions.findOne({ annotationId: current._id, inc: current.inc, revision: next.revision });
        if (pending) await this.#annotations.updateOne(cas, { $set: revisionUpdate(pending) });
        continue;
      }
      const result = await this.#annotations.updateOne(cas, { $set: revisionUpdate(next) });
      if (result.matchedCount === 1) return toAnnotation({ ...current, ...revisionUpdate(next) });
      const after = await this.#annotations.findOne({ _id: current._id });
      // Someone who found our revision pending applied it: done.
      if (after && after.inc.equals(current.inc) && after.revision >= next.revision) return toAnnotation(after);
      if (!after || !after.inc.equals(current.inc)) {
        await this.#revisions.deleteMany({ annotationId: current._id, inc: current.inc });
        return 'gone';
      }
    }
    throw new LoupeError('LOUPE_ERR_STORE', `The annotation ${doc._id} is being reviewed by others at the same moment; try again`, {
      details: { id: doc._id, retryable: true },
    });
  }

  /** Records revision 0 from the annotation while it still is revision 0 (rewriting a copy a crashed first review left). */
  async #writeRevisionZero(docs: readonly AnnotationDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const ops = docs.map(
      (doc): AnyBulkWriteOperation<RevisionDoc> => ({
        replaceOne: { filter: { annotationId: doc._id, inc: doc.inc, revision: 0 }, replacement: revisionZeroOf(doc), upsert: true },
      }),
    );
    // A concurrent first review writing the same revision 0 is no failure.
    await this.#revisions.bulkWrite(ops, { ordered: false }).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
  }

  history(id: string): Promise<Revision[]> {
    return this.#run('history', async () => {
      const doc = typeof id === 'string' ? await this.#annotations.findOne({ _id: id }) : null;
      if (!doc) throw notFound(id);
      if (doc.revision === 0) {
        const { state, reviewer, at } = revisionZeroOf(doc);
        return [{ revision: 0, state, reviewer, at, annotation: toAnnotation(doc) }];
      }
      // Revisions beyond the annotation's own are pending (see #review) and not history yet.
      const revisions = await this.#revisions
        .find({ annotationId: doc._id, inc: doc.inc, revision: { $lte: doc.revision } })
        .sort({ revision: 1 })
        .toArray();
      return revisions.map((r) => ({
        revision: r.revision,
        state: r.state,
        reviewer: r.reviewer,
        at: r.at,
        ...(r.note !== null && { note: r.note }),
        annotation: annotationAtRevision(doc, r),
      }));
    });
  }

  /**
   * Not one transaction: the matching annotations are read in chunks and each chunk reviewed
   * (revision documents in one write, then the annotations in one compare-and-set write). A crash
   * leaves some reviewed and the rest not; calling again reviews the rest, because annotations
   * already in the state are skipped. An annotation reviewed by someone else meanwhile gets its
   * revision on top of theirs, unless theirs already set the state.
   */
  reviewMany(filter: AnnotationQuery, input: Omit<ReviewInput, 'correction'>): Promise<{ updated: number }> {
    return this.#run('reviewMany', async () => {
      checkBulkReview(input);
      const match = await this.#filter(filter);
      const at = nowIso();
      let updated = 0;
      let chunk: string[] = [];
      // Streamed: an annotation met twice (moved in the index by our own write) is skipped by
      // #reviewChunk's second look at its state.
      const cursor = this.#annotations.find({ $and: [match, { reviewState: { $ne: input.state } }] }, { projection: { _id: 1 }, batchSize: REVIEW_CHUNK });
      for await (const doc of cursor) {
        chunk.push(doc._id);
        if (chunk.length === REVIEW_CHUNK) {
          updated += await this.#reviewChunk(chunk, input, at);
          chunk = [];
        }
      }
      if (chunk.length > 0) updated += await this.#reviewChunk(chunk, input, at);
      return { updated };
    });
  }

  async #reviewChunk(ids: readonly string[], input: ReviewInput, at: string): Promise<number> {
    const docs = await this.#annotations.find({ _id: { $in: [...ids] }, reviewState: { $ne: input.state } }).toArray();
    if (docs.length === 0) return 0;
    await this.#writeRevisionZero(docs.filter((doc) => doc.revision === 0));
    const next = docs.map((doc) => nextRevision(doc, input, at));
    const taken = new Set<number>();
    try {
      await this.#revisions.insertMany(next, { ordered: false });
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError) || !isDuplicateKey(err)) throw err;
      for (const e of writeErrorsOf(err)) taken.add(e.index);
    }
    const written = next.filter((_, i) => !taken.has(i));
    let updated = 0;
    if (written.length > 0) {
      const result = await this.#annotations.bulkWrite(
        written.map((r) => ({
          updateOne: { filter: { _id: r.annotationId, inc: r.inc, revision: r.revision - 1 }, update: { $set: revisionUpdate(r) } },
        })),
        { ordered: false },
      );
      if (result.matchedCount === written.length) updated += written.length;
      else {
        // Some moved on before our write: applied by someone who found them pending (counted), or removed.
        const after = await this.#annotations
          .find({ _id: { $in: written.map((r) => r.annotationId) } }, { projection: { inc: 1, revision: 1 } })
          .toArray();
        const byId = new Map(after.map((d) => [d._id, d]));
        const gone: RevisionDoc[] = [];
        for (const r of written) {
          const now = byId.get(r.annotationId);
          if (now && now.inc.equals(r.inc)) updated += now.revision >= r.revision ? 1 : 0;
          else gone.push(r);
        }
        if (gone.length > 0) await this.#revisions.deleteMany({ $or: gone.map((r) => ({ annotationId: r.annotationId, inc: r.inc })) });
      }
    }
    // Another review took the same revision number: go the one-by-one way, which applies it first.
    for (const i of taken) {
      const outcome = await this.#review(docs[i]!, input, at, true);
      if (outcome !== 'gone' && outcome !== 'skipped') updated += 1;
    }
    return updated;
  }

  /**
   * Inserts what is not stored yet ($setOnInsert only, so a later review is never touched).
   * A crash part-way leaves some inserted; the same call again inserts the rest.
   */
  putGroundTruth(items: readonly GroundTruthInput[], opts: { readonly source: string; readonly reviewer: string }): Promise<{ inserted: number; kept: number }> {
    return this.#run('putGroundTruth', async () => {
      checkGroundTruth(items, opts);
      const now = nowIso();
      const existing = new Set<string>();
      for (const chunk of chunks(items.map((item) => item.annotation.id))) {
        const docs = await this.#annotations.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray();
        for (const doc of docs) existing.add(doc._id);
      }
      const fresh = items.filter((item) => !existing.has(item.annotation.id));
      // New ground truth goes after what this source already put on the canvas.
      const next = new Map<string, number>();
      for (const chunk of chunks([...new Set(fresh.map((item) => item.canvasId))])) {
        const last = await this.#annotations
          .aggregate<{ _id: string; position: number }>([
            { $match: { canvasId: { $in: chunk }, imageIndex: 0, stage: GROUND_TRUTH_STAGE, modelId: opts.source } },
            { $group: { _id: '$canvasId', position: { $max: '$position' } } },
          ])
          .toArray();
        for (const row of last) next.set(row._id, row.position + 1);
      }
      const ops = fresh.map(({ manifestId, canvasId, annotation }): AnyBulkWriteOperation<AnnotationDoc> => {
        const position = next.get(canvasId) ?? 0;
        next.set(canvasId, position + 1);
        const doc: Omit<AnnotationDoc, '_id'> = {
          manifestId,
          canvasId,
          imageIndex: 0,
          stage: GROUND_TRUTH_STAGE,
          modelId: opts.source,
          modelVersion: '1',
          ...contentOf(annotation),
          reviewState: 'accepted',
          reviewer: opts.reviewer,
          reviewedAt: now,
          created: annotation.created ?? now,
          generated: annotation.generated ?? null,
          // Not a model's result set: no re-run may remove or detach it.
          setKey: null,
          position,
          revision: 0,
          inc: new ObjectId(),
        };
        return { updateOne: { filter: { _id: annotation.id }, update: { $setOnInsert: doc }, upsert: true } };
      });
      const inserted = (await this.#upsert(ops)).size;
      return { inserted, kept: items.length - inserted };
    });
  }

  putCanvas(canvas: CanvasRecord): Promise<void> {
    return this.#run('putCanvas', async () => {
      checkCanvas(canvas);
      const doc = toCanvasDoc(canvas);
      await retryOnDuplicate(() => this.#canvases.replaceOne({ _id: doc._id }, doc, { upsert: true }));
    });
  }

  getCanvas(canvasId: string): Promise<CanvasRecord | undefined> {
    return this.#run('getCanvas', async () => {
      if (typeof canvasId !== 'string') return undefined;
      const doc = await this.#canvases.findOne({ _id: canvasId });
      return doc ? toCanvasRecord(doc) : undefined;
    });
  }

  canvases(filter: AnnotationQuery): Promise<{ canvas: CanvasRecord; annotations: number }[]> {
    return this.#run('canvases', async () => {
      const match = await this.#filter(filter);
      const limit = checkCount('limit', filter.limit);
      const offset = checkCount('offset', filter.offset) ?? 0;
      if (limit === 0) return [];
      const rows = await this.#annotations
        .aggregate<{ _id: string; manifestId: string; n: number; recorded: CanvasDoc[] }>(
          [
            { $match: match },
            { $group: { _id: '$canvasId', manifestId: { $min: '$manifestId' }, n: { $sum: 1 } } },
            { $sort: { _id: 1 } },
            ...(offset > 0 ? [{ $skip: offset }] : []),
            ...(limit === undefined ? [] : [{ $limit: limit }]),
            { $lookup: { from: this.#names.canvases, localField: '_id', foreignField: '_id', as: 'recorded' } },
          ],
          { allowDiskUse: true },
        )
        .toArray();
      return rows.map((row) => ({
        canvas: row.recorded[0]
          ? toCanvasRecord(row.recorded[0])
          : { canvasId: row._id, manifestId: row.manifestId, width: 0, height: 0, image: { id: '' } },
        annotations: row.n,
      }));
    });
  }

  /**
   * The concepts are written under a new generation, then the vocabulary document is switched
   * to it (only forward: of two concurrent puts the later generation wins and the other cleans
   * up after itself), then older generations are deleted. Readers follow the vocabulary's
   * generation, so they see the old concepts or the new ones, never a mix. A crash leaves
   * unreachable concepts that the next put of the vocabulary deletes.
   */
  putVocabulary(vocabulary: Vocabulary): Promise<{ concepts: number }> {
    return this.#run('putVocabulary', async () => {
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
    });
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

  getVocabulary(id: string): Promise<Vocabulary | undefined> {
    return this.#run('getVocabulary', async () => {
      if (typeof id !== 'string') return undefined;
      const doc = await this.#vocabularies.findOne({ _id: id });
      if (!doc) return undefined;
      const concepts = await this.#concepts.find({ vocabularyId: id, generation: doc.generation }).sort({ position: 1 }).toArray();
      return { id: doc._id, ...(doc.label !== null && { label: doc.label }), concepts: concepts.map((c) => JSON.parse(c.json) as Concept) };
    });
  }

  listVocabularies(): Promise<VocabularySummary[]> {
    return this.#run('listVocabularies', async () => {
      const docs = await this.#vocabularies.find().sort({ _id: 1 }).toArray();
      return docs.map((doc) => ({ id: doc._id, ...(doc.label !== null && { label: doc.label }), concepts: doc.concepts }));
    });
  }

  findConcept(uri: string): Promise<(Concept & { readonly vocabulary: string }) | undefined> {
    return this.#run('findConcept', async () => {
      checkText('uri', uri);
      const hit = (await this.#currentConcept({ uri })) ?? (await this.#currentConcept({ exactMatch: uri }));
      return hit && { ...(JSON.parse(hit.json) as Concept), vocabulary: hit.vocabularyId };
    });
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

  createDataset(input: { readonly name: string; readonly description?: string }): Promise<Dataset> {
    return this.#run('createDataset', async () => {
      const name = checkDatasetName(input?.name);
      checkDescription(input.description);
      const created = nowIso();
      const update =
        input.description === undefined
          ? { $setOnInsert: { created, description: null } }
          : { $setOnInsert: { created }, $set: { description: input.description } };
      await retryOnDuplicate(() => this.#datasets.updateOne({ _id: name }, update, { upsert: true }));
      const dataset = await this.#dataset(name);
      if (!dataset) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `The dataset ${name} was deleted while it was being created`, { details: { dataset: name } });
      return dataset;
    });
  }

  getDataset(name: string): Promise<Dataset | undefined> {
    return this.#run('getDataset', async () => this.#dataset(checkDatasetName(name)));
  }

  listDatasets(): Promise<Dataset[]> {
    return this.#run('listDatasets', async () => {
      const docs = await this.#datasets.find().sort({ _id: 1 }).toArray();
      return Promise.all(docs.map((doc) => this.#datasetOf(doc)));
    });
  }

  addDatasetSources(name: string, sources: readonly string[]): Promise<{ added: number }> {
    return this.#run('addDatasetSources', async () => {
      checkDatasetName(name);
      checkUris('Dataset sources', sources);
      await this.#requireDataset(name);
      const unique = [...new Set(sources)];
      if (unique.length === 0) return { added: 0 };
      try {
        return { added: (await this.#sources.insertMany(unique.map((source) => ({ name, source })), { ordered: false })).insertedCount };
      } catch (err) {
        // Sources the dataset already has hit the unique index; the others went in.
        if (err instanceof MongoBulkWriteError && isDuplicateKey(err)) return { added: err.insertedCount };
        throw err;
      }
    });
  }

  addDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ added: number }> {
    return this.#run('addDatasetMembers', async () => {
      checkDatasetName(name);
      checkUris('Annotation ids', annotationIds);
      await this.#requireDataset(name);
      const unique = [...new Set(annotationIds)];
      const found = new Set<string>();
      for (const chunk of chunks(unique)) {
        for (const doc of await this.#annotations.find({ _id: { $in: chunk } }, { projection: { _id: 1 } }).toArray()) found.add(doc._id);
      }
      const unknown = unique.filter((id) => !found.has(id));
      if (unknown.length > 0) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${unknown.length} annotation id(s) are not in the store, first ${unknown[0]}; nothing was added`, {
          details: { dataset: name, unknown: unknown.slice(0, 20), count: unknown.length },
        });
      }
      let added = 0;
      for (const chunk of chunks(unique)) {
        added += (await this.#annotations.updateMany({ _id: { $in: chunk }, datasets: { $ne: name } }, { $addToSet: { datasets: name } })).modifiedCount;
      }
      return { added };
    });
  }

  removeDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ removed: number }> {
    return this.#run('removeDatasetMembers', async () => {
      checkDatasetName(name);
      checkUris('Annotation ids', annotationIds);
      await this.#requireDataset(name);
      let removed = 0;
      for (const chunk of chunks([...new Set(annotationIds)])) {
        removed += (await this.#annotations.updateMany({ _id: { $in: chunk }, datasets: name }, { $pull: { datasets: name } })).modifiedCount;
      }
      return { removed };
    });
  }

  /** Members and sources go first and the dataset document last, so that a crash part-way is finished by deleting again. */
  deleteDataset(name: string): Promise<boolean> {
    return this.#run('deleteDataset', async () => {
      checkDatasetName(name);
      await this.#annotations.updateMany({ datasets: name }, { $pull: { datasets: name } });
      await this.#sources.deleteMany({ name });
      return (await this.#datasets.deleteOne({ _id: name })).deletedCount > 0;
    });
  }

  async #dataset(name: string): Promise<Dataset | undefined> {
    const doc = await this.#datasets.findOne({ _id: name });
    return doc ? this.#datasetOf(doc) : undefined;
  }

  async #datasetOf(doc: DatasetDoc): Promise<Dataset> {
    const [sources, members] = await Promise.all([this.#sourcesOf(doc._id), this.#annotations.countDocuments({ datasets: doc._id })]);
    return { name: doc._id, ...(doc.description !== null && { description: doc.description }), created: doc.created, sources, members };
  }

  /** In the order they were added (ObjectIds made by one client increase). */
  async #sourcesOf(name: string): Promise<string[]> {
    const docs = await this.#sources.find({ name }, { projection: { source: 1 } }).sort({ _id: 1 }).toArray();
    return docs.map((doc) => doc.source);
  }

  async #requireDataset(name: string): Promise<void> {
    if (!(await this.#datasets.findOne({ _id: name }, { projection: { _id: 1 } }))) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No dataset named ${name}`, { details: { dataset: name } });
    }
  }

  /** The filter document for `q`, reading the dataset's sources first when it names one. */
  async #filter(q: AnnotationQuery): Promise<Filter<AnnotationDoc>> {
    checkQuery(q);
    let sources: string[] | undefined;
    if (q.dataset !== undefined) {
      await this.#requireDataset(q.dataset);
      sources = await this.#sourcesOf(q.dataset);
    }
    return mongoFilterOf(q, sources);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.#client.close();
  }
}
