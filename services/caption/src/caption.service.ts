import { Type } from '@sinclair/typebox';
import { ImageRef, SUBJECTS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { requireInstalledModel, type ModelDirectory } from '@loupe/inference';

export interface CaptionDeps {
  readonly models: ModelDirectory;
}

const CaptionInput = Type.Object({
  model: Type.String({ minLength: 1, description: 'Id of the captioning model to run' }),
  canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
  image: ImageRef,
});

export function createCaptionService(deps: CaptionDeps): ServiceDefinition {
  const run = defineHandler({
    name: 'image',
    summary: 'Caption a canvas image with the named model',
    subject: SUBJECTS.captionImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/caption' },
    input: CaptionInput,
    output: Type.Object({}, { additionalProperties: true }),
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for,
      // until a captioning model card is installed; no answer is ever made up.
      const model = await requireInstalledModel(deps.models, 'captioning', input.model);
      return model.run(input);
    },
  });
  return {
    name: 'caption',
    version: '0.1.0',
    description: 'Captions canvas images',
    handlers: [run],
    readiness: () => ({ models: deps.models.describe('captioning') }),
  };
}
