export {
  createFetcher,
  FETCHER_DEFAULTS,
  type FetchedImage,
  type Fetcher,
  type FetcherOptions,
  type PlannedImage,
  type ResolvedFetcherOptions,
} from './fetcher.js';
export { createDocumentLoader, type DocumentLoaderOptions } from './document-loader.js';
export { parseRetryAfter } from './retry-policy.js';
