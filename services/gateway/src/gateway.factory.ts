import type { Bus } from '@loupe/bus';
import type { Logger, ServiceDefinition } from '@loupe/contracts';
import type { DocumentLoader, Fetcher } from '@loupe/iiif';
import type { JobStore } from '@loupe/store';
import { createGatewayService } from './gateway.service.js';
import type { RecoverJobs } from './jobs.js';

/** What the gateway takes from the process that runs it. */
export interface GatewayParts {
  readonly bus: Bus;
  readonly load: DocumentLoader;
  /** Its derived images are the ones the gateway serves. */
  readonly fetcher: Pick<Fetcher, 'derived'>;
  readonly log: Logger;
  /** The process's job store, opened on first ask. */
  readonly stores: { jobs(): JobStore };
  /** Whether jobs may name local paths: only the CLI's own argument, never a server's caller. */
  readonly localSources: boolean;
  readonly config: { readonly publicUrl: string; readonly recoverJobs: RecoverJobs };
}

export function gatewayServiceFromConfig({ bus, load, fetcher, log, stores, localSources, config }: GatewayParts): ServiceDefinition {
  return createGatewayService({
    bus,
    jobs: stores.jobs(),
    load,
    publicUrl: config.publicUrl,
    log,
    localSources,
    recoverJobs: config.recoverJobs,
    ...(fetcher.derived && { derived: fetcher.derived }),
  });
}
