export { createIiifFetcherService, type IiifFetcherDeps } from './iiif-fetcher.service.js';
