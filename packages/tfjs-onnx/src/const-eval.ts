import type { ConstTensor, TfjsNode } from './tfjs-model.js';
import { permute, strides } from './onnx-graph.js';
import { stridedSliceSpec } from './strided-slice.js';
import { attrI, attrInts } from './tf-attrs.js';

/**
 * Evaluates a TF op whose inputs are all constants, at conversion time. Graphs exported from JAX
 * (jax2tf) compute every reshape, slice bound and resize matrix from the input's shape with a few
 * thousand small integer ops; once the input's size is fixed they are all constants, and folding them
 * here leaves ONNX a static graph of the model's real work. Returns undefined for an op it does not
 * evaluate: the converter then emits it as an ONNX node.
 *
 * Arithmetic is done in doubles and rounded once to the result's type: for float32 inputs that is
 * TF's float32 result for +, -, *, / (a double holds their exact result or rounds it harmlessly).
 */
export function evaluate(node: TfjsNode, c: ConstTensor[]): ConstTensor | undefined {
  const op = node.op;
  const bin = BINARY[op];
  if (bin && c.length === 2) return broadcastMap(c, (v) => bin(v[0]!, v[1]!), c[0]!.dtype);
  const cmp = COMPARE[op];
  if (cmp && c.length === 2) return broadcastMap(c, (v) => (cmp(v[0]!, v[1]!) ? 1 : 0), 'bool');
  const un = UNARY[op];
  if (un && c.length === 1) return broadcastMap(c, (v) => un(v[0]!), op === 'LogicalNot' ? 'bool' : c[0]!.dtype);
  const [a, b] = c;
  switch (op) {
    case 'SelectV2':
    case 'Select':
      return c.length === 3 ? broadcastMap(c, (v) => (v[0] ? v[1]! : v[2]!), c[1]!.dtype) : undefined;
    case 'Cast': {
      const to = TF_CONST_DTYPES[node.attr?.DstT?.type ?? ''];
      return to ? castConst(a!, to) : undefined;
    }
    case 'Reshape':
      return { ...a!, shape: resolveShape(a!.data.length, ints(b!)) };
    case 'ExpandDims': {
      const axis = Number(b!.data[0]);
      const shape = [...a!.shape];
      shape.splice(axis < 0 ? axis + shape.length + 1 : axis, 0, 1);
      return { ...a!, shape };
    }
    case 'Squeeze': {
      const rank = a!.shape.length;
      const axes = attrInts(node.attr?.squeeze_dims).map((x) => (x < 0 ? x + rank : x));
      return { ...a!, shape: a!.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)) };
    }
    case 'Pack':
      return concat(c.map((t) => ({ ...t, shape: insertAxis(t.shape, attrI(node.attr?.axis), 1) })), attrI(node.attr?.axis));
    case 'ConcatV2': {
      const parts = c.slice(0, -1);
      const axis = Number(c[c.length - 1]!.data[0]);
      return concat(parts, axis < 0 ? axis + parts[0]!.shape.length : axis);
    }
    case 'Transpose':
      return permute(a!, ints(b!));
    case 'BroadcastTo':
      return broadcastMap([a!], (v) => v[0]!, a!.dtype, ints(b!));
    case 'Fill':
      return broadcastMap([b!], (v) => v[0]!, b!.dtype, ints(a!));
    case 'Range': {
      const [start, limit, delta] = c.map((t) => Number(t.data[0]));
      const n = Math.max(0, Math.ceil((limit! - start!) / delta!));
      return make(a!.dtype, [n], Array.from({ length: n }, (_, i) => start! + i * delta!));
    }
    case 'StridedSlice':
      return stridedSliceConst(node, a!, ints(b!), ints(c[2]!), ints(c[3]!));
    case 'GatherV2':
      return attrI(node.attr?.batch_dims) === 0 ? gather(a!, b!, Number(c[2]!.data[0])) : undefined;
    case 'Sum': case 'Prod': case 'Max': case 'Min': case 'Mean':
      return reduce(op, a!, ints(b!), node.attr?.keep_dims?.b === true);
    case 'SparseToDense':
      return sparseToDense(a!, b!, c[2]!, c[3]!);
    default:
      return undefined;
  }
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, AddV2: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b,
  RealDiv: (a, b) => a / b, Div: (a, b) => a / b, FloorDiv: (a, b) => Math.floor(a / b),
  FloorMod: (a, b) => a - Math.floor(a / b) * b, Maximum: Math.max, Minimum: Math.min, Pow: (a, b) => a ** b,
  SquaredDifference: (a, b) => (a - b) * (a - b),
};
const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  Equal: (a, b) => a === b, NotEqual: (a, b) => a !== b, Greater: (a, b) => a > b, GreaterEqual: (a, b) => a >= b,
  Less: (a, b) => a < b, LessEqual: (a, b) => a <= b, LogicalAnd: (a, b) => !!a && !!b, LogicalOr: (a, b) => !!a || !!b,
};
const UNARY: Record<string, (a: number) => number> = {
  Abs: Math.abs, Neg: (a) => -a, Sign: Math.sign, Floor: Math.floor, Ceil: Math.ceil, Reciprocal: (a) => 1 / a,
  Sqrt: Math.sqrt, Rsqrt: (a) => 1 / Math.sqrt(a), Square: (a) => a * a, Exp: Math.exp, Log: Math.log,
  Tanh: Math.tanh, Sigmoid: (a) => 1 / (1 + Math.exp(-a)), Relu: (a) => Math.max(0, a), LogicalNot: (a) => (a ? 0 : 1),
  Identity: (a) => a,
};
const TF_CONST_DTYPES: Record<string, ConstTensor['dtype']> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool' };

