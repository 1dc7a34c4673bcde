export {
  BYTE_CHARS_IN_VOCAB_ORDER,
  BYTE_TO_CHAR,
  BytePairEncoder,
  parseTokenizer,
  readTokenizerFiles,
  type AddedToken,
  type BpeTokenizerData,
  type TokenizerSource,
} from './byte-level-bpe.js';
export { CLIP_LOGIT_SCALE, decodeEmbeddings, embedImages, embedTexts, softmax, zeroShotScores } from './clip.js';
export type { ClipImageOptions, ClipTextOptions, ZeroShotScores } from './clip.js';
export { CLIP_CONTEXT_LENGTH, CLIP_END_TOKEN, CLIP_START_TOKEN, ClipTokenizer, clipNormalize, clipPreTokenize } from './clip-tokenizer.js';
export type { ClipEncoding, ClipTokenizerOptions } from './clip-tokenizer.js';
export { GPT2_END_OF_TEXT, Gpt2Tokenizer, type Gpt2TokenizerOptions } from './gpt2-tokenizer.js';
export { l2Normalize, ortSessionModel, type ModelWithInputs, type RunModel } from './model-io.js';
export { caption, generate } from './seq2seq.js';
export type { Caption, EncoderDecoderModels, GeneratedSequence, GenerateOptions } from './seq2seq.js';
export { createImageCaptioner, MAX_CAPTION_BEAMS } from './seq2seq-captioner.js';
export type { CaptionerParts, CaptionRequest, CaptionToken, ImageCaptioner, ModelCaption } from './seq2seq-captioner.js';
export { decodeYolo, detectObjects, finishDetections, iou, nonMaxSuppression, placeBox } from './yolo.js';
export type { BoxCandidate, Detection, FinishOptions, YoloFrame, YoloOptions } from './yolo.js';
export { CENTERNET_INPUT, CENTERNET_OUTPUT, decodeCenterNet, detectCenterNet } from './centernet.js';
export type { DetectorFrame, DetectorInputSpec, DetectorOptions } from './centernet.js';
export { NANODET_INPUT, decodeNanoDet, detectNanoDet } from './nanodet.js';
export type { NanoDetOptions } from './nanodet.js';
export { BLAZEFACE_INPUT, BLAZEFACE_KEYPOINTS, FACE_LABELS, blazeFaceAnchors, decodeBlazeFace, detectFaces } from './blazeface.js';
export type { BlazeFaceOptions, FaceDetection } from './blazeface.js';
