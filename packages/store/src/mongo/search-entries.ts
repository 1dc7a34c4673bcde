import type { OcrPage } from '@loupe/contracts';
import { ObjectId, type AnyBulkWriteOperation, type Collection, type IndexDescription } from 'mongodb';
import { searchTerms } from '../content-search.js';
import type { AnnotationDoc, OcrPageDoc } from '../mongo.documents.js';
import { isDuplicateKey } from '../mongo.errors.js';
import { chunks } from './batches.js';
import type { MongoCollections } from './collections.js';

/*
 * The MongoDB side of Content Search (content-search.ts says what is searched): one document per
 * searchable text in `searchEntries`, written by the repositories after each write that changes
 * searchable text, since MongoDB has no triggers and the store no transactions.
 *
 * Every write goes through `around`: an intent naming what the write touches is recorded first,
 * then the write, then the entries of what it touched are derived again from the documents as
 * they now are, then the intent is deleted. Entries are a pure function of the stored documents,
 * so syncing is idempotent and needs no knowledge of what the write changed. A crash between the
 * write and the sync leaves the intent behind: the next open of the store (prepareSearchEntries)
 * syncs what it names, as does the same call retried.
 */

/** One searchable text: a line of an OCR page or one body of an annotation. */
export interface SearchEntryDoc {
  /** 'a\n<annotation id>\n<body index>' or 'l\n<page set key>\n<line index>': rewritten in place by every sync. */
  _id: string;
  /** Lines sort before annotations on a canvas ('line' > 'annotation', sorted descending). */
  kind: 'line' | 'annotation';
  manifestId: string;
  canvasId: string;
  /** The annotation's result set (null when detached or ground truth), or the page's set key. */
  setKey: string | null;
  annotationId: string | null;
  imageIndex: number;
  modelId: string;
  /** As the annotation gives it (matched element-wise by the motivation filter); 'supplementing' for a line. */
  motivation: string | string[];
  text: string;
  /** The text's distinct words as searchTerms folds them: what a query and autocomplete compare with. */
  terms: string[];
  /** The OCR line as the page holds it (with its words and their boxes), as JSON like every stored body. */
  lineJson: string | null;
  /** When the entry was first written (kept by later syncs): the store's order of a canvas's hits, as SQLite's row id. */
  order: ObjectId;
  /** Position of the body in the annotation or of the line in the page. */
  k: number;
}

/** A write's reach: annotations by id, the annotations of result sets (those in it now or indexed under it), OCR pages by set key. */
export interface SearchTarget {
  readonly annotationIds?: readonly string[];
  readonly annotationSets?: readonly string[];
  readonly pages?: readonly string[];
}

export interface IntentDoc {
  _id: ObjectId | string;
  annotationIds?: string[];
  annotationSets?: string[];
  pages?: string[];
}

/** Marks, in the intents collection, that every document written before search existed has been indexed. */
const BUILT = 'built';

export const SEARCH_ENTRY_INDEXES: readonly IndexDescription[] = [
  // Multikey: `terms: {$all}` and the autocomplete range walk it within one manifest.
  { key: { manifestId: 1, terms: 1 }, name: 'manifest_terms' },
  { key: { annotationId: 1 }, name: 'annotation' },
  { key: { setKey: 1 }, name: 'set' },
];

/** Purposes whose bodies are searched whatever the motivation (the SQLite index's list). */
const SEARCHED_PURPOSES = new Set(['tagging', 'classifying', 'identifying', 'describing', 'commenting']);

type EntryFields = Omit<SearchEntryDoc, '_id' | 'order'>;

/**
 * The annotation's searchable body texts, in body order: TextualBody values and SpecificResource
 * labels with a searched purpose, or without purpose unless the annotation is a transcription
 * (motivation 'supplementing' or 'painting'), searched through its OCR page instead. None when rejected.
 */
