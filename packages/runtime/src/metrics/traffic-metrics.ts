import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Counter, Gauge, type Registry } from 'prom-client';
import { FETCHED_CHANNEL, type FetchedReport } from '@loupe/contracts';
import type { Bus } from '@loupe/bus';

/**
 * What goes in and out of a process besides its stages: bytes fetched per IIIF host (from the
 * fetcher's diagnostics channel) and the dead letters waiting (asked of the bus at each scrape).
 * Returns what stops listening.
 */
export function watchTraffic(registry: Registry, bus: Bus): () => void {
  const bytes = new Counter({
    name: 'loupe_iiif_fetched_bytes_total',
    help: 'Bytes of IIIF documents and images fetched over the network, by host and kind',
    labelNames: ['host', 'kind'],
    registers: [registry],
  });
  const fetches = new Counter({
    name: 'loupe_iiif_fetches_total',
    help: 'IIIF documents and images returned, by host, kind and whether the cache answered',
    labelNames: ['host', 'kind', 'cache'],
    registers: [registry],
  });
  new Gauge({
    name: 'loupe_dead_letters',
    help: 'Messages waiting in the dead letters for an operator, every subject together',
    registers: [registry],
    async collect() {
      // A bus that cannot answer now leaves the value as it was rather than failing the scrape.
      const count = await bus.deadLetters.count().catch(() => undefined);
      if (count !== undefined) this.set(count);
    },
  });
  const onFetched = (message: unknown): void => {
    const report = message as FetchedReport;
    fetches.inc({ host: report.host, kind: report.kind, cache: report.fromCache ? 'hit' : 'miss' });
    if (!report.fromCache) bytes.inc({ host: report.host, kind: report.kind }, report.bytes);
  };
  subscribe(FETCHED_CHANNEL, onFetched);
  return () => unsubscribe(FETCHED_CHANNEL, onFetched);
}