export function castConst(t: ConstTensor, to: ConstTensor['dtype']): ConstTensor {
  if (to === 'float32') return { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data) };
  if (to === 'int32') return { dtype: 'int32', shape: t.shape, data: Int32Array.from(t.data, Math.trunc) };
  return { dtype: 'bool', shape: t.shape, data: Uint8Array.from(t.data, (v) => (v ? 1 : 0)) };
}

function make(dtype: ConstTensor['dtype'], shape: number[], values: ArrayLike<number>): ConstTensor {
  if (dtype === 'int32') return { dtype, shape, data: Int32Array.from(values, Math.trunc) };
  if (dtype === 'bool') return { dtype, shape, data: Uint8Array.from(values, (v) => (v ? 1 : 0)) };
  return { dtype, shape, data: Float32Array.from(values) };
}

function ints(t: ConstTensor): number[] {
  return Array.from(t.data, Number);
}

function size(shape: number[]): number {
  return shape.reduce((x, y) => x * y, 1);
}

function insertAxis(shape: number[], axis: number, dim: number): number[] {
  const out = [...shape];
  out.splice(axis < 0 ? axis + shape.length + 1 : axis, 0, dim);
  return out;
}

/** A reshape's target with its one -1 filled in. */
function resolveShape(count: number, shape: number[]): number[] {
  const known = shape.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
  return shape.map((d) => (d === -1 ? count / known : d));
}

/** NumPy broadcasting of any number of shapes. */
function broadcastShape(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, k) => {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + k] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v) throw new RangeError(`shapes ${shapes.map((x) => `[${x}]`).join(', ')} do not broadcast`);
        d = v;
      }
    }
    return d;
  });
}

/** Applies `f` element by element over the inputs broadcast together (and to `to`, when given). */
function broadcastMap(inputs: ConstTensor[], f: (v: number[]) => number, dtype: ConstTensor['dtype'], to?: number[]): ConstTensor {
  const shape = broadcastShape(to ? [...inputs.map((t) => t.shape), to] : inputs.map((t) => t.shape));
  const rank = shape.length;
  // Each input's stride along each output axis, 0 where it broadcasts.
  const steps = inputs.map((t) => {
    const st = strides(t.shape);
    return shape.map((_, k) => {
      const axis = t.shape.length - rank + k;
      return axis < 0 || t.shape[axis] === 1 ? 0 : st[axis]!;
    });
  });
  const n = size(shape);
  const out = new Array<number>(n);
  const idx = new Array<number>(rank).fill(0);
  const offs = new Array<number>(inputs.length).fill(0);
  const vals = new Array<number>(inputs.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < inputs.length; j++) vals[j] = Number(inputs[j]!.data[offs[j]!]);
    out[i] = f(vals);
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]!++;
      for (let j = 0; j < inputs.length; j++) offs[j]! += steps[j]![k]!;
      if (idx[k]! < shape[k]!) break;
      for (let j = 0; j < inputs.length; j++) offs[j]! -= steps[j]![k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return make(dtype, shape, out);
}

