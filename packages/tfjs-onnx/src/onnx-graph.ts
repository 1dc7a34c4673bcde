import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';
import type { ConstTensor } from './tfjs-model.js';

/**
 * What both converters (graph models and layers models) share: building an ONNX graph node by node,
 * holding constants as initializers, dropping what no output reads, and encoding the model.
 * Names come from one counter in emission order, so the same input always gives the same bytes
 * (model cards pin the converted file's sha256).
 */

// onnx-proto is CommonJS with one `module.exports` object: its named export only exists on the default.
const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
export const OPSET = 17;

export type ElementType = 'float32' | 'int32' | 'int64' | 'bool';

export interface TensorSignature {
  name: string;
  dtype: ElementType;
  /** -1 for a dynamic dimension; absent when the rank is unknown. */
  shape?: number[];
}

export interface ConvertResult {
  onnx: Uint8Array;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** How many nodes of each TF op type (graph models, Const included) or layers of each class (layers models). */
  ops: Record<string, number>;
}

export interface ConvertOptions {
  /**
   * Values that become the ONNX graph's outputs instead of the model's own: node names for a graph
   * model (`name` or `name:k`), layer names for a layers model. Lets a classifier be cut at its
   * pooling layer to give an image feature vector. What no output needs is left out of the file.
   */
  outputs?: string[];
  /**
   * Fixes the shape of the model's one input (e.g. [1, 256, 256, 3]): every shape the graph computes
   * from it becomes a constant, folded at conversion, so that the ONNX graph is static. Models exported
   * from JAX need it: they compute their reshapes and slices from the input's shape at run time.
   */
  inputShape?: number[];
}

export const ONNX_DTYPES: Record<ElementType, number> = { float32: DT.FLOAT, int32: DT.INT32, int64: DT.INT64, bool: DT.BOOL };
export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];
/** TF NHWC axis -> ONNX NCHW axis. */
export const AXIS_TO_NCHW = [0, 2, 3, 1];

export type AttrValue = number | string | number[] | { f: number };

/** An ONNX value holding a tensor in TF's layout (`nhwc`) or transposed to `nchw`. */
export interface LaidOutValue {
  name: string;
  layout: 'nhwc' | 'nchw';
}

export class OnnxGraph {
  protected readonly nodes: proto.INodeProto[] = [];
  protected readonly initializers: proto.ITensorProto[] = [];
  protected readonly inputs: TensorSignature[] = [];
  private readonly emittedConsts = new Map<ConstTensor, string>();
  protected counter = 0;
  /** Names the model itself gives to values (its outputs): generated names skip them. */
  protected readonly reserved = new Set<string>();
  /** Each value's copy in the other layout, by the value's name: one Transpose however often it is read. */
  private readonly layoutCopies = { nhwc: new Map<string, string>(), nchw: new Map<string, string>() };

  /** A new value name `<prefix>_<n>`. */
  protected fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.reserved.has(name));
    return name;
  }

  /** Adds a one-output node; its output is named after the op and the counter unless `outName` is given. */
  protected emit(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    const out = outName ?? this.fresh(op);
    this.nodes.push({ name: out, opType: op, domain: '', input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)) });
    return out;
  }

  /** An initializer for a constant; the same tensor object is written once however often it is read. */
  protected constName(t: ConstTensor): string {
    let name = this.emittedConsts.get(t);
    if (!name) {
      name = this.fresh('const');
      this.initializers.push(tensorProto(name, t.dtype, t.shape, t.data));
      this.emittedConsts.set(t, name);
    }
    return name;
  }

  protected int64(values: number[]): string {
    const name = this.fresh('const');
    this.initializers.push(tensorProto(name, 'int64', [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
    return name;
  }

  protected scalar(v: number): string {
    const name = this.fresh('const');
    this.initializers.push(tensorProto(name, 'float32', [], Float32Array.of(v)));
    return name;
  }

  protected asNchw<T extends LaidOutValue>(x: T): T {
    return this.inLayout(x, 'nchw');
  }

  protected asNhwc<T extends LaidOutValue>(x: T): T {
    return this.inLayout(x, 'nhwc');
  }

  /** Records that value `copy` already is value `of` in `layout`, so asking for that layout costs nothing. */
  protected knownCopy(of: string, layout: 'nhwc' | 'nchw', copy: string): void {
    this.layoutCopies[layout].set(of, copy);
  }

  private inLayout<T extends LaidOutValue>(x: T, layout: 'nhwc' | 'nchw'): T {
    if (x.layout === layout) return x;
    const copies = this.layoutCopies[layout];
    let name = copies.get(x.name);
    if (!name) {
      name = this.emit('Transpose', [x.name], { perm: layout === 'nchw' ? TO_NCHW : TO_NHWC });
      copies.set(x.name, name);
    }
    return { ...x, name, layout };
  }

  /**
   * Encodes the model whose outputs are `outputs` (values the subclass has already emitted under those
   * names), after dropping the nodes and initializers none of them depends on.
   */
  protected finish(graphName: string, outputs: TensorSignature[], ops: Record<string, number>): ConvertResult {
    this.pruneDeadNodes(outputs.map((o) => o.name));
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'loupe-tfjs-onnx',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      },
    });
    return { onnx: onnx.ModelProto.encode(model).finish(), inputs: this.inputs, outputs, ops };
  }

  /** Drops nodes (and initializers) no output depends on: layout copies made but never read, folded constants, cut-off heads. */
  private pruneDeadNodes(outputs: string[]): void {
    const live = new Set(outputs);
    const kept: proto.INodeProto[] = [];
    for (const n of [...this.nodes].reverse()) {
      if (!(n.output ?? []).some((o) => live.has(o))) continue;
      kept.push(n);
      for (const i of n.input ?? []) live.add(i);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const inits = this.initializers.filter((i) => live.has(i.name ?? ''));
    this.initializers.splice(0, this.initializers.length, ...inits);
  }
}

function valueInfo(s: TensorSignature): proto.IValueInfoProto {
  const shape = s.shape ? { dim: s.shape.map((d) => (d < 0 ? { dimParam: 'N' } : { dimValue: d })) } : undefined;
  return { name: s.name, type: { tensorType: { elemType: ONNX_DTYPES[s.dtype], ...(shape ? { shape } : {}) } } };
}

export function toAttribute(name: string, v: AttrValue): proto.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: A.INT, i: v };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  return { name, type: A.FLOAT, f: (v as { f: number }).f };
}

export function tensorProto(name: string, dtype: ElementType, dims: number[], data: ArrayBufferView): proto.ITensorProto {
  return { name, dataType: ONNX_DTYPES[dtype], dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Permutes a constant's axes (row-major); `reshape` relabels the result's shape afterwards. */
export function permute(t: ConstTensor, perm: number[], reshape?: number[]): ConstTensor {
  const shape = perm.map((p) => t.shape[p]!);
  const srcStrides = strides(t.shape);
  const out = new (t.data.constructor as Float32ArrayConstructor)(t.data.length) as typeof t.data;
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let k = 0; k < perm.length; k++) src += idx[k]! * srcStrides[perm[k]!]!;
    out[i] = t.data[src]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return { dtype: t.dtype, shape: reshape ?? shape, data: out };
}

export function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let k = shape.length - 2; k >= 0; k--) s[k] = s[k + 1]! * shape[k + 1]!;
  return s;
}

export function sameInts(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
