import { LoupeError, type Annotation } from '@loupe/contracts';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection } from 'mongodb';
import { checkBulkReview, checkReview } from '../annotation-checks.js';
import {
  annotationAtRevision,
  nextRevision,
  revisionUpdate,
  revisionZeroOf,
  toAnnotation,
  type AnnotationDoc,
  type RevisionDoc,
} from '../mongo.documents.js';
import { isDuplicateKey, writeErrorsOf } from '../mongo.errors.js';
import type { AnnotationQuery, ReviewInput, Revision } from '../store.js';
import type { AnnotationFilter } from './annotation-filter.js';
import { notFound, nowIso } from './batches.js';
import type { MongoCollections } from './collections.js';
import { MongoSearchEntries } from './search-entries.js';

/** Annotations per round of a bulk review: two writes each. */
const REVIEW_CHUNK = 500;
/** How many times a review re-reads after finding another review of the same revision pending. */
const REVIEW_ATTEMPTS = 5;

/** The annotations' revisions: reviews one by one and in bulk, and the history they leave. */
export class MongoReviewsRepository {
  readonly #annotations: Collection<AnnotationDoc>;
  readonly #revisions: Collection<RevisionDoc>;
  readonly #filter: AnnotationFilter;
  readonly #search: MongoSearchEntries;

  constructor(collections: MongoCollections, filter: AnnotationFilter) {
    this.#annotations = collections.annotations;
    this.#revisions = collections.revisions;
    this.#filter = filter;
    this.#search = new MongoSearchEntries(collections);
  }

  async review(id: string, input: ReviewInput): Promise<Annotation> {
    checkReview(input);
    const doc = typeof id === 'string' ? await this.#annotations.findOne({ _id: id }) : null;
    if (!doc) throw notFound(id);
    // A review changes what is searched (state, corrected body): its entries follow (search-entries.ts).
    const outcome = await this.#search.around({ annotationIds: [doc._id] }, () => this.#review(doc, input, nowIso(), false));
    if (outcome === 'gone' || outcome === 'skipped') throw notFound(id);
    return outcome;
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

  async history(id: string): Promise<Revision[]> {
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
  }

  /**
   * Not one transaction: the matching annotations are read in chunks and each chunk reviewed
   * (revision documents in one write, then the annotations in one compare-and-set write). A crash
   * leaves some reviewed and the rest not; calling again reviews the rest, because annotations
   * already in the state are skipped. An annotation reviewed by someone else meanwhile gets its
   * revision on top of theirs, unless theirs already set the state.
   */
  async reviewMany(filter: AnnotationQuery, input: Omit<ReviewInput, 'correction'>): Promise<{ updated: number }> {
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
        updated += await this.#reviewIndexed(chunk, input, at);
        chunk = [];
      }
    }
    if (chunk.length > 0) updated += await this.#reviewIndexed(chunk, input, at);
    return { updated };
  }

  /** A chunk reviewed, then its search entries (search-entries.ts). */
  #reviewIndexed(ids: readonly string[], input: ReviewInput, at: string): Promise<number> {
    return this.#search.around({ annotationIds: ids }, () => this.#reviewChunk(ids, input, at));
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
}
