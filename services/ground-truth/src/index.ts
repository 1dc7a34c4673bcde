export { createGroundTruthService, type GroundTruthDeps } from './ground-truth.service.js';
export { toAnnotations } from './annotations.js';
