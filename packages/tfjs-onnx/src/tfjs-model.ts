import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

/** Reads model.json and its weight shards (paths relative to model.json) and dequantises every weight. */
export async function loadTfjsGraphModel(modelJsonPath: string): Promise<LoadedTfjsModel> {
  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as TfjsGraphModelJson;
  if (!json.modelTopology || !Array.isArray(json.modelTopology.node)) {
    throw new TypeError(`${modelJsonPath} is not a TF.js graph model (no modelTopology.node)`);
  }
  const weights = new Map<string, ConstTensor>();
  for (const group of json.weightsManifest ?? []) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dirname(modelJsonPath), p))));
    const buffer = Buffer.concat(shards);
    let offset = 0;
    for (const spec of group.weights) {
      const { tensor, bytes } = decodeWeight(spec, buffer, offset);
      weights.set(spec.name, tensor);
      offset += bytes;
    }
  }
  return { json, weights };
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
