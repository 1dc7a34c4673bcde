export { createIiifFetcherService, type IiifFetcherDeps } from './iiif-fetcher.service.js';
export { iiifFetcherServiceFromConfig, type IiifFetcherParts } from './iiif-fetcher.factory.js';
