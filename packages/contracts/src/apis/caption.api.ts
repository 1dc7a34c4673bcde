import { CaptionComposeInput, CaptionComposeOutput, CaptionImageInput, CaptionImageOutput, CaptionStageOutput } from '../caption.js';
import { StageInput } from '../pipeline.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

export const CAPTION_API = {
  image: {
    name: 'image',
    summary: 'Caption an image (IIIF or plain URL) with an installed captioning model: greedy or beam search, with the tokens’ log probabilities',
    subject: SUBJECTS.captionImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/caption' },
    input: CaptionImageInput,
    output: CaptionImageOutput,
    errors: [
      'LOUPE_ERR_VALIDATION',
      'LOUPE_ERR_MODEL_NOT_INSTALLED',
      'LOUPE_ERR_MODEL_CHECKSUM',
      'LOUPE_ERR_MODEL_CARD_INVALID',
      'LOUPE_ERR_MODEL_LOAD',
      'LOUPE_ERR_FETCH_HTTP',
      'LOUPE_ERR_FETCH_NOT_FOUND',
      'LOUPE_ERR_FETCH_TIMEOUT',
      'LOUPE_ERR_IMAGE_DECODE',
      'LOUPE_ERR_INFERENCE',
    ],
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
    summary: "The caption stage: one describing annotation composed from the earlier stages' findings on the canvas (none when they found nothing), or written by the captioning model the job's caption.model names",
    subject: SUBJECTS.captionCanvas,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/caption/canvas' },
    role: 'operator',
    input: StageInput,
    output: CaptionStageOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_MODEL_CHECKSUM', 'LOUPE_ERR_MODEL_LOAD'],
  },
} as const satisfies Record<string, ApiDeclaration>;
