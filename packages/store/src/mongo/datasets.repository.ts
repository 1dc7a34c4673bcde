import { LoupeError } from '@loupe/contracts';
import { MongoBulkWriteError, type Collection } from 'mongodb';
import { checkDatasetName, checkDescription, checkUris } from '../annotation-checks.js';
import type { AnnotationDoc, DatasetDoc, SourceDoc } from '../mongo.documents.js';
import { isDuplicateKey } from '../mongo.errors.js';
import type { Dataset } from '../store.js';
import { chunks, nowIso, retryOnDuplicate } from './batches.js';
import type { MongoCollections } from './collections.js';

/** Datasets and their sources; members are kept on the annotations themselves (AnnotationDoc.datasets). */
export class MongoDatasetsRepository {
  readonly #annotations: Collection<AnnotationDoc>;
  readonly #datasets: Collection<DatasetDoc>;
  readonly #sources: Collection<SourceDoc>;

  constructor(collections: MongoCollections) {
    this.#annotations = collections.annotations;
    this.#datasets = collections.datasets;
    this.#sources = collections.sources;
  }

  async createDataset(input: { readonly name: string; readonly description?: string }): Promise<Dataset> {
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
  }

  async getDataset(name: string): Promise<Dataset | undefined> {
    return this.#dataset(checkDatasetName(name));
  }

  async listDatasets(): Promise<Dataset[]> {
    const docs = await this.#datasets.find().sort({ _id: 1 }).toArray();
    return Promise.all(docs.map((doc) => this.#datasetOf(doc)));
  }

  async addDatasetSources(name: string, sources: readonly string[]): Promise<{ added: number }> {
    checkDatasetName(name);
    checkUris('Dataset sources', sources);
    await this.requireDataset(name);
    const unique = [...new Set(sources)];
    if (unique.length === 0) return { added: 0 };
    try {
      return { added: (await this.#sources.insertMany(unique.map((source) => ({ name, source })), { ordered: false })).insertedCount };
    } catch (err) {
      // Sources the dataset already has hit the unique index; the others went in.
      if (err instanceof MongoBulkWriteError && isDuplicateKey(err)) return { added: err.insertedCount };
      throw err;
    }
  }

  async addDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ added: number }> {
    checkDatasetName(name);
    checkUris('Annotation ids', annotationIds);
    await this.requireDataset(name);
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
  }

  async removeDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ removed: number }> {
    checkDatasetName(name);
    checkUris('Annotation ids', annotationIds);
    await this.requireDataset(name);
    let removed = 0;
    for (const chunk of chunks([...new Set(annotationIds)])) {
      removed += (await this.#annotations.updateMany({ _id: { $in: chunk }, datasets: name }, { $pull: { datasets: name } })).modifiedCount;
    }
    return { removed };
  }

  /** Members and sources go first and the dataset document last, so that a crash part-way is finished by deleting again. */
  async deleteDataset(name: string): Promise<boolean> {
    checkDatasetName(name);
    await this.#annotations.updateMany({ datasets: name }, { $pull: { datasets: name } });
    await this.#sources.deleteMany({ name });
    return (await this.#datasets.deleteOne({ _id: name })).deletedCount > 0;
  }

  async #dataset(name: string): Promise<Dataset | undefined> {
    const doc = await this.#datasets.findOne({ _id: name });
    return doc ? this.#datasetOf(doc) : undefined;
  }

  async #datasetOf(doc: DatasetDoc): Promise<Dataset> {
    const [sources, members] = await Promise.all([this.sourcesOf(doc._id), this.#annotations.countDocuments({ datasets: doc._id })]);
    return { name: doc._id, ...(doc.description !== null && { description: doc.description }), created: doc.created, sources, members };
  }

  /** In the order they were added (ObjectIds made by one client increase). */
  async sourcesOf(name: string): Promise<string[]> {
    const docs = await this.#sources.find({ name }, { projection: { source: 1 } }).sort({ _id: 1 }).toArray();
    return docs.map((doc) => doc.source);
  }

  async requireDataset(name: string): Promise<void> {
    if (!(await this.#datasets.findOne({ _id: name }, { projection: { _id: 1 } }))) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No dataset named ${name}`, { details: { dataset: name } });
    }
  }
}
