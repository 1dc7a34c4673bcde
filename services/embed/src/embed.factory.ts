import type { ServiceDefinition } from '@loupe/contracts';
import type { Fetcher } from '@loupe/iiif';
import type { ProcessModels } from '@loupe/inference';
import type { VectorStore } from '@loupe/vectors';
import { createEmbedService } from './embed.service.js';

/** What embed takes from the process that runs it: LOUPE_EMBED_MODEL, LOUPE_TEXT_MODEL and the vector store. */
export interface EmbedParts {
  readonly fetcher: Fetcher;
  readonly models: ProcessModels;
  /** The process's vector store, opened on first ask. */
  readonly stores: { vectors(): Promise<VectorStore> };
  readonly config: { readonly embedModel: string; readonly textModel: string; readonly vectors: { readonly quantization: 'none' | 'int8' } };
}

export async function embedServiceFromConfig({ fetcher, models, stores, config }: EmbedParts): Promise<ServiceDefinition> {
  return createEmbedService({
    models: models.registry,
    fetcher,
    vectors: await stores.vectors(),
    quantization: config.vectors.quantization,
    defaultModel: config.embedModel,
    embedder: (id) => models.imageEmbedder(id),
    textEmbedder: () => models.textEmbedder(config.textModel),
  });
}
