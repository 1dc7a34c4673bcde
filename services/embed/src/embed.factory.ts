import path from 'node:path';
import { SERVICE_APIS, type ServiceDefinition } from '@loupe/contracts';
import type { Fetcher } from '@loupe/iiif';
import { createImageEmbedder, type ImageEmbedder, type ProcessModels } from '@loupe/inference';
import type { VectorStore } from '@loupe/vectors';
import { createEmbedService } from './embed.service.js';
import { FACE_MODEL } from './face-descriptors.js';
import { openPeopleRegistry } from './people-registry.js';
import { namesOverBus, type PeopleNamesClient } from './people.js';
import { textRankerOverBus, type TextRankingClient } from './hybrid-search.js';

/** What embed takes from the process that runs it: LOUPE_EMBED_MODEL, LOUPE_TEXT_MODEL, the vector store, and the data folder (the people registry). */
export interface EmbedParts {
  readonly fetcher: Fetcher;
  readonly models: ProcessModels;
  /** The process's vector store, opened on first ask. */
  readonly stores: { vectors(): Promise<VectorStore> };
  /** The bus client: hybrid search asks the ground-truth service to rank canvases by words. */
  readonly client: TextRankingClient & PeopleNamesClient;
  readonly config: { readonly dataDir: string; readonly embedModel: string; readonly textModel: string; readonly vectors: { readonly quantization: 'none' | 'int8' } };
}

export async function embedServiceFromConfig({ fetcher, models, stores, config, client }: EmbedParts): Promise<ServiceDefinition> {
  // Opened once; a failed open is forgotten so that a model pulled later is used without a restart.
  let faces: Promise<ImageEmbedder> | undefined;
  const faceEmbedder = (): Promise<ImageEmbedder> =>
    (faces ??= models.open(FACE_MODEL).then(
      ({ runner }) => createImageEmbedder(runner),
      (err: unknown) => {
        faces = undefined;
        throw err;
      },
    ));
  return createEmbedService({
    models: models.registry,
    fetcher,
    vectors: await stores.vectors(),
    quantization: config.vectors.quantization,
    defaultModel: config.embedModel,
    embedder: (id) => models.imageEmbedder(id),
    textEmbedder: () => models.textEmbedder(config.textModel),
    faceEmbedder,
    people: await openPeopleRegistry(path.join(config.dataDir, 'people', 'registry.json')),
    texts: textRankerOverBus(client, SERVICE_APIS['ground-truth'].textRanking),
    names: namesOverBus(client, SERVICE_APIS['ground-truth'].peopleNames),
  });
}
