import path from 'node:path';
import { openEmbeddedVectorStore, openQdrantVectorStore, type VectorStore } from '@loupe/vectors';
import type { LoupeConfig } from './config.js';

/** The vector store the configuration names: the embedded index under LOUPE_DATA_DIR (default), or Qdrant. */
export async function vectorsFromConfig(config: LoupeConfig): Promise<VectorStore> {
  if (config.vectors.kind === 'qdrant') {
    return openQdrantVectorStore({ url: config.vectors.qdrantUrl!, ...(config.vectors.qdrantApiKey && { apiKey: config.vectors.qdrantApiKey }) });
  }
  return openEmbeddedVectorStore({ dir: path.join(config.dataDir, 'vectors') });
}
