import { LoupeError } from '@loupe/contracts';
import { castConst, evaluate } from './const-eval.js';
import { loadTfjsGraphModel, type ConstTensor, type TfjsNode } from './tfjs-model.js';
import { attrF, attrInts, attrS, b64 } from './tf-attrs.js';
import {
  AXIS_TO_NCHW, ONNX_DTYPES, OnnxGraph, TO_NCHW, TO_NHWC, permute, sameInts, strides, toAttribute,
  type AttrValue, type ConvertOptions, type ConvertResult, type ElementType, type TensorSignature,
} from './onnx-graph.js';

export type { ConvertOptions, ConvertResult, ElementType, TensorSignature } from './onnx-graph.js';

/**
 * A TF tensor as the converter holds it: a constant (kept in memory so that later ops can fold it
 * and reshape it for ONNX), or an ONNX value in TF's own layout (`nhwc`) or transposed to `nchw`.
 * Conv, pooling and resize want NCHW; every other op keeps TF's layout. Values stay NCHW between
 * convolutions through element-wise ops and are transposed back only where an op needs TF's layout,
 * so a chain of convolutions costs no transposes in between.
 */
type Value =
  | { kind: 'const'; tensor: ConstTensor }
  | { kind: 'dyn'; name: string; layout: 'nhwc' | 'nchw'; dtype: ElementType; shape?: number[] };

const TF_DTYPES: Record<string, ElementType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int64', DT_BOOL: 'bool' };

const UNARY: Record<string, string> = {
  Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Exp: 'Exp', Neg: 'Neg', Sqrt: 'Sqrt', Abs: 'Abs', Log: 'Log', Floor: 'Floor', Reciprocal: 'Reciprocal',
  Sign: 'Sign', Ceil: 'Ceil', LogicalNot: 'Not',
};
const COMPARE: Record<string, string> = {
  Equal: 'Equal', Greater: 'Greater', Less: 'Less', GreaterEqual: 'GreaterOrEqual', LessEqual: 'LessOrEqual',
};
const BINARY: Record<string, string> = {
  Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Mul: 'Mul', Sub: 'Sub', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min', Pow: 'Pow',
};

/**
 * Converts a TF.js graph model (model.json beside its weight shards, or an nsfwjs-style `model.min.js`
 * bundle) to an ONNX model (opset 17). `opts.outputs` names the nodes whose values become the outputs.
 */
export async function convertGraphModel(modelJsonPath: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const { json, weights } = await loadTfjsGraphModel(modelJsonPath);
  return new Converter(json.modelTopology.node, weights, json.signature?.outputs, opts).run();
}

class Converter extends OnnxGraph {
  private readonly values = new Map<string, Value>();

  constructor(
    private readonly tfNodes: TfjsNode[],
    private readonly weights: Map<string, ConstTensor>,
    private readonly signatureOutputs: Record<string, { name: string }> | undefined,
    private readonly opts: ConvertOptions,
  ) {
    super();
  }

  private get requestedOutputs(): string[] | undefined {
    return this.opts.outputs;
  }

  run(): ConvertResult {
    const ops: Record<string, number> = {};
    for (const node of this.tfNodes) ops[node.op] = (ops[node.op] ?? 0) + 1;
    const outputNames = this.outputNames();
    for (const n of outputNames) this.reserved.add(n.replace(/:0$/, ''));
    for (const node of topoSort(this.tfNodes)) this.convertNode(node);

    const outputs: TensorSignature[] = [];
    for (const tfName of outputNames) {
      const v = this.get(tfName, tfName);
      const outName = tfName.replace(/:0$/, '');
      const src = v.kind === 'const' ? this.constName(v.tensor) : this.asNhwc(v).name;
      const dtype = v.kind === 'const' ? v.tensor.dtype : v.dtype;
      this.emit('Identity', [src], {}, outName);
      outputs.push({ name: outName, dtype });
    }
    return this.finish('tfjs', outputs, ops);
  }

