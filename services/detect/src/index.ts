export { createDetectService, type DetectDeps } from './detect.service.js';
export { detectServiceFromConfig, type DetectParts } from './detect.factory.js';
