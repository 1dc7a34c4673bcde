import { Type } from '@sinclair/typebox';
import { Rect, SUBJECTS, StageInput, defineHandler, type ServiceDefinition } from '@loupe/contracts';
import { fetchCanvasImage, type Fetcher } from '@loupe/iiif';

export interface PreprocessDeps {
  readonly fetcher: Fetcher;
  readonly fetchSize?: number;
}

export const PreparedImage = Type.Object(
  {
    request: Type.String({ description: 'The Image API request (or plain URL) that was fetched' }),
    width: Type.Integer(),
    height: Type.Integer(),
    exifOrientation: Type.Integer({ description: 'EXIF orientation that was applied (1 = none)' }),
    canvasRegion: Rect,
    fromCache: Type.Boolean(),
  },
  { $id: 'PreparedImage' },
);

/**
 * The first stage of every pipeline: fetches the image at the size later models
 * need (which warms the fetch cache for them), applies EXIF orientation and
 * converts to sRGB, and fails early — with the reason — on an image that cannot
 * be used, so no model stage wastes time on it.
 */
export function createPreprocessService(deps: PreprocessDeps): ServiceDefinition {
  const fetchSize = deps.fetchSize ?? 2048;
  const prepare = defineHandler({
    name: 'prepare',
    summary: 'Fetch a canvas image through IIIF at the size models need, orient it and convert it to sRGB',
    subject: SUBJECTS.preprocessPrepare,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/preprocess' },
    input: StageInput,
    output: PreparedImage,
    errors: [
      'LOUPE_ERR_VALIDATION',
      'LOUPE_ERR_IIIF_INFO_INVALID',
      'LOUPE_ERR_IIIF_NO_PLAN',
      'LOUPE_ERR_FETCH_HTTP',
      'LOUPE_ERR_FETCH_TIMEOUT',
      'LOUPE_ERR_FETCH_CONTENT_TYPE',
      'LOUPE_ERR_FETCH_TOO_LARGE',
      'LOUPE_ERR_IMAGE_DECODE',
      'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS',
    ],
    async handler({ task }) {
      const fetched = await fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, {
        fit: { width: fetchSize, height: fetchSize },
      });
      return {
        request: fetched.request,
        width: fetched.width,
        height: fetched.height,
        exifOrientation: fetched.exifOrientation,
        canvasRegion: fetched.canvasRegion,
        fromCache: fetched.fromCache,
      };
    },
  });
  return {
    name: 'preprocess',
    version: '0.1.0',
    description: 'Fetches images through IIIF at the size models need; orientation and colour space',
    handlers: [prepare],
  };
}