export function annotationEntries(doc: AnnotationDoc): { _id: string; fields: EntryFields }[] {
  if (doc.reviewState === 'rejected') return [];
  const stored = JSON.parse(doc.bodyJson) as { body?: unknown };
  const bodies = Array.isArray(stored.body) ? stored.body : typeof stored.body === 'object' && stored.body !== null ? [stored.body] : [];
  const entries: { _id: string; fields: EntryFields }[] = [];
  bodies.forEach((body: unknown, k) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    const { type, value, label, purpose } = body as Record<string, unknown>;
    const text = type === 'TextualBody' ? value : type === 'SpecificResource' ? label : undefined;
    if (typeof text !== 'string' || text === '') return;
    const searched =
      (typeof purpose === 'string' && SEARCHED_PURPOSES.has(purpose)) ||
      ((purpose === undefined || purpose === null) && doc.motivation !== 'supplementing' && doc.motivation !== 'painting');
    if (!searched) return;
    entries.push({
      _id: `a\n${doc._id}\n${k}`,
      fields: {
        kind: 'annotation',
        manifestId: doc.manifestId,
        canvasId: doc.canvasId,
        setKey: doc.setKey,
        annotationId: doc._id,
        imageIndex: doc.imageIndex,
        modelId: doc.modelId,
        motivation: doc.motivation,
        text,
        terms: [...new Set(searchTerms(text))],
        lineJson: null,
        k,
      },
    });
  });
  return entries;
}

/** The page's lines, in reading order (blocks, then lines). */
export function pageEntries(doc: OcrPageDoc): { _id: string; fields: EntryFields }[] {
  const page = JSON.parse(doc.pageJson) as OcrPage;
  const lines = (page.blocks ?? []).flatMap((block) => block.lines ?? []).filter((line) => typeof line.text === 'string');
  return lines.map((line, k) => ({
    _id: `l\n${doc._id}\n${k}`,
    fields: {
      kind: 'line',
      manifestId: doc.manifestId,
      canvasId: doc.canvasId,
      setKey: doc._id,
      annotationId: null,
      imageIndex: doc.imageIndex,
      modelId: doc.modelId,
      motivation: 'supplementing',
      text: line.text,
      terms: [...new Set(searchTerms(line.text))],
      lineJson: JSON.stringify(line),
      k,
    },
  }));
}

/** Keeps `searchEntries` in step with the annotations and OCR pages the repositories write. */
export class MongoSearchEntries {
  readonly #annotations: Collection<AnnotationDoc>;
  readonly #pages: Collection<OcrPageDoc>;
  readonly #entries: Collection<SearchEntryDoc>;
  readonly #intents: Collection<IntentDoc>;

  constructor(collections: MongoCollections) {
    this.#annotations = collections.annotations;
    this.#pages = collections.ocrPages;
    this.#entries = collections.searchEntries;
    this.#intents = collections.searchIntents;
  }

  /** Runs `write` between recording an intent over `target` and syncing it (see the top of this file). */
  async around<T>(target: SearchTarget, write: () => Promise<T>): Promise<T> {
    const intents = intentsOf(target);
    if (intents.length === 0) return write();
    await this.#intents.insertMany(intents, { ordered: false });
    let result: T;
    try {
      result = await write();
    } catch (err) {
      // What the failed write did part-way is indexed now, or by the next open if this fails too.
      await this.#settle(target, intents).catch(() => undefined);
      throw err;
    }
    await this.#settle(target, intents);
    return result;
  }

