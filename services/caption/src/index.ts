export { COMPOSED_CAPTION_MODEL, createCaptionService, type CaptionDeps } from './caption.service.js';
export { captionServiceFromConfig, type CaptionParts } from './caption.factory.js';
export { captionLanguage, composeCaption, type ConceptLabel } from './caption.composer.js';
export { conceptLabelsOver, type CaptionClient } from './caption.concept-labels.js';
export { captionersOver, captionWithModel, type ModelCaptioning, type OpenCaptioner } from './caption.model.js';
export { captionOptions, type CaptionOptions } from './caption.options.js';
