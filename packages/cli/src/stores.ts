import path from 'node:path';
import { openSqliteAnnotationStore, openSqliteContentSearch, type AnnotationStore, type ContentSearchIndex } from '@loupe/store';
import type { LoupeConfig } from './config.js';

/** The database file of the embedded stores (ground truth and jobs share it). */
export function embeddedDbPath(config: LoupeConfig): string {
  return path.join(config.dataDir, 'loupe.db');
}

/** The ground-truth store the configuration names: SQLite under LOUPE_DATA_DIR (default) or MongoDB. */
export async function annotationStoreFromConfig(config: LoupeConfig): Promise<AnnotationStore> {
  if (config.store.kind === 'mongodb') {
    // Loaded only when configured: the driver costs ~0.2 s at every start otherwise.
    const { openMongoAnnotationStore } = await import('@loupe/store/mongodb');
    return openMongoAnnotationStore({ url: config.store.mongodbUrl!, ...(config.store.mongodbDatabase && { database: config.store.mongodbDatabase }) });
  }
  return openSqliteAnnotationStore({ path: embeddedDbPath(config) });
}

/**
 * The full-text index of the ground-truth store, kept in step with every write: beside the
 * embedded store's tables, or in the MongoDB store's `searchEntries` collection.
 */
export async function contentSearchFromConfig(config: LoupeConfig): Promise<ContentSearchIndex | undefined> {
  if (config.store.kind === 'mongodb') {
    const { openMongoContentSearch } = await import('@loupe/store/mongodb/content-search');
    return openMongoContentSearch({ url: config.store.mongodbUrl!, ...(config.store.mongodbDatabase && { database: config.store.mongodbDatabase }) });
  }
  return openSqliteContentSearch({ path: embeddedDbPath(config) });
}

/** Where `loupe train` writes classification heads and the classify service reads them. */
export function headsDir(config: LoupeConfig): string {
  return path.join(config.modelsDir, 'heads');
}
