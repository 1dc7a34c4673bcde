import { LoupeError, SERVICE_APIS, defineHandler } from '@loupe/contracts';
import type { DerivedImages } from '@loupe/iiif';

/**
 * GET /v1/derived/{id}: an image preprocess derived (enhanced, upscaled), as PNG bytes; with a
 * `.json` suffix or `format=json`, its provenance. The id is the only name a caller gives: the
 * route's schema takes 64 hex digits, and the store looks nowhere else.
 */
export function derivedImageHandler(store: DerivedImages | undefined) {
  return defineHandler({
    ...SERVICE_APIS.gateway.derived,
    async handler({ id, format }) {
      if (!store) throw new LoupeError('LOUPE_ERR_NOT_FOUND', 'this process keeps no derived images (it has no data directory)');
      const json = id.endsWith('.json');
      const key = json ? id.slice(0, -'.json'.length) : id;
      if (json || format === 'json') return store.provenance(key);
      return new Uint8Array((await store.get(key)).png);
    },
  });
}
