export { createDetectService, type DetectDeps } from './detect.service.js';
