import { Type } from '@sinclair/typebox';
import { ImageRef } from '../task.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

export const ModelRunInput = Type.Object(
  {
    model: Type.String({ minLength: 1, description: 'Id of the model to run' }),
    canvas: Type.Optional(Type.Object({ id: Type.String(), width: Type.Integer(), height: Type.Integer() })),
    image: ImageRef,
  },
  { $id: 'ModelRunInput' },
);

const ModelRunOutput = Type.Object({}, { additionalProperties: true });

export const CAPTION_API = {
  image: {
    name: 'image',
    summary: 'Caption a canvas image with the named model',
    subject: SUBJECTS.captionImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/caption' },
    input: ModelRunInput,
    output: ModelRunOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED'],
    role: 'reader',
  },
} as const satisfies Record<string, ApiDeclaration>;
