import { writeFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

// onnx-proto is CommonJS with one `module.exports` object: its named export only exists on the default.
const { onnx } = onnxProto;

/**
 * Builds small ONNX models inside tests, so that code which runs real models through onnxruntime
 * can be tested on graphs with the same input and output signatures without downloading weights.
 *
 * ```ts
 * // Y = X @ W + B, with a dynamic batch dimension
 * const bytes = buildOnnxModel({
 *   inputs: [{ name: 'X', type: 'float32', dims: ['batch', 2] }],
 *   outputs: [{ name: 'Y', type: 'float32', dims: ['batch', 3] }],
 *   initializers: [
 *     { name: 'W', type: 'float32', dims: [2, 3], values: [1, 2, 3, 4, 5, 6] },
 *     { name: 'B', type: 'float32', dims: [3], values: [0.5, 0.5, 0.5] },
 *   ],
 *   nodes: [
 *     { op: 'MatMul', inputs: ['X', 'W'], outputs: ['XW'] },
 *     { op: 'Add', inputs: ['XW', 'B'], outputs: ['Y'] },
 *   ],
 * });
 * const session = await ort.InferenceSession.create(bytes);
 * ```
 */

export type OnnxElementType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

/** A graph input or output. A string dim is symbolic (dynamic, e.g. 'batch'); leave `dims` out for an unknown shape. */
export interface OnnxValueSpec {
  name: string;
  type: OnnxElementType;
  dims?: readonly (number | string)[];
}

/** A constant tensor, as an initializer or as a tensor attribute (Constant's `value`). Values are row-major. */
export interface OnnxTensorSpec {
  type: OnnxElementType;
  dims: readonly number[];
  values: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<boolean>;
}

export interface OnnxInitializerSpec extends OnnxTensorSpec {
  name: string;
}

/**
 * A node attribute. A number is an INT when it is an integer and a FLOAT otherwise: write
 * `{ float: 1 }` (or `{ floats: [...] }`) where the operator wants a float that happens to be whole.
 * A number array is INTS (FLOATS when any is fractional); `{ graph }` is a subgraph (If, Loop, Scan).
 */
export type OnnxAttributeValue =
  | number
  | string
  | readonly number[]
  | readonly string[]
  | { float: number }
  | { floats: readonly number[] }
  | OnnxTensorSpec
  | { graph: OnnxGraphSpec };

export interface OnnxNodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, OnnxAttributeValue>>;
  /** Operator domain; the default ONNX domain when absent. */
  domain?: string;
  name?: string;
}

export interface OnnxGraphSpec {
  name?: string;
  /** Graph inputs. A subgraph (an If branch) usually has none and reads the outer graph's values. */
  inputs: readonly OnnxValueSpec[];
  outputs: readonly OnnxValueSpec[];
  initializers?: readonly OnnxInitializerSpec[];
  nodes: readonly OnnxNodeSpec[];
}

export interface OnnxModelSpec extends OnnxGraphSpec {
  /** Default-domain opset; 17 by default. */
  opset?: number;
}

