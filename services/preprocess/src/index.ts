export { createPreprocessService, PreparedImage, PreprocessOptions, type ForegroundFinder,
  type OrientationModel, type PreprocessDeps, type TextOrientation } from './preprocess.service.js';
