import { LoupeError } from '@loupe/contracts';
import { MongoClient } from 'mongodb';
import { composeAnnotationStore } from './composed.annotation-store.js';
import { COLLECTIONS, INDEXES } from './mongo.documents.js';
import { MONGODB_URL_VARIABLE, checkDatabaseName, databaseFromUrl, mongoConfigError, mongoStoreError, redactUrl } from './mongo.errors.js';
import { annotationFilterOver } from './mongo/annotation-filter.js';
import { MongoAnnotationsRepository } from './mongo/annotations.repository.js';
import { MongoCanvasesRepository } from './mongo/canvases.repository.js';
import { collectionsOf, type MongoCollections } from './mongo/collections.js';
import { MongoDatasetsRepository } from './mongo/datasets.repository.js';
import { MongoOcrPagesRepository } from './mongo/ocr-pages.repository.js';
import { stripPublicUrls } from './mongo/public-url.migration.js';
import { prepareSearchEntries } from './mongo/search-entries.js';
import { MongoReviewsRepository } from './mongo/reviews.repository.js';
import { MongoVocabulariesRepository } from './mongo/vocabularies.repository.js';
import type { AnnotationStore } from './store.js';

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
    const collections = collectionsOf(db, prefix);
    await stripPublicUrls(collections);
    // After the id move: the full-text entries are built from the ids as stored now.
    await prepareSearchEntries(collections);
    return composedStore(client, collections, url, owned);
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

/** The repositories over the collections; here, and only here, a closed store refuses and driver errors are mapped. */
function composedStore(client: MongoClient, collections: MongoCollections, url: string, owned: boolean): AnnotationStore {
  let closed = false;
  // Filters by dataset read the dataset first: the repositories that filter annotations get it this way.
  const datasets = new MongoDatasetsRepository(collections);
  const filter = annotationFilterOver(datasets);
  return composeAnnotationStore(
    {
      annotations: new MongoAnnotationsRepository(collections, filter),
      reviews: new MongoReviewsRepository(collections, filter),
      canvases: new MongoCanvasesRepository(collections, filter),
      ocrPages: new MongoOcrPagesRepository(collections),
      vocabularies: new MongoVocabulariesRepository(collections),
      datasets,
    },
    {
      async run(operation, fn) {
        if (closed) throw new LoupeError('LOUPE_ERR_STORE', 'The store is closed', { details: { operation } });
        try {
          return await fn();
        } catch (err) {
          throw mongoStoreError(operation, err, url);
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        if (owned) await client.close();
      },
    },
  );
}