  async #settle(target: SearchTarget, intents: readonly IntentDoc[]): Promise<void> {
    await this.sync(target);
    await this.#intents.deleteMany({ _id: { $in: intents.map((intent) => intent._id) } });
  }

  /** Derives the entries of `target` again from the stored documents: idempotent. */
  async sync(target: SearchTarget): Promise<void> {
    const ids = new Set(target.annotationIds ?? []);
    const sets = [...new Set(target.annotationSets ?? [])];
    if (sets.length > 0) {
      for (const doc of await this.#annotations.find({ setKey: { $in: sets } }, { projection: { _id: 1 } }).toArray()) ids.add(doc._id);
      // Those that left the set since they were indexed (deleted or detached).
      for (const id of await this.#entries.distinct('annotationId', { setKey: { $in: sets }, kind: 'annotation' })) if (id !== null) ids.add(id);
    }
    for (const chunk of chunks([...ids])) {
      const docs = await this.#annotations.find({ _id: { $in: chunk } }).toArray();
      await this.#write(docs.flatMap(annotationEntries), { kind: 'annotation', annotationId: { $in: chunk } });
    }
    for (const chunk of chunks([...new Set(target.pages ?? [])])) {
      const docs = await this.#pages.find({ _id: { $in: chunk } }).toArray();
      await this.#write(docs.flatMap(pageEntries), { kind: 'line', setKey: { $in: chunk } });
    }
  }

  /** Upserts `entries` (an entry keeps its first `order`), then deletes the others of `scope`. */
  async #write(entries: { _id: string; fields: EntryFields }[], scope: Record<string, unknown>): Promise<void> {
    const orders = new Map<string, ObjectId>();
    const ops = entries.map(({ _id, fields }): AnyBulkWriteOperation<SearchEntryDoc> => {
      // One order per annotation or page: its bodies or lines then sort by k.
      const owner = _id.slice(0, _id.lastIndexOf('\n'));
      const order = orders.get(owner) ?? new ObjectId();
      orders.set(owner, order);
      return { updateOne: { filter: { _id }, update: { $set: fields, $setOnInsert: { order } }, upsert: true } };
    });
    // Upserts by _id from two writers at once can fail one with E11000; ordered: false and a retry
    // of the same upserts (they then update) is what the repositories' retryOnDuplicate does too.
    if (ops.length > 0) {
      await this.#entries.bulkWrite(ops, { ordered: false }).catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
        return this.#entries.bulkWrite(ops, { ordered: false });
      });
    }
    await this.#entries.deleteMany({ ...scope, _id: { $nin: entries.map((entry) => entry._id) } });
  }

  /**
   * Run each time the store opens: creates the indexes, indexes everything once (a store written
   * before search existed; a crash part-way starts over next open, the syncs being idempotent),
   * then finishes the writes whose intents a crash left behind.
   */
  async prepare(): Promise<void> {
    await this.#entries.createIndexes([...SEARCH_ENTRY_INDEXES]);
    if (!(await this.#intents.findOne({ _id: BUILT }))) {
      let ids: string[] = [];
      for await (const doc of this.#annotations.find({}, { projection: { _id: 1 } })) {
        ids.push(doc._id);
        if (ids.length === 1000) {
          await this.sync({ annotationIds: ids });
          ids = [];
        }
      }
      await this.sync({ annotationIds: ids });
      const pages = await this.#pages.find({}, { projection: { _id: 1 } }).map((doc) => doc._id).toArray();
      await this.sync({ pages });
      // The upsert takes its _id from the filter.
      await this.#intents.replaceOne({ _id: BUILT }, {}, { upsert: true });
    }
    for await (const intent of this.#intents.find({ _id: { $ne: BUILT } })) {
      await this.sync(intent);
      await this.#intents.deleteOne({ _id: intent._id });
    }
  }
}

/** One intent document per chunk of names, so that a large import stays far below the 16 MiB document limit. */
function intentsOf(target: SearchTarget): IntentDoc[] {
  const intents: IntentDoc[] = [];
  for (const annotationIds of chunks(target.annotationIds ?? [])) intents.push({ _id: new ObjectId(), annotationIds });
  for (const annotationSets of chunks(target.annotationSets ?? [])) intents.push({ _id: new ObjectId(), annotationSets });
  for (const pages of chunks(target.pages ?? [])) intents.push({ _id: new ObjectId(), pages });
  return intents;
}

/** For the store's open (mongo.annotation-store.ts), after stripPublicUrls. */
export const prepareSearchEntries = (collections: MongoCollections): Promise<void> => new MongoSearchEntries(collections).prepare();
