export { createClassifyService, type ClassifyDeps } from './classify.service.js';
