export { createEmbedService, type EmbedDeps } from './embed.service.js';
