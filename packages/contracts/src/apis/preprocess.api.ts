import { Type, type Static } from '@sinclair/typebox';
import { StageInput } from '../pipeline.js';
import { DerivedImage, EnhanceSettings, PreparedImage } from '../prepared-image.js';
import { SUBJECTS } from '../subjects.js';
import { ImageRef, Rect } from '../task.js';
import type { ApiDeclaration } from './api-declaration.js';

export const EnhanceInput = Type.Object(
  {
    image: ImageRef,
    canvas: Type.Optional(
      Type.Object(
        { id: Type.Optional(Type.String()), width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) },
        { description: "The canvas the image is painted on (its size is what `region` is measured in); absent: the image's own size" },
      ),
    ),
    region: Type.Optional(Type.Object({ ...Rect.properties }, { description: 'Only this part, in canvas coordinates (an unrotated painting only)' })),
    ...EnhanceSettings.properties,
    size: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096, description: 'Longest side of the source pixels fetched before enhancing (default 1024)' })),
  },
  { additionalProperties: false },
);
export type EnhanceInput = Static<typeof EnhanceInput>;

export const EnhanceOutput = Type.Object(
  {
    ...DerivedImage.properties,
    links: Type.Object({ image: Type.String(), provenance: Type.String() }, { description: 'Where the gateway serves the image and its provenance' }),
  },
  { $id: 'EnhanceOutput' },
);
export type EnhanceOutput = Static<typeof EnhanceOutput>;

const FETCH_ERRORS = [
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
] as const;

export const PREPROCESS_API = {
  prepare: {
    name: 'prepare',
    summary: 'Fetch a canvas image through IIIF at the size models need; orientation (EXIF, text lines), the object on its backdrop, and enhancement on request',
    subject: SUBJECTS.preprocessPrepare,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/preprocess' },
    role: 'operator',
    input: StageInput,
    output: PreparedImage,
    errors: [...FETCH_ERRORS, 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_INFERENCE'],
  },
  enhance: {
    name: 'enhance',
    summary: 'Deblur and/or upscale an image or a region of it (MAXIM, ESRGAN; tiled); the result is a derived image kept with its provenance, served at /v1/derived/{id}',
    subject: SUBJECTS.preprocessEnhance,
    mode: 'request',
    route: { method: 'POST', url: '/v1/preprocess/enhance' },
    role: 'operator',
    input: EnhanceInput,
    output: EnhanceOutput,
    errors: [...FETCH_ERRORS, 'LOUPE_ERR_MODEL_CARD_INVALID', 'LOUPE_ERR_INFERENCE'],
  },
} as const satisfies Record<string, ApiDeclaration>;
