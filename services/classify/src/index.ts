export { createClassifyService, cardOf, type ClassifyDeps } from './classify.service.js';
