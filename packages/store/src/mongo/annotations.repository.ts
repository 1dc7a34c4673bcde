import type { Annotation } from '@loupe/contracts';
import { MongoBulkWriteError, ObjectId, type AnyBulkWriteOperation, type Collection } from 'mongodb';
import { checkAnnotations, checkCount, checkGroundTruth, checkKey, GROUND_TRUTH_STAGE, setKeyOf } from '../annotation-checks.js';
import { ANNOTATION_SORT, contentOf, toAnnotation, type AnnotationDoc, type RevisionDoc } from '../mongo.documents.js';
import { isDuplicateKey } from '../mongo.errors.js';
import type { AnnotationQuery, GroundTruthInput, ReplaceResult, ResultSetKey } from '../store.js';
import type { AnnotationFilter } from './annotation-filter.js';
import { chunks, nowIso } from './batches.js';
import type { MongoCollections } from './collections.js';
import { MongoSearchEntries } from './search-entries.js';

/** Annotations as models and importers write them, and the queries over them (reviews: reviews.repository.ts). */
export class MongoAnnotationsRepository {
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
   * The set's search entries follow the three steps (search-entries.ts: a crash before they do is
   * finished by the next open of the store).
   */
  async replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult> {
    checkKey(key, modelVersion);
    const ids = [...checkAnnotations(annotations)];
    const setKey = setKeyOf(key);
    return this.#search.around({ annotationSets: [setKey] }, () => this.#replaceSet(key, setKey, modelVersion, annotations, ids));
  }

  async #replaceSet(key: ResultSetKey, setKey: string, modelVersion: string, annotations: readonly Annotation[], ids: readonly string[]): Promise<ReplaceResult> {
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

  async query(q: AnnotationQuery): Promise<Annotation[]> {
    const filter = await this.#filter(q);
    const limit = checkCount('limit', q.limit);
    const offset = checkCount('offset', q.offset) ?? 0;
    // The driver reads limit 0 as "no limit".
    if (limit === 0) return [];
    const cursor = this.#annotations.find(filter, { sort: ANNOTATION_SORT, skip: offset, allowDiskUse: true });
    const docs = await (limit === undefined ? cursor : cursor.limit(limit)).toArray();
    return q.original ? this.#originals(docs) : docs.map(toAnnotation);
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

  async count(q: AnnotationQuery): Promise<number> {
    return this.#annotations.countDocuments(await this.#filter(q));
  }

  async get(id: string): Promise<Annotation | undefined> {
    if (typeof id !== 'string') return undefined;
    const doc = await this.#annotations.findOne({ _id: id });
    return doc ? toAnnotation(doc) : undefined;
  }

  /**
   * Inserts what is not stored yet ($setOnInsert only, so a later review is never touched).
   * A crash part-way leaves some inserted; the same call again inserts the rest.
   */
  async putGroundTruth(items: readonly GroundTruthInput[], opts: { readonly source: string; readonly reviewer: string }): Promise<{ inserted: number; kept: number }> {
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
    // Every item, not only the fresh ones: a retry after a crash before the entries were written finds them all stored.
    const inserted = (await this.#search.around({ annotationIds: items.map((item) => item.annotation.id) }, () => this.#upsert(ops))).size;
    return { inserted, kept: items.length - inserted };
  }
}
