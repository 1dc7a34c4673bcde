export { loadConfig, SERVICE_NAMES, type LoupeConfig } from './config.js';
export { createEmbedded, type Embedded } from './embedded.js';
export { runPipeline, resolveSource, type RunOptions, type RunReport } from './commands/run.js';
export { main } from './main.js';
