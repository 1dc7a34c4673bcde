import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import type { ConvertResult } from './convert.js';
import { convertTfjsModel } from './convert-tfjs.js';
import type { TfjsFormat } from './tfjs-model.js';

export interface ImportTfjsOptions {
  /** A model card (JSON) describing the model; its `files.model` is replaced by the converted file. */
  cardPath: string;
  /** Where model.onnx and card.json are written: `$LOUPE_MODELS_DIR/<id>/` for an installed model. */
  outDir: string;
  /**
   * Values that become the ONNX outputs instead of the model's own: layer names for a layers model,
   * node names for a graph model (e.g. a classifier's pooling layer, to get a feature vector).
   */
  outputs?: string[];
}

export interface ImportTfjsResult {
  modelPath: string;
  cardPath: string;
  card: Record<string, unknown>;
  sha256: string;
  size: number;
  /** Which kind of TF.js model it was. */
  format: TfjsFormat;
  conversion: Omit<ConvertResult, 'onnx'>;
}

/**
 * `loupe models import-tfjs <model.json> --card <card>`: converts the TF.js model to ONNX and
 * writes it beside a copy of the card whose `files.model` pins the new file (sha256 and size), so
 * the registry verifies it like any other model file. The card's schema is checked by whoever
 * installs it (`loupe models add` / parseCard); this only fills in what the conversion decides.
 *
 * `modelJson` is a graph or layers model.json, or an nsfwjs-style `model.min.js` bundle; which kind
 * it is comes from its topology.
 */
export async function importTfjs(modelJson: string, opts: ImportTfjsOptions): Promise<ImportTfjsResult> {
  let card: Record<string, unknown>;
  try {
    card = JSON.parse(await readFile(opts.cardPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `cannot read the card ${opts.cardPath} as JSON`, { cause: err });
  }
  if (typeof card !== 'object' || card === null || Array.isArray(card)) {
    throw new LoupeError('LOUPE_ERR_MODEL_CARD_INVALID', `the card ${opts.cardPath} is not a JSON object`);
  }
  const { onnx, format, ...conversion } = await convertTfjsModel(modelJson, opts.outputs ? { outputs: opts.outputs } : {});
  const files = (typeof card.files === 'object' && card.files !== null ? card.files : {}) as Record<string, Record<string, unknown>>;
  // A card written for the TF.js model names model.json (or model.min.js): the converted file keeps its stem.
  const fileName = typeof files.model?.path === 'string' ? basename(files.model.path).replace(/(\.min)?\.[^.]*$/, '') + '.onnx' : 'model.onnx';
  await mkdir(opts.outDir, { recursive: true });
  const modelPath = join(opts.outDir, fileName);
  await writeFile(modelPath, onnx);
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  const size = onnx.byteLength;
  const input = (typeof card.input === 'object' && card.input !== null ? card.input : {}) as Record<string, unknown>;
  const first = conversion.inputs[0];
  const out: Record<string, unknown> = {
    ...card,
    files: { ...files, model: { path: fileName, sha256, size } },
    input: {
      ...input,
      ...(input.name === undefined && first ? { name: first.name } : {}),
      // The converted graph keeps the TF.js model's layout.
      ...(input.layout === undefined && first?.shape?.length === 4 ? { layout: first.shape[3] === 3 ? 'NHWC' : 'NCHW' } : {}),
    },
  };
  const cardPath = join(opts.outDir, 'card.json');
  await writeFile(cardPath, JSON.stringify(out, null, 2) + '\n');
  return { modelPath, cardPath, card: out, sha256, size, format, conversion };
}
