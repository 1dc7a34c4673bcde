import { StageInput } from '../pipeline.js';
import { PreparedImage } from '../prepared-image.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

export const PREPROCESS_API = {
  prepare: {
    name: 'prepare',
    summary: 'Fetch a canvas image through IIIF at the size models need; orientation (EXIF, text lines) and the object on its backdrop',
    subject: SUBJECTS.preprocessPrepare,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/preprocess' },
    role: 'operator',
    input: StageInput,
    output: PreparedImage,
    errors: [
      'LOUPE_ERR_VALIDATION',
      'LOUPE_ERR_IIIF_INFO_INVALID',
      'LOUPE_ERR_IIIF_NO_PLAN',
      'LOUPE_ERR_FETCH_HTTP',
      'LOUPE_ERR_FETCH_DNS',
      'LOUPE_ERR_FETCH_TLS',
      'LOUPE_ERR_FETCH_NOT_FOUND',
      'LOUPE_ERR_FETCH_AUTH_REQUIRED',
      'LOUPE_ERR_FETCH_TIMEOUT',
      'LOUPE_ERR_FETCH_CONTENT_TYPE',
      'LOUPE_ERR_FETCH_TOO_LARGE',
      'LOUPE_ERR_IMAGE_DECODE',
      'LOUPE_ERR_IMAGE_UNSUPPORTED',
      'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS',
      'LOUPE_ERR_MODEL_NOT_INSTALLED',
    ],
  },
} as const satisfies Record<string, ApiDeclaration>;
