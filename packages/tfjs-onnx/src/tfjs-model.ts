import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { readBundleData } from './umd-bundle.js';

/** One node of a TF.js graph model's `modelTopology.node[]` (a TensorFlow GraphDef node as JSON). */
export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttr>;
}

export interface TfjsAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[]; s?: string[]; f?: number[]; type?: string[] };
  tensor?: unknown;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; min?: number; scale?: number; original_dtype?: string };
}

export interface TfjsGraphModelJson {
  format?: string;
  modelTopology: { node: TfjsNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  signature?: {
    inputs?: Record<string, { name: string; dtype?: string }>;
    outputs?: Record<string, { name: string; dtype?: string }>;
  };
}

/** A constant tensor after dequantisation: float weights become float32, int32 stays int32. */
export interface ConstTensor {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

export interface LoadedTfjsModel {
  json: TfjsGraphModelJson;
  weights: Map<string, ConstTensor>;
}

/** One layer of a Keras model config (`model_config.config.layers[]`), as TF.js layers models store it. */
export interface KerasLayerJson {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  /** Keras 2: one entry per call of the layer, each a list of `[layer, nodeIndex, tensorIndex, kwargs]`. */
  inbound_nodes?: unknown[];
}

export type TfjsFormat = 'graph' | 'layers';

export interface LoadedTfjsArtifacts {
  json: Record<string, unknown>;
  format: TfjsFormat;
  weights: Map<string, ConstTensor>;
}

/**
 * A path to an nsfwjs-style bundle (`model.min.js`, weights in `group1-shard1of1.min.js` beside it)
 * rather than to a model.json with binary shards.
 */
function isBundlePath(path: string): boolean {
  return /\.js$/i.test(path);
}

/** Reads the model description: model.json as JSON, a `.js` bundle through the literal parser (never evaluated). */
export async function readTfjsModelJson(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = isBundlePath(path) ? readBundleData(text, path) : JSON.parse(text);
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${path} is neither TF.js model JSON nor a model data bundle: ${(err as Error).message}`, { cause: err });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${path} does not hold a TF.js model (not an object)`);
  }
  return json as Record<string, unknown>;
}

/** Graph (a GraphDef's nodes) or layers (a Keras model config), from what the topology holds. */
export function tfjsFormatOf(json: Record<string, unknown>, path = 'the model'): TfjsFormat {
  const topo = json.modelTopology as Record<string, unknown> | undefined;
  if (topo && Array.isArray(topo.node)) return 'graph';
  if (topo && (typeof topo.model_config === 'object' || typeof topo.class_name === 'string')) return 'layers';
  if (json.format === 'layers-model') return 'layers';
  throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${path} is neither a TF.js graph model (modelTopology.node) nor a layers model (modelTopology.model_config)`);
}

/** Reads a model (model.json or a `.js` bundle) and its weights, dequantising every weight. */
export async function loadTfjsArtifacts(path: string): Promise<LoadedTfjsArtifacts> {
  const json = await readTfjsModelJson(path);
  const format = tfjsFormatOf(json, path);
  return { json, format, weights: await loadWeights(path, json) };
}

/** Every weight the manifest names, read from the shards beside the model and dequantised to float32 / int32. */
async function loadWeights(path: string, json: Record<string, unknown>): Promise<Map<string, ConstTensor>> {
  const weights = new Map<string, ConstTensor>();
  const manifest = (json.weightsManifest ?? []) as { paths: string[]; weights: WeightSpec[] }[];
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => readShard(path, p)));
    const buffer = Buffer.concat(shards);
    let offset = 0;
    for (const spec of group.weights) {
      const { tensor, bytes } = decodeWeight(spec, buffer, offset);
      weights.set(spec.name, tensor);
      offset += bytes;
    }
    if (offset > buffer.byteLength) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `the weights of ${path} need ${offset} bytes but its shards hold ${buffer.byteLength}`);
    }
  }
  return weights;
}

/**
 * One weight shard, by the manifest's path relative to the model. Beside a bundle, nsfwjs names the
 * shard bundle after the manifest path plus `.min.js` (`group1-shard1of1` -> `group1-shard1of1.min.js`,
 * see nsfwjs' model_imports) and its module exports the shard's bytes as base64.
 */
async function readShard(modelPath: string, shard: string): Promise<Buffer> {
  const base = join(dirname(modelPath), shard);
  if (!isBundlePath(modelPath)) return readFile(base);
  for (const candidate of [`${base}.min.js`, `${base}.js`]) {
    if (!(await exists(candidate))) continue;
    const data = readBundleData(await readFile(candidate, 'utf8'), candidate);
    if (typeof data !== 'string') throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `the weight bundle ${candidate} does not export a base64 string`);
    return Buffer.from(data, 'base64');
  }
  // A bundle may still name plain binary shards.
  return readFile(base);
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Reads a graph model (model.json beside its weight shards, or a `.js` bundle) and dequantises every weight. */
export async function loadTfjsGraphModel(modelJsonPath: string): Promise<LoadedTfjsModel> {
  const json = await readTfjsModelJson(modelJsonPath);
  const topo = json.modelTopology as { node?: unknown } | undefined;
  if (!topo || !Array.isArray(topo.node)) {
    throw new TypeError(`${modelJsonPath} is not a TF.js graph model (no modelTopology.node)`);
  }
  return { json: json as unknown as TfjsGraphModelJson, weights: await loadWeights(modelJsonPath, json) };
}

/** Decodes one weight starting at `offset` of the concatenated shards; returns the tensor and the bytes it used. */
export function decodeWeight(spec: WeightSpec, buffer: Uint8Array, offset: number): { tensor: ConstTensor; bytes: number } {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  // Copy into an aligned buffer: a shard offset need not be a multiple of the element size.
  const slice = (n: number) => new Uint8Array(buffer.subarray(offset, offset + n)).buffer;
  if (q) {
    const size = q.dtype === 'uint8' ? 1 : 2;
    const raw = slice(count * size);
    const out = new Float32Array(count);
    if (q.dtype === 'float16') {
      const h = new Uint16Array(raw);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(h[i]!);
    } else {
      const src = q.dtype === 'uint8' ? new Uint8Array(raw) : new Uint16Array(raw);
      const min = q.min ?? 0;
      const scale = q.scale ?? 1;
      for (let i = 0; i < count; i++) out[i] = src[i]! * scale + min;
    }
    if (spec.dtype === 'int32') return { tensor: { dtype: 'int32', shape: spec.shape, data: Int32Array.from(out, Math.round) }, bytes: count * size };
    return { tensor: { dtype: 'float32', shape: spec.shape, data: out }, bytes: count * size };
  }
  switch (spec.dtype) {
    case 'float32':
      return { tensor: { dtype: 'float32', shape: spec.shape, data: new Float32Array(slice(count * 4)) }, bytes: count * 4 };
    case 'int32':
      return { tensor: { dtype: 'int32', shape: spec.shape, data: new Int32Array(slice(count * 4)) }, bytes: count * 4 };
    case 'bool':
      return { tensor: { dtype: 'bool', shape: spec.shape, data: new Uint8Array(slice(count)) }, bytes: count };
    default:
      throw new TypeError(`weight ${spec.name} has dtype ${spec.dtype}, which the converter does not read`);
  }
}

/** IEEE 754 binary16 to a JS number, subnormals, infinities and NaN included. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
