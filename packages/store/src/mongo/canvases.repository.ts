import type { Collection } from 'mongodb';
import { checkCanvas, checkCount } from '../annotation-checks.js';
import { toCanvasDoc, toCanvasRecord, type AnnotationDoc, type CanvasDoc, type CollectionName } from '../mongo.documents.js';
import type { AnnotationQuery, CanvasRecord } from '../store.js';
import type { AnnotationFilter } from './annotation-filter.js';
import { retryOnDuplicate } from './batches.js';
import type { MongoCollections } from './collections.js';

/** What is known of each canvas, and the canvases that annotations are on. */
export class MongoCanvasesRepository {
  readonly #names: Record<CollectionName, string>;
  readonly #annotations: Collection<AnnotationDoc>;
  readonly #canvases: Collection<CanvasDoc>;
  readonly #filter: AnnotationFilter;

  constructor(collections: MongoCollections, filter: AnnotationFilter) {
    this.#names = collections.names;
    this.#annotations = collections.annotations;
    this.#canvases = collections.canvases;
    this.#filter = filter;
  }

  async putCanvas(canvas: CanvasRecord): Promise<void> {
    checkCanvas(canvas);
    const doc = toCanvasDoc(canvas);
    await retryOnDuplicate(() => this.#canvases.replaceOne({ _id: doc._id }, doc, { upsert: true }));
  }

  async getCanvas(canvasId: string): Promise<CanvasRecord | undefined> {
    if (typeof canvasId !== 'string') return undefined;
    const doc = await this.#canvases.findOne({ _id: canvasId });
    return doc ? toCanvasRecord(doc) : undefined;
  }

  async canvases(filter: AnnotationQuery): Promise<{ canvas: CanvasRecord; annotations: number }[]> {
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
  }
}
