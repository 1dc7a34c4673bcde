import { Type } from '@sinclair/typebox';
import { ClassifyInput, ClassifyOutput, HeadsOutput } from '../classify.js';
import { FindingsOutput, StageInput } from '../pipeline.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

export const CLASSIFY_API = {
  image: {
    name: 'image',
    summary:
      'Classify an image (IIIF or plain URL) into a vocabulary: a trained head, or zero-shot over a vocabulary with a CLIP text model; calibrated probabilities, top-k or everything above threshold',
    subject: SUBJECTS.classifyImage,
    mode: 'request',
    route: { method: 'POST', url: '/v1/classify' },
    input: ClassifyInput,
    output: ClassifyOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE'],
    role: 'reader',
  },
  canvas: {
    name: 'canvas',
    summary: "Pipeline stage: classify a canvas image (the object preprocess found, when it found one) into the job's vocabulary; one result set per head",
    subject: SUBJECTS.classifyCanvas,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/classify/canvas' },
    role: 'operator',
    input: StageInput,
    output: FindingsOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_INFERENCE'],
  },
  heads: {
    name: 'heads',
    summary: 'The classification heads `loupe train` wrote, each with its versions and the latest card (metrics, calibration, classes)',
    subject: SUBJECTS.classifyHeads,
    mode: 'request',
    route: { method: 'GET', url: '/v1/heads' },
    input: Type.Object({}),
    output: HeadsOutput,
    errors: ['LOUPE_ERR_MODEL_CARD_INVALID'],
    role: 'reader',
  },
} as const satisfies Record<string, ApiDeclaration>;
