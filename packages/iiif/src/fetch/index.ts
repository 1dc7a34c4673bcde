export {
  createFetcher,
  type FetchedImage,
  type Fetcher,
  type PlannedImage,
} from './fetcher.js';
export { CACHE_KEEP_MS, FETCHER_DEFAULTS, type FetcherOptions, type ResolvedFetcherOptions } from './fetcher-options.js';
export { DiskBudget, folderBudget, SWEEP_DOWN_TO, type DiskBudgetOptions, type SweepReport } from './disk-budget.js';
export { createEgressPolicy, deniedRange, type EgressFetch, type EgressLease, type EgressOptions, type EgressPolicy, type ResolvedAddress, type Resolver } from './egress.js';
export { PixelBudget } from './pixel-budget.js';
export { createDocumentLoader, isHttpSource, type DocumentLoaderOptions } from './document-loader.js';
export { parseRetryAfter } from './retry-policy.js';
