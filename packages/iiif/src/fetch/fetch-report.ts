import { channel } from 'node:diagnostics_channel';
import { FETCHED_CHANNEL, inSpan, SpanKind, type FetchedReport } from '@loupe/contracts';

const fetched = channel(FETCHED_CHANNEL);

/** What a fetch tells about itself once it has its body. */
export type NoteFetched = (bytes: number, fromCache: boolean) => void;

/**
 * Runs one fetch (cache look-up, download, checks) in a client span, reporting its bytes and
 * whether the cache answered, to the span and the channel.
 */
export function reportedFetch<T>(kind: FetchedReport['kind'], url: URL, fetchIt: (note: NoteFetched) => Promise<T>): Promise<T> {
  const attributes = { 'http.request.method': 'GET', 'server.address': url.hostname, 'url.full': url.href, 'loupe.iiif.kind': kind };
  return inSpan(
    `fetch ${kind}`,
    attributes,
    (span) =>
      fetchIt((bytes, fromCache) => {
        span.setAttributes({ 'http.response.body.size': bytes, 'loupe.cache.hit': fromCache });
        if (fetched.hasSubscribers) fetched.publish({ host: url.hostname, kind, bytes, fromCache } satisfies FetchedReport);
      }),
    { kind: SpanKind.CLIENT },
  );
}