  private outputNames(): string[] {
    if (this.requestedOutputs) {
      const known = new Set(this.tfNodes.map((n) => n.name));
      const unknown = this.requestedOutputs.filter((o) => !known.has(baseName(o)));
      if (unknown.length > 0) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `the model has no node named ${unknown.join(', ')} (asked for as an output)`, { details: { outputs: unknown } });
      }
      if (this.requestedOutputs.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'outputs is empty: name at least one node');
      return this.requestedOutputs;
    }
    if (this.signatureOutputs && Object.keys(this.signatureOutputs).length > 0) {
      return Object.values(this.signatureOutputs).map((o) => o.name);
    }
    const consumed = new Set<string>();
    for (const n of this.tfNodes) for (const i of n.input ?? []) consumed.add(baseName(i));
    return this.tfNodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => n.name);
  }

  private convertNode(node: TfjsNode): void {
    const ins = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const input = (k: number): Value => this.get(ins[k] ?? '', node.name);
    const set = (v: Value): void => {
      this.values.set(node.name, v);
    };
    const op = node.op;

    if (op === 'Const') {
      const w = this.weights.get(node.name) ?? inlineConst(node);
      if (!w) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Const ${node.name} has no weight in the manifest`);
      return set({ kind: 'const', tensor: w });
    }
    if (op === 'Placeholder') {
      const dtype = TF_DTYPES[node.attr?.dtype?.type ?? 'DT_FLOAT'] ?? 'float32';
      const dims = node.attr?.shape?.shape?.dim;
      const shape = this.inputShape(node, dims?.map((d) => Number(d.size ?? -1)));
      this.inputs.push({ name: node.name, dtype, ...(shape ? { shape } : {}) });
      const fixed = shape && shape.every((d) => d >= 0) ? { shape } : {};
      return set({ kind: 'dyn', name: node.name, layout: 'nhwc', dtype, ...fixed });
    }
    if (op === 'Shape') {
      const x = input(0);
      const shape = x.kind === 'const' ? x.tensor.shape : x.shape;
      if (!shape) return this.unsupported(node, 'the shape of a value whose size is not fixed: convert with inputShape');
      if (node.attr?.out_type?.type === 'DT_INT64') return this.unsupported(node, 'an int64 shape');
      return set({ kind: 'const', tensor: { dtype: 'int32', shape: [shape.length], data: Int32Array.from(shape) } });
    }
    if (op === 'Identity' || op === 'StopGradient' || op === 'NoOp') {
      if (op === 'NoOp') return;
      return set(input(0));
    }
    const folded = this.fold(node, ins);
    if (folded) return set({ kind: 'const', tensor: folded });
    const more = this.convertMore(node, input);
    if (more) return set(more);
    if (op === 'Conv2D' || op === '_FusedConv2D' || op === 'DepthwiseConv2dNative' || op === 'FusedDepthwiseConv2dNative') {
      return set(this.conv(node, ins));
    }
    if (op === 'MatMul' || op === '_FusedMatMul') return set(this.matMul(node, ins));
    if (op in UNARY) {
      const x = input(0);
      if (x.kind === 'const') return this.unsupported(node, 'constant input');
      return set(this.same(x, this.emit(UNARY[op]!, [x.name])));
    }
    if (op === 'Relu6') {
      const x = this.dyn(input(0), node);
      return set(this.same(x, this.emit('Clip', [x.name, this.scalar(0), this.scalar(6)])));
    }
    if (op === 'LeakyRelu') {
      const x = this.dyn(input(0), node);
      return set(this.same(x, this.emit('LeakyRelu', [x.name], { alpha: { f: attrF(node.attr?.alpha, 0.2) } })));
    }
    if (op === 'Rsqrt') {
      const x = this.dyn(input(0), node);
      return set(this.same(x, this.emit('Reciprocal', [this.emit('Sqrt', [x.name])])));
    }
    if (op in BINARY) return set(this.binary(BINARY[op]!, input(0), input(1), node));
    if (op in COMPARE) return set({ ...(this.binary(COMPARE[op]!, input(0), input(1), node) as DynValue), dtype: 'bool' });
    if (op === 'FloorMod') return set(this.binary('Mod', input(0), input(1), node));
    if (op === 'FloorDiv') {
      const q = this.binary('Div', this.cast(input(0), 'float32'), this.cast(input(1), 'float32'), node) as DynValue;
      const floored: DynValue = { ...q, name: this.emit('Floor', [q.name]) };
      const dtype = input(0).kind === 'const' ? (input(0) as { tensor: ConstTensor }).tensor.dtype : (input(0) as DynValue).dtype;
      return set(this.cast(floored, dtype));
    }
    if (op === 'Cast') {
      const to = TF_DTYPES[node.attr?.DstT?.type ?? ''];
      if (!to) return this.unsupported(node, `cast to ${node.attr?.DstT?.type}`);
      return set(this.cast(this.dyn(input(0), node), to));
    }
    if (op === 'ExpandDims') {
      const x = this.asNhwc(this.dyn(input(0), node));
      const axes = [...this.constOf(input(1), node, 'dim').data];
      return set(this.same(x, this.emit('Unsqueeze', [x.name, this.int64(axes)])));
    }
    if (op === 'Squeeze') {
      const x = this.asNhwc(this.dyn(input(0), node));
      const axes = attrInts(node.attr?.squeeze_dims);
      return set(this.same(x, this.emit('Squeeze', axes.length ? [x.name, this.int64(axes)] : [x.name])));
    }
    if (op === 'TopKV2') {
      const x = this.asNhwc(this.dyn(input(0), node));
      const k = this.constOf(input(1), node, 'k');
      const values = `${node.name}/values`;
      const indices = `${node.name}/indices`;
      this.nodes.push({ name: `TopK_${this.counter++}`, opType: 'TopK', domain: '', input: [x.name, this.int64([Number(k.data[0])])], output: [values, indices], attribute: [toAttribute('axis', -1), toAttribute('largest', 1), toAttribute('sorted', 1)] });
      set({ kind: 'dyn', name: values, layout: 'nhwc', dtype: x.dtype });
      this.values.set(`${node.name}:1`, this.cast({ kind: 'dyn', name: indices, layout: 'nhwc', dtype: 'int64' }, 'int32'));
      return;
    }
    if (op === 'GatherV2') {
      const x = this.asNhwc(this.dyn(input(0), node));
      const idx = input(1);
      const idxName = idx.kind === 'const' ? this.constName(idx.tensor) : this.asNhwc(idx).name;
      const axis = Number(this.constOf(input(2), node, 'axis').data[0]);
      if (Number(node.attr?.batch_dims?.i ?? 0) !== 0) return this.unsupported(node, 'batch_dims');
      return set(this.same(x, this.emit('Gather', [x.name, idxName], { axis })));
    }
    if (op === 'StridedSlice') return set(this.stridedSlice(node, this.asNhwc(this.dyn(input(0), node)), input(1), input(2), input(3)));
    if (op === 'MaxPool' || op === 'AvgPool') {
      const x = this.asNchw(this.dyn(input(0), node));
      this.requireNhwc(node);
      const k = attrInts(node.attr?.ksize);
      const s = attrInts(node.attr?.strides);
      const attrs: Record<string, AttrValue> = { kernel_shape: [k[1]!, k[2]!], strides: [s[1]!, s[2]!], ...this.padding(node) };
      // TF averages over the window's in-bounds part only.
      if (op === 'AvgPool') attrs.count_include_pad = 0;
      return set({ kind: 'dyn', name: this.emit(op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.name], attrs), layout: 'nchw', dtype: 'float32' });
    }
    if (op === 'Pad' || op === 'PadV2' || op === 'MirrorPad') {
      const x = this.dyn(input(0), node);
      const p = this.constOf(input(1), node, 'paddings');
      const rank = p.shape[0]!;
      const axes = x.layout === 'nchw' ? TO_NCHW : [...Array(rank).keys()];
      const pads = [...axes.map((a) => p.data[a * 2]!), ...axes.map((a) => p.data[a * 2 + 1]!)];
      const args = [x.name, this.int64(pads)];
      const attrs: Record<string, AttrValue> = {};
      if (op === 'PadV2') args.push(this.constName(this.constOf(input(2), node, 'constant_values')));
      if (op === 'MirrorPad') attrs.mode = attrS(node.attr?.mode) === 'SYMMETRIC' ? this.unsupported(node, 'mode SYMMETRIC') : 'reflect';
      return set(this.same(x, this.emit('Pad', args, attrs)));
    }
    if (op === 'Reshape') {
      const x = this.asNhwc(this.dyn(input(0), node));
      const shape = this.constOf(input(1), node, 'shape');
      return set({ kind: 'dyn', name: this.emit('Reshape', [x.name, this.int64([...shape.data])]), layout: 'nhwc', dtype: x.dtype });
    }
    if (op === 'Transpose') {
      const x0 = this.dyn(input(0), node);
      const perm = [...this.constOf(input(1), node, 'perm').data];
      // A value held as NCHW that TF transposes NHWC -> NCHW is already laid out as TF's result.
      if (x0.layout === 'nchw' && sameInts(perm, TO_NCHW)) return set({ ...x0, layout: 'nhwc' });
      const x = this.asNhwc(x0);
      const out = this.transpose(x, perm, 'nhwc') as DynValue;
      // ...and TF's NCHW -> NHWC transpose of a value is that value's NCHW form, which a convolution can take as is.
      if (sameInts(perm, TO_NHWC)) this.knownCopy(out.name, 'nchw', x.name);
      return set(out);
    }
    if (op === 'SplitV' || op === 'Split') {
      const splitOp = op === 'Split';
      const x = this.dyn(input(splitOp ? 1 : 0), node);
      let axis = Number(this.constOf(input(splitOp ? 0 : 2), node, 'split_dim').data[0]);
      const n = splitOp ? Number(node.attr?.num_split?.i ?? 1) : this.constOf(input(1), node, 'size_splits').data.length;
      const src = x.layout === 'nchw' ? x : this.asNhwc(x);
      if (x.layout === 'nchw') axis = AXIS_TO_NCHW[(axis + 4) % 4]!;
      const args = [src.name];
      if (!splitOp) args.push(this.int64([...this.constOf(input(1), node, 'size_splits').data]));
      const outs = Array.from({ length: n }, (_, k) => `${node.name}/${k}`);
      // Without a `split` input, opset 17's Split cuts equal parts, one per output (TF's Split).
      const attrs = [toAttribute('axis', axis)];
      this.nodes.push({ name: `Split_${this.counter++}`, opType: 'Split', domain: '', input: args, output: outs, attribute: attrs });
      outs.forEach((o, k) => this.values.set(k === 0 ? node.name : `${node.name}:${k}`, { ...src, name: o }));
      return;
    }
    if (op === 'ConcatV2') {
      const parts = ins.slice(0, -1).map((_, k) => input(k));
      let axis = Number(this.constOf(input(ins.length - 1), node, 'axis').data[0]);
      const dyns = parts.filter((p): p is Extract<Value, { kind: 'dyn' }> => p.kind === 'dyn');
      const nchw = dyns.length === parts.length && dyns.every((d) => d.layout === 'nchw');
      if (nchw) axis = AXIS_TO_NCHW[(axis + 4) % 4]!;
      const names = parts.map((p) => (p.kind === 'const' ? this.constName(p.tensor) : nchw ? p.name : this.asNhwc(p).name));
      const dtype = dyns[0]?.dtype ?? 'float32';
      return set({ kind: 'dyn', name: this.emit('Concat', names, { axis }), layout: nchw ? 'nchw' : 'nhwc', dtype });
    }
    if (op === 'Mean' || op === 'Sum') {
      const x = this.dyn(input(0), node);
      const keep = node.attr?.keep_dims?.b === true;
      let axes = [...this.constOf(input(1), node, 'axes').data];
      // Global pooling (spatial axes, dims dropped) gives [N, C] from either layout: no transpose needed.
      const spatial = sameInts([...axes].sort(), [1, 2]);
      const nchw = x.layout === 'nchw' && (keep || spatial);
      const src = nchw ? x : this.asNhwc(x);
      if (nchw) axes = axes.map((a) => AXIS_TO_NCHW[(a + 4) % 4]!);
      const layout = nchw && keep ? 'nchw' : 'nhwc';
      // Opset 13 moved ReduceSum's axes to an input; ReduceMean keeps them as an attribute until opset 18.
      const out = op === 'Sum'
        ? this.emit('ReduceSum', [src.name, this.int64(axes)], { keepdims: keep ? 1 : 0 })
        : this.emit('ReduceMean', [src.name], { axes, keepdims: keep ? 1 : 0 });
      return set({ kind: 'dyn', name: out, layout, dtype: x.dtype });
    }
    if (op === 'Softmax') {
      const x = this.asNhwc(this.dyn(input(0), node));
      return set(this.same(x, this.emit('Softmax', [x.name], { axis: -1 })));
    }
    if (op === 'ResizeBilinear' || op === 'ResizeNearestNeighbor') {
      this.requireNhwc(node);
      const x = this.asNchw(this.dyn(input(0), node));
      const size = this.constOf(input(1), node, 'size');
      const align = node.attr?.align_corners?.b === true;
      const half = node.attr?.half_pixel_centers?.b === true;
      const mode = align ? 'align_corners' : half ? (op === 'ResizeBilinear' ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric';
      const nc = this.emit('Slice', [this.emit('Shape', [x.name]), this.int64([0]), this.int64([2])]);
      const sizes = this.emit('Concat', [nc, this.int64([...size.data])], { axis: 0 });
      const attrs: Record<string, AttrValue> = { mode: op === 'ResizeBilinear' ? 'linear' : 'nearest', coordinate_transformation_mode: mode };
      if (op === 'ResizeNearestNeighbor') attrs.nearest_mode = align ? 'round_prefer_ceil' : 'floor';
      return set({ kind: 'dyn', name: this.emit('Resize', [x.name, '', '', sizes], attrs), layout: 'nchw', dtype: 'float32' });
    }
    return this.unsupported(node);
  }

  /** The input's shape: the model's own, or the one `opts.inputShape` fixes (which must fit the model's). */
  private inputShape(node: TfjsNode, declared: number[] | undefined): number[] | undefined {
    const fixed = this.opts.inputShape;
    if (!fixed) return declared;
    if (this.inputs.length > 0) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `inputShape fixes the shape of a model's one input, but this model has several (${this.inputs[0]!.name}, ${node.name})`);
    }
    if (declared && (declared.length !== fixed.length || declared.some((d, i) => d >= 0 && d !== fixed[i]))) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `inputShape [${fixed.join(', ')}] does not fit input ${node.name} of shape [${declared.join(', ')}]`);
    }
    return fixed;
  }

  /** The ops graphs exported from JAX (jax2tf) add: logic, selection, broadcasting, einsum, transposed convolution. */
  private convertMore(node: TfjsNode, input: (k: number) => Value): Value | undefined {
    const op = node.op;
    if (op === 'Square') {
      const x = this.dyn(input(0), node);
      return this.same(x, this.emit('Mul', [x.name, x.name]));
    }
    if (op === 'NotEqual') {
      const eq = this.binary('Equal', input(0), input(1), node) as DynValue;
      return { ...eq, name: this.emit('Not', [eq.name]), dtype: 'bool' };
    }
    if (op === 'LogicalAnd' || op === 'LogicalOr') {
      return { ...(this.binary(op === 'LogicalAnd' ? 'And' : 'Or', input(0), input(1), node) as DynValue), dtype: 'bool' };
    }
    // TF's Select (v1) broadcasts a vector condition over the first axis, which Where does not: only SelectV2.
    if (op === 'SelectV2') {
      const [c, a, b] = [input(0), input(1), input(2)];
      const dtype = a.kind === 'dyn' ? a.dtype : b.kind === 'dyn' ? b.dtype : a.tensor.dtype;
      return { kind: 'dyn', name: this.emit('Where', [this.nhwcName(c), this.nhwcName(a), this.nhwcName(b)]), layout: 'nhwc', dtype };
    }
    if (op === 'BroadcastTo') {
      const x = this.asNhwc(this.dyn(input(0), node));
      return this.same(x, this.emit('Expand', [x.name, this.int64([...this.constOf(input(1), node, 'shape').data])]));
    }
    if (op === 'Einsum') return this.einsum(node, input(0), input(1));
    if (op === 'Conv2DBackpropInput') return this.convTranspose(node, input);
    return undefined;
  }

  private einsum(node: TfjsNode, a: Value, b: Value): Value {
    const equation = attrS(node.attr?.equation) ?? '';
    if ((node.input ?? []).filter((i) => !i.startsWith('^')).length !== 2) return this.unsupported(node, 'an einsum of other than two operands');
    // A dense layer as JAX writes it ('abcg,gf->abcf'): the last axis times a constant matrix is a MatMul.
    const dense = /^([a-z]*)([a-z]),\2([a-z])->\1\3$/.exec(equation);
    if (dense && !dense[1]!.includes(dense[3]!) && a.kind === 'dyn' && b.kind === 'const' && b.tensor.shape.length === 2) {
      const x = this.asNhwc(a);
      return this.same(x, this.emit('MatMul', [x.name, this.constName(b.tensor)]));
    }
    const dtype = a.kind === 'dyn' ? a.dtype : b.kind === 'dyn' ? b.dtype : 'float32';
    return { kind: 'dyn', name: this.emit('Einsum', [this.nhwcName(a), this.nhwcName(b)], { equation }), layout: 'nhwc', dtype };
  }

  /** TF's gradient of a convolution, which Keras and Flax use as a transposed convolution. */
  private convTranspose(node: TfjsNode, input: (k: number) => Value): Value {
    this.requireNhwc(node);
    const outShape = [...this.constOf(input(0), node, 'input_sizes').data].map(Number);
    const filter = this.constOf(input(1), node, 'filter');
    const x = this.asNchw(this.dyn(input(2), node));
    const padding = attrS(node.attr?.padding);
    if (padding !== 'SAME' && padding !== 'VALID') return this.unsupported(node, `padding ${padding}`);
    const s = attrInts(node.attr?.strides);
    const d = attrInts(node.attr?.dilations);
    const kernel = filter.shape.slice(0, 2);
    // TF's filter is [H, W, out, in]; ConvTranspose's weight is [in, out, H, W].
    const w = permute(filter, [3, 2, 0, 1]);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: kernel,
      strides: [s[1] ?? 1, s[2] ?? 1],
      dilations: [d[1] ?? 1, d[2] ?? 1],
      ...transposedPads(padding, [outShape[1]!, outShape[2]!], kernel, [s[1] ?? 1, s[2] ?? 1], [d[1] ?? 1, d[2] ?? 1]),
    };
    return { kind: 'dyn', name: this.emit('ConvTranspose', [x.name, this.constName(w)], attrs), layout: 'nchw', dtype: 'float32' };
  }

  /** A value's ONNX name in TF's layout, a constant's initializer included. */
  private nhwcName(v: Value): string {
    return v.kind === 'const' ? this.constName(v.tensor) : this.asNhwc(v).name;
  }

  private conv(node: TfjsNode, ins: string[]): Value {
    this.requireNhwc(node);
    const x = this.asNchw(this.dyn(this.get(ins[0] ?? '', node.name), node));
    const filter = this.constOf(this.get(ins[1] ?? '', node.name), node, 'filter');
    const depthwise = node.op.includes('Depthwise');
    const [kh, kw, cin, cout] = filter.shape as [number, number, number, number];
    // TF keeps filters HWIO (depthwise: H, W, in, multiplier); ONNX wants OIHW (depthwise: in*mult, 1, H, W, group = in).
    const w = depthwise ? permute(filter, [2, 3, 0, 1], [cin * cout, 1, kh, kw]) : permute(filter, [3, 2, 0, 1]);
    const s = attrInts(node.attr?.strides);
    const d = attrInts(node.attr?.dilations);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [kh, kw],
      strides: [s[1] ?? 1, s[2] ?? 1],
      dilations: [d[1] ?? 1, d[2] ?? 1],
      ...this.padding(node, [kh, kw], [d[1] ?? 1, d[2] ?? 1], [s[1] ?? 1, s[2] ?? 1]),
    };
    if (depthwise) attrs.group = cin;
    const args = [x.name, this.constName(w)];
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map(b64);
    let rest = ins.slice(2);
    if (fused[0] === 'BiasAdd') {
      args.push(this.constName(this.constOf(this.get(rest[0] ?? '', node.name), node, 'bias')));
      rest = rest.slice(1);
    } else if (fused.length > 0 && fused[0] !== 'BiasAdd') {
      this.unsupported(node, `fused_ops ${fused.join(',')}`);
    }
    const out = this.activations(node, fused.slice(1), this.emit('Conv', args, attrs), rest, true);
    return { kind: 'dyn', name: out, layout: 'nchw', dtype: 'float32' };
  }

  /** Evaluates a node whose inputs are all constants (const-eval.ts), shape arithmetic above all. */
  private fold(node: TfjsNode, ins: string[]): ConstTensor | undefined {
    const vals = ins.map((i) => this.get(i, node.name));
    if (vals.length === 0 || vals.some((v) => v.kind !== 'const')) return undefined;
    return evaluate(node, vals.map((v) => (v as { tensor: ConstTensor }).tensor));
  }

  private cast(v: Value, to: ElementType): DynValue {
    if (v.kind === 'const') {
      if (to === 'int64') throw new TypeError('cannot hold an int64 constant');
      return { kind: 'dyn', name: this.constName(castConst(v.tensor, to)), layout: 'nhwc', dtype: to };
    }
    if (v.dtype === to) return v;
    return { kind: 'dyn', name: this.emit('Cast', [v.name], { to: ONNX_DTYPES[to] }), layout: v.layout, dtype: to };
  }

  private stridedSlice(node: TfjsNode, x: DynValue, b: Value, e: Value, st: Value): Value {
    const begin = [...this.constOf(b, node, 'begin').data];
    const end = [...this.constOf(e, node, 'end').data];
    const step = [...this.constOf(st, node, 'strides').data];
    const mask = (n: string) => Number(node.attr?.[n]?.i ?? 0);
    if (mask('ellipsis_mask') || mask('new_axis_mask')) return this.unsupported(node, 'ellipsis_mask / new_axis_mask');
    const BIG = 2 ** 31 - 1;
    const starts: number[] = [];
    const ends: number[] = [];
    const squeeze: number[] = [];
    for (let i = 0; i < begin.length; i++) {
      const s = step[i] ?? 1;
      if (mask('shrink_axis_mask') & (1 << i)) {
        starts.push(begin[i]!);
        ends.push(begin[i] === -1 ? BIG : begin[i]! + 1);
        squeeze.push(i);
        continue;
      }
      starts.push(mask('begin_mask') & (1 << i) ? (s > 0 ? 0 : BIG) : begin[i]!);
      ends.push(mask('end_mask') & (1 << i) ? (s > 0 ? BIG : -BIG - 1) : end[i]!);
    }
    const axes = begin.map((_, i) => i);
    let out = this.emit('Slice', [x.name, this.int64(starts), this.int64(ends), this.int64(axes), this.int64(step)]);
    if (squeeze.length) out = this.emit('Squeeze', [out, this.int64(squeeze)]);
    return this.same(x, out);
  }

  /** The activations TF fuses after a convolution or a MatMul (`fused_ops` past BiasAdd). */
  private activations(node: TfjsNode, fused: string[], input: string, rest: string[], nchw: boolean): string {
    let out = input;
    for (const f of fused) {
      if (f === 'Relu') out = this.emit('Relu', [out]);
      else if (f === 'Relu6') out = this.emit('Clip', [out, this.scalar(0), this.scalar(6)]);
      else if (f === 'LeakyRelu') out = this.emit('LeakyRelu', [out], { alpha: { f: attrF(node.attr?.leakyrelu_alpha, 0.2) } });
      else if (f === 'Elu') out = this.emit('Elu', [out]);
      else if (f === 'Sigmoid') out = this.emit('Sigmoid', [out]);
      else if (f === 'Tanh') out = this.emit('Tanh', [out]);
      else if (f === 'Prelu') {
        const alpha = this.constOf(this.get(rest[0] ?? '', node.name), node, 'alpha');
        out = this.emit('PRelu', [out, this.constName(nchw ? channelsFirst(alpha) : alpha)]);
      } else this.unsupported(node, `fused op ${f}`);
    }
    return out;
  }

  private matMul(node: TfjsNode, ins: string[]): Value {
    const a = this.asNhwc(this.dyn(this.get(ins[0] ?? '', node.name), node));
    const bv = this.get(ins[1] ?? '', node.name);
    const ta = node.attr?.transpose_a?.b === true;
    const tb = node.attr?.transpose_b?.b === true;
    const aName = ta ? this.emit('Transpose', [a.name], { perm: [1, 0] }) : a.name;
    let bName: string;
    if (bv.kind === 'const') bName = this.constName(tb ? permute(bv.tensor, [1, 0]) : bv.tensor);
    else bName = tb ? this.emit('Transpose', [this.asNhwc(bv).name], { perm: [1, 0] }) : this.asNhwc(bv).name;
    let out = this.emit('MatMul', [aName, bName]);
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map(b64);
    let rest = ins.slice(2);
    if (fused[0] === 'BiasAdd') {
      out = this.emit('Add', [out, this.constName(this.constOf(this.get(rest[0] ?? '', node.name), node, 'bias'))]);
      rest = rest.slice(1);
    } else if (fused.length > 0) this.unsupported(node, `fused_ops ${fused.join(',')}`);
    return { kind: 'dyn', name: this.activations(node, fused.slice(1), out, rest, false), layout: 'nhwc', dtype: a.dtype };
  }

  private padding(node: TfjsNode, kernel?: number[], dilations?: number[], strides?: number[]): Record<string, AttrValue> {
    const padding = attrS(node.attr?.padding);
    if (padding === 'SAME' && kernel && dilations && strides && dilations.some((d) => d > 1)) {
      // onnxruntime refuses auto_pad with dilations; at stride 1 SAME's padding does not depend on the input size.
      if (strides.some((s) => s > 1)) return this.unsupported(node, 'SAME padding with both dilation and stride > 1');
      const total = kernel.map((k, i) => (k - 1) * dilations[i]!);
      const before = total.map((p) => Math.floor(p / 2));
      return { pads: [...before, ...total.map((p, i) => p - before[i]!)] };
    }
    // TF's SAME puts the odd pixel at the end, which is ONNX's SAME_UPPER.
    if (padding === 'SAME') return { auto_pad: 'SAME_UPPER' };
    if (padding === 'VALID') return { auto_pad: 'VALID' };
    if (padding === 'EXPLICIT') {
      const p = attrInts(node.attr?.explicit_paddings);
      return { pads: [p[2] ?? 0, p[4] ?? 0, p[3] ?? 0, p[5] ?? 0] };
    }
    return this.unsupported(node, `padding ${padding}`);
  }

  private binary(onnxOp: string, a: Value, b: Value, node: TfjsNode): Value {
    if (a.kind === 'const' && b.kind === 'const') return this.unsupported(node, 'two constant inputs');
    const dyn = (a.kind === 'dyn' ? a : b) as Extract<Value, { kind: 'dyn' }>;
    const other = a.kind === 'dyn' ? b : a;
    let layout: 'nhwc' | 'nchw' = 'nhwc';
    let names: [string, string];
    if (other.kind === 'const') {
      const t = other.tensor;
      const scalarLike = t.shape.length === 0 || t.data.length === 1;
      // [C], [1, 1, C] and [1, 1, 1, C] all broadcast over TF's channel axis, which NCHW holds as [C, 1, 1].
      const perChannel = t.shape.length >= 1 && t.shape.length <= 4 && t.shape.slice(0, -1).every((d) => d === 1);
      if (dyn.layout === 'nchw' && (scalarLike || perChannel)) {
        layout = 'nchw';
        const c = scalarLike ? this.constName(t) : this.constName({ ...t, shape: [t.data.length, 1, 1] });
        names = a.kind === 'dyn' ? [dyn.name, c] : [c, dyn.name];
      } else {
        const x = this.asNhwc(dyn).name;
        const c = this.constName(t);
        names = a.kind === 'dyn' ? [x, c] : [c, x];
      }
    } else {
      const ad = a as Extract<Value, { kind: 'dyn' }>;
      if (ad.layout === 'nchw' && other.layout === 'nchw') {
        layout = 'nchw';
        names = [ad.name, other.name];
      } else names = [this.asNhwc(ad).name, this.asNhwc(other).name];
    }
    return { kind: 'dyn', name: this.emit(onnxOp, names), layout, dtype: dyn.dtype };
  }

  private requireNhwc(node: TfjsNode): void {
    const f = attrS(node.attr?.data_format);
    if (f && f !== 'NHWC') this.unsupported(node, `data_format ${f}`);
  }

  private get(tfName: string, consumer: string): Value {
    const key = tfName.replace(/^\^/, '').replace(/:0$/, '');
    const v = this.values.get(key);
    if (!v) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `node ${consumer} reads ${tfName}, which the converter did not produce`);
    return v;
  }

  private dyn(v: Value, node: TfjsNode): Extract<Value, { kind: 'dyn' }> {
    if (v.kind === 'const') return { kind: 'dyn', name: this.constName(v.tensor), layout: 'nhwc', dtype: v.tensor.dtype };
    void node;
    return v;
  }

  private constOf(v: Value, node: TfjsNode, what: string): ConstTensor {
    if (v.kind !== 'const') return this.unsupported(node, `a computed ${what} (only constants are supported)`);
    return v.tensor;
  }

  private same(x: Extract<Value, { kind: 'dyn' }>, name: string): Value {
    return { kind: 'dyn', name, layout: x.layout, dtype: x.dtype };
  }

  private transpose(x: Extract<Value, { kind: 'dyn' }>, perm: number[], layout: 'nhwc' | 'nchw'): Value {
    return { kind: 'dyn', name: this.emit('Transpose', [x.name], { perm }), layout, dtype: x.dtype };
  }

  private unsupported(node: TfjsNode, what?: string): never {
    const detail = what ? ` (${what})` : '';
    throw new LoupeError(
      'LOUPE_ERR_CONVERT_UNSUPPORTED_OP',
      `the converter does not support op ${node.op}${detail} at node ${node.name}`,
      { details: { op: node.op, node: node.name } },
    );
  }
}

