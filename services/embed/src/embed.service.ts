import { SERVICE_APIS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { requireInstalledModel, type ModelDirectory } from '@loupe/inference';

export interface EmbedDeps {
  readonly models: ModelDirectory;
}

export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  const run = defineHandler({
    ...SERVICE_APIS['embed'].image,
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for,
      // until a embedding model is installed; no answer is ever made up.
      const model = await requireInstalledModel(deps.models, 'embedding', input.model);
      return model.run(input);
    },
  });
  return {
    name: 'embed',
    version: '0.1.0',
    description: 'Embeds canvas images for similarity search, duplicates and clustering',
    handlers: [run],
    readiness: () => ({ models: deps.models.describe('embedding') }),
  };
}
