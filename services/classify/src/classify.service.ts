import { Type } from '@sinclair/typebox';
import { ImageRef, SUBJECTS, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { requireInstalledModel, type ModelDirectory } from '@loupe/inference';

export interface ClassifyDeps {
  readonly models: ModelDirectory;
}

const ClassifyInput = Type.Object({
  model: Type.String({ minLength: 1, description: 'Id of the classification model to run' }),
  canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
  image: ImageRef,
});

export function createClassifyService(deps: ClassifyDeps): ServiceDefinition {
  const run = defineHandler({
    name: 'image',
    summary: 'Classify a canvas image into a vocabulary with the named model',
    subject: SUBJECTS.classifyImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/classify' },
    input: ClassifyInput,
    output: Type.Object({}, { additionalProperties: true }),
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
    async handler(input) {
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for,
      // until a classification model card is installed; no answer is ever made up.
      const model = await requireInstalledModel(deps.models, 'classification', input.model);
      return model.run(input);
    },
  });
  return {
    name: 'classify',
    version: '0.1.0',
    description: 'Classifies canvas images into controlled vocabularies (SKOS concepts by URI)',
    handlers: [run],
    readiness: () => ({ models: deps.models.describe('classification') }),
  };
}
