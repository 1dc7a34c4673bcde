import { LoupeError, type OcrLine } from '@loupe/contracts';
import { MongoClient, type Filter } from 'mongodb';
import {
  checkSearchQuery,
  matchedWords,
  queryTerms,
  type ContentSearchHit,
  type ContentSearchIndex,
  type ContentSearchPage,
  type ContentSearchQuery,
  type TermCount,
  type TermQuery,
} from './content-search.js';
import { MONGODB_URL_VARIABLE, checkDatabaseName, databaseFromUrl, mongoConfigError, mongoStoreError, redactUrl } from './mongo.errors.js';
import type { MongoStoreOptions } from './mongo.annotation-store.js';
import { collectionsOf, type MongoCollections } from './mongo/collections.js';
import type { SearchEntryDoc } from './mongo/search-entries.js';

/**
 * Content Search over a MongoDB store: the `searchEntries` its repositories keep in step
 * (mongo/search-entries.ts). Open it with the store's options (same database and prefix).
 *
 * Matching compares the entries' `terms` (searchTerms of the text) with the query's, through a
 * multikey index: every word must be one of the entry's, exactly as the SQLite index and
 * matchedWords fold them. MongoDB's $text is not used: its tokenizer and diacritic folding are
 * its own, and a hit that the index and matchedWords disagree on would be a hit without a box.
 */
export async function openMongoContentSearch(opts: MongoStoreOptions): Promise<ContentSearchIndex> {
  const url = opts?.url;
  if (typeof url !== 'string' || !/^mongodb(\+srv)?:\/\//.test(url)) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `${MONGODB_URL_VARIABLE} must be a mongodb:// or mongodb+srv:// connection string`, {
      details: { variable: MONGODB_URL_VARIABLE, url: redactUrl(String(url)) },
    });
  }
  const database = opts.database ?? databaseFromUrl(url) ?? 'loupe';
  const bad = checkDatabaseName(database);
  if (bad !== undefined) throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `The MongoDB database name ${JSON.stringify(database)} ${bad}`, { details: { database } });
  const owned = opts.client === undefined;
  let client = opts.client;
  if (!client) {
    try {
      client = new MongoClient(url, { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000, appName: 'loupe-search', ignoreUndefined: true });
    } catch (err) {
      throw mongoConfigError(err, url);
    }
  }
  try {
    await client.connect();
  } catch (err) {
    if (owned) await client.close().catch(() => undefined);
    throw mongoStoreError('connect', err, url);
  }
  const collections = collectionsOf(client.db(database), opts.collectionPrefix ?? '');
  let closed = false;
  const run = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new LoupeError('LOUPE_ERR_STORE', 'The search index is closed', { details: { operation } });
    try {
      return await fn();
    } catch (err) {
      if (err instanceof LoupeError) throw err;
      throw mongoStoreError(operation, err, url);
    }
  };
  return {
    search: (query) => run('search', () => search(collections, query)),
    terms: (query) => run('terms', () => terms(collections, query)),
    async close() {
      if (closed) return;
      closed = true;
      if (owned) await client.close();
    },
  };
}

/**
 * Entries of the manifest that count: annotation bodies, and the lines of the newest reading of
 * each canvas image (latest `generated`, then the smallest set key, as the SQLite index picks).
 */
async function currentIn(collections: MongoCollections, manifestId: string): Promise<Filter<SearchEntryDoc>> {
  const newest = await collections.ocrPages
    .aggregate<{ setKey: string }>([
      { $match: { manifestId } },
      { $sort: { canvasId: 1, imageIndex: 1, generated: -1, _id: 1 } },
      { $group: { _id: { canvasId: '$canvasId', imageIndex: '$imageIndex' }, setKey: { $first: '$_id' } } },
    ])
    .toArray();
  return { manifestId, $or: [{ kind: 'annotation' }, { kind: 'line', setKey: { $in: newest.map((row) => row.setKey) } }] };
}

async function search(collections: MongoCollections, query: ContentSearchQuery): Promise<ContentSearchPage> {
  const words = checkSearchQuery(query);
  const filter: Filter<SearchEntryDoc> = {
    ...(await currentIn(collections, query.manifestId)),
    terms: { $all: words },
    // Equality with an array field matches any element: an annotation of several motivations counts for each.
    ...(query.motivations !== undefined && { motivation: { $in: [...query.motivations] } }),
  };
  const [total, docs] = await Promise.all([
    collections.searchEntries.countDocuments(filter),
    collections.searchEntries
      .find(filter, { sort: { canvasId: 1, kind: -1, order: 1, k: 1 }, skip: query.offset, limit: query.limit, allowDiskUse: true })
      .toArray(),
  ]);
  return { total, hits: docs.map((doc) => hitOf(doc, words)) };
}

async function terms(collections: MongoCollections, query: TermQuery): Promise<TermCount[]> {
  const words = queryTerms(query.q);
  // $limit refuses 0, which SQLite's LIMIT answers with nothing.
  if (query.limit < 1) return [];
  const prefix = words.at(-1)!;
  const before = words.slice(0, -1).join(' ');
  const range = { $gte: prefix, $lt: prefix + String.fromCodePoint(0x10ffff) };
  const rows = await collections.searchEntries
    .aggregate<{ _id: string; count: number }>(
      [
        // $elemMatch: both bounds on one word, not one bound each on two.
        { $match: { ...(await currentIn(collections, query.manifestId)), terms: { $elemMatch: range } } },
        { $project: { terms: 1 } },
        // An entry's terms are distinct: each word counts the entry once.
        { $unwind: '$terms' },
        { $match: { terms: range } },
        { $group: { _id: '$terms', count: { $sum: 1 } } },
        { $match: { count: { $gte: query.min ?? 1 } } },
        { $sort: { count: -1, _id: 1 } },
        { $limit: query.limit },
      ],
      { allowDiskUse: true },
    )
    .toArray();
  return rows.map((row) => ({ term: before === '' ? row._id : `${before} ${row._id}`, count: row.count }));
}

function hitOf(doc: SearchEntryDoc, words: readonly string[]): ContentSearchHit {
  if (doc.kind === 'line') {
    const line = JSON.parse(doc.lineJson!) as OcrLine;
    return { kind: 'ocr', canvasId: doc.canvasId, imageIndex: doc.imageIndex, modelId: doc.modelId, line, matched: matchedWords(line, words) };
  }
  // The port's motivation is a string: several are given as their JSON array, as the SQLite store keeps them.
  const motivation = Array.isArray(doc.motivation) ? JSON.stringify(doc.motivation) : doc.motivation;
  return { kind: 'annotation', canvasId: doc.canvasId, annotationId: doc.annotationId!, motivation, text: doc.text };
}
