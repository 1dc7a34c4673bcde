export { loadConfig, SERVICE_NAMES, type LoupeConfig } from './config.js';
export { createEmbedded, type Embedded } from './embedded.js';
export { runPipeline, type RunOptions, type RunReport } from './commands/run.js';
export { resolveSource } from './source-path.js';
export { main } from './main.js';
export { rawPixels, visibleInk, watermarkedView, watermarkSetCommand } from './commands/watermarks.js';
export { embedImageFolder, type LabelledVectors } from './commands/train-images.js';
export { tileVectors } from '@loupe/service-classify';
export { embedImageTiles, tileLabel } from './commands/train-tiles.js';