type DynValue = Extract<Value, { kind: 'dyn' }>;

/**
 * ConvTranspose's pads for TF's Conv2DBackpropInput of output size `out`: the forward convolution of
 * `out` (SAME or VALID) gives the input size, and its padding (the odd pixel at the end, as TF pads) is
 * what the transposed one crops. output_padding adds the rows a VALID forward convolution left unread.
 */
function transposedPads(padding: 'SAME' | 'VALID', out: number[], kernel: number[], strides: number[], dilations: number[]): Record<string, AttrValue> {
  const begin: number[] = [];
  const end: number[] = [];
  const extra: number[] = [];
  out.forEach((o, k) => {
    const span = (kernel[k]! - 1) * dilations[k]! + 1;
    const s = strides[k]!;
    const input = padding === 'SAME' ? Math.ceil(o / s) : Math.ceil((o - span + 1) / s);
    const full = (input - 1) * s + span;
    const total = padding === 'SAME' ? Math.max(full - o, 0) : 0;
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
    extra.push(o - (full - total));
  });
  return { pads: [...begin, ...end], ...(extra.some((e) => e > 0) ? { output_padding: extra } : {}) };
}

/** A per-channel constant (TF broadcasts over the last axis) laid out for an NCHW value: [C, 1, 1]. */
function channelsFirst(t: ConstTensor): ConstTensor {
  return { ...t, shape: [t.data.length, 1, 1] };
}

