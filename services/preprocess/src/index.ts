export { createPreprocessService, PreparedImage, type PreprocessDeps } from './preprocess.service.js';
