/**
 * The diagnostics channel on which the IIIF fetcher reports each document or image it returns: a
 * process's /metrics counts bytes per IIIF host from it (runtime's app metrics), without the
 * fetcher knowing of any registry.
 */
export const FETCHED_CHANNEL = 'loupe:iiif:fetched';

export interface FetchedReport {
  readonly host: string;
  readonly kind: 'document' | 'image';
  /** Bytes of the body as served (a cache hit's too; `fromCache` tells them apart). */
  readonly bytes: number;
  readonly fromCache: boolean;
}
