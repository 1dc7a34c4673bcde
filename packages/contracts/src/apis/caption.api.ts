import { Type } from '@sinclair/typebox';
import { CaptionComposeInput, CaptionComposeOutput, CaptionStageOutput } from '../caption.js';
import { StageInput } from '../pipeline.js';
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
  compose: {
    name: 'compose',
    summary: "A caption composed from other models' result sets for one canvas (objects with counts, faces, text, the concept), each phrase with the findings it says",
    subject: SUBJECTS.captionCompose,
    mode: 'request',
    route: { method: 'POST', url: '/v1/caption/compose' },
    input: CaptionComposeInput,
    output: CaptionComposeOutput,
    errors: ['LOUPE_ERR_VALIDATION'],
    role: 'reader',
  },
  canvas: {
    name: 'canvas',
    summary: "The caption stage: one describing annotation composed from the earlier stages' findings on the canvas (none when they found nothing)",
    subject: SUBJECTS.captionCanvas,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/caption/canvas' },
    role: 'operator',
    input: StageInput,
    output: CaptionStageOutput,
    errors: ['LOUPE_ERR_VALIDATION'],
  },
} as const satisfies Record<string, ApiDeclaration>;
