import { FindingsOutput, ResultSetsOutput, StageInput } from '../pipeline.js';
import { SUBJECTS } from '../subjects.js';
import type { ErrorCode } from '../errors.js';
import type { ApiDeclaration } from './api-declaration.js';

/** What fetching a canvas image and running a model on it may fail with, in both stages. */
const IMAGE_ERRORS = [
  'LOUPE_ERR_FETCH_HTTP',
  'LOUPE_ERR_FETCH_TIMEOUT',
  'LOUPE_ERR_FETCH_CONTENT_TYPE',
  'LOUPE_ERR_IMAGE_DECODE',
  'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS',
  'LOUPE_ERR_INFERENCE',
] as const satisfies readonly ErrorCode[];

export const DETECT_API = {
  text: {
    name: 'text',
    summary: 'Text lines (OCR) on a canvas image: one supplementing annotation per line, boxed in canvas coordinates',
    subject: SUBJECTS.detectText,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/detect/text' },
    role: 'operator',
    input: StageInput,
    output: FindingsOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_READY', ...IMAGE_ERRORS],
  },
  detect: {
    name: 'detect',
    summary: 'Objects (COCO classes with Wikidata URIs), faces and text lines on a canvas image, each kind on request (options.kinds); one result set per model, boxes in canvas coordinates',
    subject: SUBJECTS.detectImage,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/detect' },
    role: 'operator',
    input: StageInput,
    output: ResultSetsOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_READY', 'LOUPE_ERR_MODEL_NOT_INSTALLED', ...IMAGE_ERRORS],
  },
} as const satisfies Record<string, ApiDeclaration>;