function inlineConst(node: TfjsNode): ConstTensor | undefined {
  const t = node.attr?.value?.tensor as { dtype?: string; tensorShape?: { dim?: { size?: string }[] }; intVal?: number[]; floatVal?: number[] } | undefined;
  if (!t) return undefined;
  const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size ?? 0));
  const count = shape.reduce((a, b) => a * b, 1);
  if (t.dtype === 'DT_INT32') return { dtype: 'int32', shape, data: Int32Array.from({ length: count }, (_, i) => t.intVal?.[i] ?? t.intVal?.[0] ?? 0) };
  return { dtype: 'float32', shape, data: Float32Array.from({ length: count }, (_, i) => t.floatVal?.[i] ?? t.floatVal?.[0] ?? 0) };
}

function baseName(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** TF.js graphs are usually in order already; sort anyway so that a node never reads an undefined value. */
function topoSort(nodes: TfjsNode[]): TfjsNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const done = new Set<string>();
  const out: TfjsNode[] = [];
  const visit = (n: TfjsNode) => {
    const stack: [TfjsNode, number][] = [[n, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, k] = top;
      if (done.has(node.name)) { stack.pop(); continue; }
      const ins = node.input ?? [];
      if (k < ins.length) {
        top[1]++;
        const dep = byName.get(baseName(ins[k]!));
        if (dep && !done.has(dep.name)) stack.push([dep, 0]);
      } else {
        done.add(node.name);
        out.push(node);
        stack.pop();
      }
    }
  };
  for (const n of nodes) visit(n);
  return out;
}
