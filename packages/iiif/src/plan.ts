// `@loupe/iiif/plan`: reading an image service's info.json and planning requests, without the
// fetcher's image decoder (sharp) and network stack (undici). `loupe iiif plan` loads only this;
// a caller that fetches imports `@loupe/iiif`, which exports all of this too.
export type * from './types.js';
export { parseJsonDocument } from './json-document.js';
export { parseImageInfo } from './image-info.js';
export { LISTED_SIZE_SLACK, MAX_TILES, REQUEST_COST_PX, UPSCALE_OFFER_RATIO, canvasTransform, planImageRequest, toCanvasRect, upscaleOffer } from './planner.js';
export { createDocumentLoader, isHttpSource, type DocumentLoaderOptions } from './fetch/document-loader.js';
export { FETCHER_DEFAULTS, type FetcherOptions, type ResolvedFetcherOptions } from './fetch/fetcher-options.js';
