import { SERVICE_APIS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { describeModels, requireInstalledModel, type ModelRegistryLike } from '@loupe/inference';

export interface EmbedDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
}

export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  const run = defineHandler({
    ...SERVICE_APIS['embed'].image,
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for (or
      // LOUPE_ERR_MODEL_CHECKSUM when a file changed), until an embedding model is installed; no answer is ever made up.
      return requireInstalledModel(deps.models, 'image-embedding', input.model);
    },
  });
  return {
    name: 'embed',
    version: '0.1.0',
    description: 'Embeds canvas images for similarity search, duplicates and clustering',
    handlers: [run],
    readiness: () => ({ models: describeModels(deps.models, 'image-embedding') }),
  };
}
