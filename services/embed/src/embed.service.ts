import { Type } from '@sinclair/typebox';
import { ImageRef, SUBJECTS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { requireInstalledModel, type ModelDirectory } from '@loupe/inference';

export interface EmbedDeps {
  readonly models: ModelDirectory;
}

const EmbedInput = Type.Object({
  model: Type.String({ minLength: 1, description: 'Id of the embedding model to run' }),
  canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
  image: ImageRef,
});

export function createEmbedService(deps: EmbedDeps): ServiceDefinition {
  const run = defineHandler({
    name: 'image',
    summary: 'Embed a canvas image with the named model',
    subject: SUBJECTS.embedImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/embed' },
    input: EmbedInput,
    output: Type.Object({}, { additionalProperties: true }),
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for,
      // until a embedding model card is installed; no answer is ever made up.
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
