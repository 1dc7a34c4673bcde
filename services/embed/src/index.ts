export { createEmbedService, type EmbedDeps } from './embed.service.js';
export { embedServiceFromConfig, type EmbedParts } from './embed.factory.js';
