import { convertGraphModel } from './convert.js';
import { convertLayersModel } from './layers.js';
import type { ConvertOptions, ConvertResult } from './onnx-graph.js';
import { readTfjsModelJson, tfjsFormatOf, type TfjsFormat } from './tfjs-model.js';

/**
 * Whether a TF.js model is a graph model (a GraphDef's nodes) or a layers model (a Keras model
 * config). `path` is a model.json or an nsfwjs-style `model.min.js` bundle (read, never evaluated).
 */
export async function detectTfjsFormat(path: string): Promise<TfjsFormat> {
  return tfjsFormatOf(await readTfjsModelJson(path), path);
}

/** Converts either kind of TF.js model to ONNX; `format` says which it was. */
export async function convertTfjsModel(path: string, opts: ConvertOptions = {}): Promise<ConvertResult & { format: TfjsFormat }> {
  const format = await detectTfjsFormat(path);
  const result = format === 'graph' ? await convertGraphModel(path, opts) : await convertLayersModel(path, opts);
  return { ...result, format };
}
