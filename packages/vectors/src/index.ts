export * from './port.js';
export { openQdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant/index.js';
export * from './analysis/index.js';
export { openEmbeddedVectorStore, type EmbeddedVectorStoreOptions } from './embedded/index.js';
