// The embedded vector store: hnswlib-node graphs over SQLite-kept points, one folder per collection.
export { EMBEDDED_DEFAULTS, openEmbeddedVectorStore, collectionFolder, type EmbeddedVectorStore, type EmbeddedVectorStoreOptions } from './store.js';
export type { EmbeddedCollectionStats, EmbeddedVectorCollection } from './collection.js';
export type { IndexOpening } from './recovery.js';
