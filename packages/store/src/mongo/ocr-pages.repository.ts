import type { OcrPage } from '@loupe/contracts';
import type { Collection, Filter } from 'mongodb';
import { checkKey, checkOcrPage, checkOcrPageFilter, checkText, setKeyOf } from '../annotation-checks.js';
import type { OcrPageDoc } from '../mongo.documents.js';
import type { OcrPageEntry, OcrPageFilter, ResultSetKey, StoredOcrPage } from '../store.js';
import { retryOnDuplicate } from './batches.js';
import type { MongoCollections } from './collections.js';
import { MongoSearchEntries } from './search-entries.js';

/** The text stages' pages: one document per result set, so replacing one is a single write. */
export class MongoOcrPagesRepository {
  readonly #pages: Collection<OcrPageDoc>;
  readonly #search: MongoSearchEntries;

  constructor(collections: MongoCollections) {
    this.#pages = collections.ocrPages;
    this.#search = new MongoSearchEntries(collections);
  }

  async replaceOcrPage(key: ResultSetKey, modelVersion: string, page: OcrPage | undefined, generated: string): Promise<void> {
    checkKey(key, modelVersion);
    checkOcrPage(page);
    checkText('generated', generated);
    const _id = setKeyOf(key);
    // The page's lines are search entries: they follow the write (search-entries.ts).
    await this.#search.around({ pages: [_id] }, async () => {
      if (page === undefined) {
        await this.#pages.deleteOne({ _id });
        return;
      }
      const { manifestId, canvasId, imageIndex, stage, modelId } = key;
      const doc: OcrPageDoc = { _id, manifestId, canvasId, imageIndex, stage, modelId, modelVersion, generated, pageJson: JSON.stringify(page) };
      await retryOnDuplicate(() => this.#pages.replaceOne({ _id }, doc, { upsert: true }));
    });
  }

  async ocrPages(filter: OcrPageFilter): Promise<StoredOcrPage[]> {
    const docs = await this.#find(filter).toArray();
    return docs.map((doc) => ({ ...entryOf(doc), page: JSON.parse(doc.pageJson) as OcrPage }));
  }

  async ocrPageEntries(filter: OcrPageFilter): Promise<OcrPageEntry[]> {
    return (await this.#find(filter).project<Omit<OcrPageDoc, 'pageJson'>>({ pageJson: 0 }).toArray()).map(entryOf);
  }

  #find(filter: OcrPageFilter) {
    checkOcrPageFilter(filter);
    const match: Filter<OcrPageDoc> = {
      ...(filter.manifestId !== undefined && { manifestId: filter.manifestId }),
      ...(filter.canvasId !== undefined && { canvasId: filter.canvasId }),
    };
    return this.#pages.find(match).sort({ canvasId: 1, imageIndex: 1, stage: 1, modelId: 1 });
  }
}

function entryOf(doc: Omit<OcrPageDoc, 'pageJson'>): OcrPageEntry {
  return {
    key: { manifestId: doc.manifestId, canvasId: doc.canvasId, imageIndex: doc.imageIndex, stage: doc.stage, modelId: doc.modelId },
    modelVersion: doc.modelVersion,
    generated: doc.generated,
  };
}
