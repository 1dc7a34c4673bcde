export type * from './types.js';
export { parseJsonDocument } from './json-document.js';
export { DEFAULT_HARVEST_LIMITS, HARVEST_PREFETCH, harvest, harvestAll } from './harvest.js';
export { SLICE_MS, UNREADABLE_CHANNEL, parseManifest } from './presentation.js';
export { parseImageInfo } from './image-info.js';
export { LISTED_SIZE_SLACK, MAX_TILES, REQUEST_COST_PX, canvasTransform, planImageRequest, toCanvasRect } from './planner.js';
export * from './fetch/index.js';
export { fetchCanvasImage, fetchHints, type CanvasImage, type FetchHints } from './canvas-image.js';
