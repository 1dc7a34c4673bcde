export * from './plan.js';
export { DEFAULT_HARVEST_LIMITS, HARVEST_PREFETCH, harvest, harvestAll } from './harvest.js';
export { SLICE_MS, UNREADABLE_CHANNEL, parseManifest } from './presentation.js';
export {
  createEgressPolicy,
  createFetcher,
  deniedRange,
  parseRetryAfter,
  PixelBudget,
  type EgressFetch,
  type EgressLease,
  type EgressOptions,
  type EgressPolicy,
  type FetchedImage,
  type Fetcher,
  type PlannedImage,
  type ResolvedAddress,
  type Resolver,
} from './fetch/index.js';
export { fetchCanvasImage, fetchHints, type CanvasImage, type FetchHints } from './canvas-image.js';
export { DERIVED_ID, DERIVED_KEEP_MS, openDerivedImages, type DerivedImages, type DerivedImagesOptions } from './derived-images.js';
