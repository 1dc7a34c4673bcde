import type { Annotation } from '@loupe/contracts';
import type { AnnotationDoc } from '../mongo.documents.js';
import { localAnnotation, localAnnotationId } from '../public-url.annotation-store.js';
import type { MongoCollections } from './collections.js';
import { MongoSearchEntries } from './search-entries.js';

const localBody = (json: string): string => JSON.stringify(localAnnotation(JSON.parse(json) as Annotation));

/**
 * Annotations written before Loupe kept ids without its public URL get their key as id (and their
 * generator a URL-free id), as the SQLite store's schema 7 does; run each time the store opens
 * (an anchored regex on _id: nothing to read once done). Without transactions, each annotation is
 * moved in an order that a crash part-way leaves repairable by the next open: the copy under the
 * key is written first (its revisions follow, matched by `inc`), the URL document is deleted last.
 * A store served under two URLs may hold one annotation twice: the copy with more revisions stays.
 */
export async function stripPublicUrls(collections: MongoCollections): Promise<void> {
  const { annotations } = collections;
  const search = new MongoSearchEntries(collections);
  for await (const doc of annotations.find({ _id: { $regex: '^https?://' } })) {
    const key = localAnnotationId(doc._id);
    if (key === doc._id) continue; // someone else's annotation URL (an import)
    // Its search entries move with it (search-entries.ts).
    await search.around({ annotationIds: [doc._id, key] }, () => moveAnnotation(collections, doc, key));
  }
}

async function moveAnnotation({ annotations, revisions }: MongoCollections, doc: AnnotationDoc, key: string): Promise<void> {
  const twin = await annotations.findOne({ _id: key });
  const moving = !twin || twin.inc.equals(doc.inc) || doc.revision > twin.revision;
  if (moving) {
    const datasets = [...new Set([...(doc.datasets ?? []), ...(twin && !twin.inc.equals(doc.inc) ? (twin.datasets ?? []) : [])])];
    const { _id: _url, ...rest } = doc;
    // The upsert takes its _id from the filter.
    await annotations.replaceOne({ _id: key }, { ...rest, bodyJson: localBody(doc.bodyJson), ...(datasets.length > 0 && { datasets }) }, { upsert: true });
    for await (const r of revisions.find({ annotationId: doc._id, inc: doc.inc })) {
      await revisions.updateOne({ _id: r._id }, { $set: { annotationId: key, bodyJson: localBody(r.bodyJson) } });
    }
  } else if (doc.datasets && doc.datasets.length > 0) {
    await annotations.updateOne({ _id: key }, { $addToSet: { datasets: { $each: doc.datasets } } });
  }
  await annotations.deleteOne({ _id: doc._id });
}