const ELEMENT_TYPES: Record<OnnxElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  int16: onnx.TensorProto.DataType.INT16,
  uint16: onnx.TensorProto.DataType.UINT16,
  int32: onnx.TensorProto.DataType.INT32,
  uint32: onnx.TensorProto.DataType.UINT32,
  int64: onnx.TensorProto.DataType.INT64,
  uint64: onnx.TensorProto.DataType.UINT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Serialises the model to ONNX protobuf bytes, ready for `ort.InferenceSession.create(bytes)` or a file. */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const domains = new Set<string>();
  const graph = toGraph(spec, domains);
  const opsetImport = [{ domain: '', version: spec.opset ?? 17 }];
  for (const domain of domains) if (domain !== '') opsetImport.push({ domain, version: 1 });
  const model = onnx.ModelProto.create({
    irVersion: onnx.Version.IR_VERSION,
    producerName: 'loupe-testing',
    opsetImport,
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Builds the model and writes it to `path` (for code that loads models from files); returns the path. */
export async function writeOnnxModel(path: string, spec: OnnxModelSpec): Promise<string> {
  await writeFile(path, buildOnnxModel(spec));
  return path;
}

function toGraph(spec: OnnxGraphSpec, domains: Set<string>): proto.IGraphProto {
  return {
    name: spec.name ?? 'graph',
    input: spec.inputs.map(toValueInfo),
    output: spec.outputs.map(toValueInfo),
    initializer: (spec.initializers ?? []).map((init) => toTensor(init, init.name)),
    node: spec.nodes.map((node, i) => {
      if (node.domain) domains.add(node.domain);
      return {
        name: node.name ?? `${node.op}_${i}`,
        opType: node.op,
        domain: node.domain ?? '',
        input: [...node.inputs],
        output: [...node.outputs],
        attribute: Object.entries(node.attributes ?? {}).map(([name, value]) => toAttribute(name, value, domains)),
      };
    }),
  };
}

function toValueInfo(v: OnnxValueSpec): proto.IValueInfoProto {
  const tensorType: proto.TypeProto.ITensor = { elemType: ELEMENT_TYPES[v.type] };
  if (v.dims) {
    tensorType.shape = { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  }
  return { name: v.name, type: { tensorType } };
}

function toTensor(t: OnnxTensorSpec, name = ''): proto.ITensorProto {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.values.length !== count) {
    throw new RangeError(`tensor ${name || '(attribute)'} has ${t.values.length} values for dims [${t.dims.join(', ')}] (${count})`);
  }
  return { name, dataType: ELEMENT_TYPES[t.type], dims: [...t.dims], rawData: rawBytes(t) };
}

// raw_data is little-endian; typed arrays are host-endian, which is little-endian on every platform onnxruntime ships for.
function rawBytes(t: OnnxTensorSpec): Uint8Array {
  const values = Array.from(t.values as ArrayLike<number | bigint | boolean>);
  const num = (v: number | bigint | boolean) => Number(v);
  const big = (v: number | bigint | boolean) => (typeof v === 'bigint' ? v : BigInt(Number(v)));
  let view: ArrayBufferView;
  switch (t.type) {
    case 'float32':
      view = Float32Array.from(values, num);
      break;
    case 'float64':
      view = Float64Array.from(values, num);
      break;
    case 'int8':
      view = Int8Array.from(values, num);
      break;
    case 'uint8':
    case 'bool':
      view = Uint8Array.from(values, num);
      break;
    case 'int16':
      view = Int16Array.from(values, num);
      break;
    case 'uint16':
      view = Uint16Array.from(values, num);
      break;
    case 'int32':
      view = Int32Array.from(values, num);
      break;
    case 'uint32':
      view = Uint32Array.from(values, num);
      break;
    case 'int64':
      view = BigInt64Array.from(values, big);
      break;
    case 'uint64':
      view = BigUint64Array.from(values, big);
      break;
  }
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function toAttribute(name: string, value: OnnxAttributeValue, domains: Set<string>): proto.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: A.INT, i: value } : { name, type: A.FLOAT, f: value };
  }
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (isArray(value)) {
    if (value.every((v): v is string => typeof v === 'string')) {
      if (value.length > 0) return { name, type: A.STRINGS, strings: value.map((v) => new TextEncoder().encode(v)) };
    }
    const nums = value as readonly number[];
    return nums.every(Number.isInteger) ? { name, type: A.INTS, ints: [...nums] } : { name, type: A.FLOATS, floats: [...nums] };
  }
  if ('float' in value) return { name, type: A.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: A.FLOATS, floats: [...value.floats] };
  if ('graph' in value) return { name, type: A.GRAPH, g: toGraph(value.graph, domains) };
  return { name, type: A.TENSOR, t: toTensor(value) };
}

// Array.isArray does not narrow readonly arrays.
function isArray(v: unknown): v is readonly unknown[] {
  return Array.isArray(v);
}
