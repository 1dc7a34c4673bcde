import type { ServiceDefinition } from '@loupe/contracts';
import type { DocumentLoader } from '@loupe/iiif';
import { createIiifFetcherService } from './iiif-fetcher.service.js';

/** What the IIIF fetcher takes from the process that runs it: LOUPE_MAX_CANVASES. */
export interface IiifFetcherParts {
  readonly load: DocumentLoader;
  readonly config: { readonly maxCanvasesPerJob: number };
}

export function iiifFetcherServiceFromConfig({ load, config }: IiifFetcherParts): ServiceDefinition {
  return createIiifFetcherService({ load, limits: { maxCanvases: config.maxCanvasesPerJob } });
}
