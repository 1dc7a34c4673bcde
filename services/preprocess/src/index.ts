export { createPreprocessService, PreparedImage, PreprocessOptions, type ForegroundFinder, type PreprocessDeps, type TextOrientation } from './preprocess.service.js';
