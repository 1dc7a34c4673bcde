import { SERVICE_APIS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { describeModels, requireInstalledModel, type ModelRegistryLike } from '@loupe/inference';

export interface CaptionDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
}

export function createCaptionService(deps: CaptionDeps): ServiceDefinition {
  const run = defineHandler({
    ...SERVICE_APIS['caption'].image,
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for (or
      // LOUPE_ERR_MODEL_CHECKSUM when a file changed), until a captioning model is installed; no answer is ever made up.
      return requireInstalledModel(deps.models, 'captioning', input.model);
    },
  });
  return {
    name: 'caption',
    version: '0.1.0',
    description: 'Captions canvas images',
    handlers: [run],
    readiness: () => ({ models: describeModels(deps.models, 'captioning') }),
  };
}
