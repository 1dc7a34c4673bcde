export { createPreprocessService, PreparedImage, PreprocessOptions, type ForegroundFinder,
  type OrientationModel, type PreprocessDeps, type TextLines } from './preprocess.service.js';
export { FOREGROUND_MODEL, preprocessServiceFromConfig, type PreprocessParts } from './preprocess.factory.js';
export { DEBLUR_MODEL, enhanceCards } from './image-enhancer.js';
