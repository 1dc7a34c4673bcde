export { activate, activateRange, decide, logits, predict, sigmoid, uncertainty, type Decision, type DecideMode, type HeadClass, type HeadEmbedding, type HeadKind, type LinearHead, type Pick, type TrainedOn, type UncertaintyStrategy } from './head.js';
export {
  defaultEpochs,
  logitsMany,
  oneVsRestObjective,
  softmaxObjective,
  TRAIN_DEFAULTS,
  trainOneVsRest,
  trainOneVsRestRows,
  trainSoftmax,
  trainSoftmaxRows,
  type LinearWeights,
  type Objective,
  type ObjectiveOptions,
  type TrainOptions,
} from './train.js';
export { expectedCalibrationError, fitTemperature, negativeLogLikelihood, probabilities, TEMPERATURE_RANGE, thresholdsForPrecision, type ThresholdChoice } from './calibrate.js';
export { fitHead, type CalibrationReport, type ClassThreshold, type CrossValidationReport, type FitInput, type FitOptions } from './fit.js';
export { CLIP_LOGIT_SCALE, meanEmbedding, PROMPT_TEMPLATES, promptsFor, zeroShotHead, type ZeroShotOptions } from './zero-shot.js';
export {
  checkHeadId,
  checkHeadVersion,
  compareVersions,
  HEAD_FORMAT,
  HEAD_FORMAT_VERSION,
  HEAD_ID_PATTERN,
  HEAD_VERSION_PATTERN,
  headCard,
  listHeads,
  listVersions,
  loadHead,
  nextVersion,
  parseHead,
  saveHead,
  serializeHead,
  type HeadCard,
} from './artefact.js';
export { closeToChance, CLOSE_TO_CHANCE } from './chance.js';
export { headHome, listHeadsWithPack, PACK_HEADS_DIR } from './pack.js';
export { checkTileSpec, mostPositiveTile, tileRects, type TileRect, type TileSpec } from './tiles.js';
