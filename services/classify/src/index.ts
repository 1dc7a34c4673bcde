export { createClassifyService, cardOf, type ClassifyDeps } from './classify.service.js';
export { classifyServiceFromConfig, type ClassifyParts } from './classify.factory.js';
