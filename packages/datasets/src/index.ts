export type { Box, GroundTruthLabel, LabelledImage } from './model.js';
export * from './csv.js';
export { averagePrecision, boxIou, evaluateDetections, parseGroundTruth, type ApOptions, type ApResult, type DetectionEvaluation, type EvaluateOptions, type GroundTruthImage, type GroundTruthObject, type PerImage, type ScoredDetection } from './metrics/box-metrics.js';
export { characterErrorRate, levenshtein, normalizeSpace, wordErrorRate } from './metrics/text-metrics.js';
export { fromCoco, toCoco, type CocoAnnotation, type CocoCategory, type CocoCategoryInput, type CocoDataset, type CocoExport, type CocoImage, type FromCocoOptions, type ToCocoOptions } from './coco.js';
export { fromVoc, toVoc, type FromVocOptions, type ToVocOptions } from './voc.js';
export {
  annotationsToImages,
  fromAnnotationPage,
  imageToAnnotations,
  labelOfAnnotation,
  toAnnotationPage,
  type AnnotationLabel,
  type AnnotationPageImport,
  type AnnotationPageProblem,
  type CanvasInfo,
  type ImageToAnnotationsOptions,
  type ToAnnotationPageOptions,
} from './annotation-page.js';
export {
  evaluateBoxes,
  evaluateClassification,
  evaluateText,
  formatBoxes,
  formatClassification,
  formatText,
  NO_PREDICTION,
  shortName,
  type Averages,
  type BoxClassMetrics,
  type BoxOptions,
  type BoxReport,
  type ClassificationOptions,
  type ClassificationReport,
  type ClassMetrics,
  type PredictedBox,
  type TextReport,
  type TruthBox,
} from './evaluate.js';
export * from './skos.js';
export * from './europeana-csv.js';
export * from './splits.js';
export { gaussian, seededRandom, shuffle } from './random.js';
export * from './ocr/index.js';
export { BLENDS, GENERATOR_FONTS, LOGO_SHAPES, PLACEMENTS, sampleWatermark, watermarkStream, type Blend, type LogoShape, type Placement, type WatermarkSpec } from './watermark/marks.js';
export { escapeXml, watermarkMaskSvg, watermarkSvg } from './watermark/watermark-svg.js';
export { NO_WATERMARK_CONCEPT, planWatermarkSet, WATERMARK_CONCEPT, WATERMARK_LABELS, type PlannedImage, type WatermarkSetOptions } from './watermark/watermark-set.js';
