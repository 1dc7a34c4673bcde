export { floatOutput, loadSession } from './session.js';
export type {
  ExecutionProvider,
  FloatTensor,
  InferenceLogger,
  LoadSessionOptions,
  ModelSession,
  Tensor,
  TensorData,
  TensorType,
  ValueInfo,
} from './session.js';
export { createEngine, RUNTIME_DEFAULTS } from './engine/model-runner.js';
export type {
  Engine,
  EngineOptions,
  EngineReadiness,
  LoadOptions,
  ModelReadiness,
  ModelRunner,
  ModelState,
  RunOptions,
} from './engine/model-runner.js';
export { DynamicBatcher } from './engine/dynamic-batcher.js';
export type { BatchRequest, BatcherClock, BatcherLimits, BatcherObserver } from './engine/dynamic-batcher.js';
export type { ModelMetrics, Percentiles } from './engine/model-metrics.js';
export type { PadSpec } from './engine/tensor-batch.js';
export { BUILTIN_MODELS, builtinCard, builtinEngineCard, builtinModel, loadBuiltinDictionary, loadBuiltinModel, resolveBuiltinFile } from './builtin-models.js';
export type { BuiltinFile, BuiltinModel, BuiltinModelId } from './builtin-models.js';
export { InputSpec, Label, MODEL_TASKS, ModelCard, ModelFile, OutputSpec, type ModelTask } from './cards/model-card.js';
export { loadBuiltinCardSync, loadCard, loadCardSync, parseCard, parseEngineCard, storedName, type CardProblem } from './cards/card.loader.js';
export { ENGINE_RUNTIMES, EngineCard, EngineLanguage, isEngineCard, type AnyCard, type EngineRuntime } from './cards/engine-card.js';
export {
  BUILTIN_CARDS_DIR,
  openRegistry,
  type FileState,
  type InvalidCard,
  type EngineEntry,
  type ModelEntry,
  type InstallState,
  type ModelFileStatus,
  type PullOptions,
  type PullProgress,
  type PullResult,
  type Registry,
  type RegistryEntry,
  type RegistryOptions,
  type ResolvedModel,
  type VerifyResult,
} from './registry/registry.js';
export { sha256File, verifyFile, type ExpectedBytes } from './registry/model-files.js';
export { describeModels, findModel, type CardReadiness, type ModelRegistryLike } from './registry/installed-model.js';
export { cropQuad, inputSize, mapPoint, polygonBox, prepareImage, resizeTo, rotate180, toByteTensor, toInputTensor, toTensor } from './image-ops.js';
export type {
  InputTensor,
  InputTensorSpec,
  PixelTransform,
  Point,
  PreparedImage,
  PrepareOptions,
  Quad,
  RawImage,
  ResizeSpec,
  TensorSpec,
} from './image-ops.js';
export { createTextRecognizer, OCR_CHANNEL, readingOrder } from './ppocr/text-recognizer.js';
export { builtinPpocrModels, PPOCR_CARD_IDS } from './ppocr/ppocr-cards.js';
export { networkSize } from './ppocr/ppocr-detector.js';
export type { ModelSource, PpocrModels } from './ppocr/ppocr-cards.js';
export { layOutLines, type BlockRole, type LaidOutBlock } from './layout/text-layout.js';
export type {
  FoundLine,
  FoundLines,
  LineToRead,
  OcrTimingEvent,
  PageOrientation,
  TextLine,
  TextRecognizer,
  TextRecognizerOptions,
  TextRecognizerReadiness,
  TextWord,
} from './ppocr/text-recognizer.js';
export { findForeground, maskPng, type Foreground, type ForegroundOptions, type MaskModel } from './foreground/foreground.js';
export * from './decoders/index.js';
export { createOrientationClassifier, type OrientationResult } from './orientation/orientation-model.js';
export { hammingDistance, hashOfGrey, perceptualHash } from './phash.js';
export { createImageEmbedder, type ImageEmbedder } from './embedding/image-embedder.js';
export { COCO_CLASSES, COCO_LABELS, type CocoClass } from './coco.js';
export { createDetector, type DetectedBox, type DetectOptions, type Detector } from './detection/detector.js';
export { createTextEmbedder, type TextEmbedder } from './embedding/text-embedder.js';
export { openProcessModels, type OpenedModel, type ProcessModels, type ProcessModelsOptions } from './process-models.js';
export { createTesseractRecognizer, TESSERACT_ENGINE_ID, type RgbImage, type TesseractRecognizer, type TesseractRecognizerOptions } from './tesseract/tesseract-recognizer.js';
export { STACK_LAYOUT, type LineToStack, type StackLayout } from './tesseract/line-stack.js';
export { tesseractEngineCard, type TesseractEngineCard, type TesseractLanguageModel } from './tesseract/tesseract-card.js';
export { tesseractCoreVersion } from './tesseract/tessdata.js';
export { OCCLUSION_DEFAULTS, occlusionSaliency, scoreEach, type ImageScorer, type OcclusionBaseline, type OcclusionOptions, type SaliencyMap } from './explain/occlusion.saliency.js';
export { saliencyOverlayPng, sampleMap, type OverlayOptions } from './explain/saliency.overlay.js';
export { ENHANCE_DEFAULTS, enhanceFactor, enhanceImage, type EnhanceCard, type EnhanceModel, type EnhanceOptions } from './enhance/enhance-image.js';
export { cropRgb, rgbPng } from './enhance/image-bytes.js';
