export {
  createFetcher,
  FETCHER_DEFAULTS,
  type FetchedImage,
  type Fetcher,
  type FetcherOptions,
  type PlannedImage,
  type ResolvedFetcherOptions,
} from './fetcher.js';
export { createEgressPolicy, deniedRange, type EgressFetch, type EgressLease, type EgressOptions, type EgressPolicy, type ResolvedAddress, type Resolver } from './egress.js';
export { PixelBudget } from './pixel-budget.js';
export { createDocumentLoader, type DocumentLoaderOptions } from './document-loader.js';
export { parseRetryAfter } from './retry-policy.js';
