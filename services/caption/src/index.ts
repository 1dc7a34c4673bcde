export { createCaptionService, type CaptionDeps } from './caption.service.js';
export { captionServiceFromConfig, type CaptionParts } from './caption.factory.js';
