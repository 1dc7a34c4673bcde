import { SERVICE_APIS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { describeModels, requireInstalledModel, type ModelRegistryLike } from '@loupe/inference';

export interface ClassifyDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
}

export function createClassifyService(deps: ClassifyDeps): ServiceDefinition {
  const run = defineHandler({
    ...SERVICE_APIS['classify'].image,
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for (or
      // LOUPE_ERR_MODEL_CHECKSUM when a file changed), until a classification model is installed; no answer is ever made up.
      return requireInstalledModel(deps.models, 'classification', input.model);
    },
  });
  return {
    name: 'classify',
    version: '0.1.0',
    description: 'Classifies canvas images into controlled vocabularies (SKOS concepts by URI)',
    handlers: [run],
    readiness: () => ({ models: describeModels(deps.models, 'classification') }),
  };
}
