export { createGroundTruthService, parseVocabulary, type GroundTruthDeps } from './ground-truth.service.js';
export { toAnnotations } from './annotations.js';
export { evaluateModel } from './evaluation.js';
export { datasetSplits, exportDataset, importDataset } from './datasets.js';
export { groundTruthServiceFromConfig, type GroundTruthParts } from './ground-truth.factory.js';