function concat(parts: ConstTensor[], axis: number): ConstTensor {
  const first = parts[0]!;
  const outer = size(first.shape.slice(0, axis));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const inner = size(p.shape.slice(axis));
      for (let i = 0; i < inner; i++) out.push(Number(p.data[o * inner + i]));
    }
  }
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  return make(first.dtype, shape, out);
}

function stridedSliceConst(node: TfjsNode, x: ConstTensor, begin: number[], end: number[], step: number[]): ConstTensor {
  const spec = stridedSliceSpec(x.shape, begin, end, step, node.attr ?? {});
  const st = strides(x.shape);
  const out: number[] = [];
  const walk = (axis: number, offset: number): void => {
    if (axis === x.shape.length) {
      out.push(Number(x.data[offset]));
      return;
    }
    const d = spec.dims[axis]!;
    for (let k = 0; k < d.count; k++) walk(axis + 1, offset + (d.start + k * d.step) * st[axis]!);
  };
  walk(0, 0);
  return make(x.dtype, spec.outShape, out);
}

function gather(params: ConstTensor, indices: ConstTensor, axis0: number): ConstTensor {
  const axis = axis0 < 0 ? axis0 + params.shape.length : axis0;
  const outer = size(params.shape.slice(0, axis));
  const inner = size(params.shape.slice(axis + 1));
  const dim = params.shape[axis]!;
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of indices.data) {
      const k = Number(raw) < 0 ? Number(raw) + dim : Number(raw);
      for (let i = 0; i < inner; i++) out.push(Number(params.data[(o * dim + k) * inner + i]));
    }
  }
  return make(params.dtype, [...params.shape.slice(0, axis), ...indices.shape, ...params.shape.slice(axis + 1)], out);
}

function reduce(op: string, x: ConstTensor, axes0: number[], keep: boolean): ConstTensor {
  const rank = x.shape.length;
  const axes = new Set(axes0.map((a) => (a < 0 ? a + rank : a)));
  const kept = x.shape.map((d, k) => (axes.has(k) ? 1 : d));
  const keptStrides = strides(kept);
  const n = size(kept);
  const init = op === 'Prod' ? 1 : op === 'Max' ? -Infinity : op === 'Min' ? Infinity : 0;
  const acc = new Array<number>(n).fill(init);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let k = 0; k < rank; k++) if (!axes.has(k)) o += idx[k]! * keptStrides[k]!;
    const v = Number(x.data[i]);
    acc[o] = op === 'Prod' ? acc[o]! * v : op === 'Max' ? Math.max(acc[o]!, v) : op === 'Min' ? Math.min(acc[o]!, v) : acc[o]! + v;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < x.shape[k]!) break;
      idx[k] = 0;
    }
  }
  const count = x.data.length / n;
  const values = op === 'Mean' ? acc.map((v) => v / count) : acc;
  return make(x.dtype, keep ? kept : x.shape.filter((_, k) => !axes.has(k)), values);
}

function sparseToDense(indices: ConstTensor, outShape: ConstTensor, values: ConstTensor, dflt: ConstTensor): ConstTensor {
  const shape = ints(outShape);
  const data = new Array<number>(size(shape)).fill(Number(dflt.data[0] ?? 0));
  const rank = shape.length;
  const st = strides(shape);
  const count = indices.shape.length === 0 ? 1 : indices.shape[0]!;
  for (let i = 0; i < count; i++) {
    let flat = 0;
    for (let k = 0; k < rank; k++) flat += Number(indices.data[i * rank + k]) * st[k]!;
    data[flat] = Number(values.data[values.data.length === 1 ? 0 : i]);
  }
  return make(values.dtype === 'int32' ? 'int32' : 'float32', shape, data);
}
