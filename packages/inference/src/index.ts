export { loadSession } from './session.js';
export type { ExecutionProvider, FloatTensor, InferenceLogger, LoadSessionOptions, ModelSession } from './session.js';
export {
  BUILTIN_MODELS,
  builtinModel,
  loadBuiltinDictionary,
  loadBuiltinModel,
  resolveBuiltinFile,
  sha256File,
  verifyFile,
} from './builtin-models.js';
export type { BuiltinFile, BuiltinModel, BuiltinModelId } from './builtin-models.js';
export { cropQuad, mapPoint, prepareImage, resizeTo, rotate180, toTensor } from './image-ops.js';
export type { PixelTransform, Point, PreparedImage, PrepareOptions, Quad, RawImage, ResizeSpec, TensorSpec } from './image-ops.js';
export { createTextRecognizer, OCR_CHANNEL } from './ppocr/text-recognizer.js';
export type { OcrTimingEvent, TextLine, TextRecognizer, TextRecognizerOptions, TextRecognizerReadiness } from './ppocr/text-recognizer.js';
export { characterErrorRate, normalizeSpace, wordErrorRate } from './text-metrics.js';
export { openModelDirectory, requireInstalledModel, type InstalledModel, type ModelDirectory, type ModelTask } from './model-directory.js';
