export { createClassifyService, cardOf, type ClassifyDeps } from './classify.service.js';
export { classifyServiceFromConfig, type ClassifyParts } from './classify.factory.js';
export { classificationExplainHandler, type ExplanationImageFetch, type FetchedForExplanation } from './classification.explain.handler.js';
export { classifyTiled, cropRgb, tileVectors } from './tiling.js';
