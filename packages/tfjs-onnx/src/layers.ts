import { LoupeError } from '@loupe/contracts';
import { readKerasModel, type KerasModel, type LayerCall } from './keras-topology.js';
import { isUpscaleLayer, upscaleLayer } from './upscale-layers.js';
import { loadTfjsArtifacts, type ConstTensor } from './tfjs-model.js';
import {
  AXIS_TO_NCHW, OnnxGraph, permute,
  type AttrValue, type ConvertOptions, type ConvertResult, type ElementType, type TensorSignature,
} from './onnx-graph.js';

/**
 * Converts a TF.js layers model (a Keras model config and its weights) to ONNX (opset 17).
 *
 * `source` is a model.json beside its weight shards, or an nsfwjs-style `model.min.js` bundle with
 * its `group1-shard*of*.min.js` weight bundles beside it. `opts.outputs` names layers whose outputs
 * become the graph's outputs instead of the model's own (e.g. the pooling layer of a classifier, for
 * a feature vector); each output is named after its layer.
 *
 * The graph takes the model's input as Keras has it (NHWC for images) and gives every output in
 * Keras' layout. Between convolutions values stay NCHW (what ONNX convolutions and pooling take), so a
 * chain of them needs no transposes; Flatten and Dense see Keras' NHWC order, so Dense weights line up.
 * Batch normalisation after a convolution or Dense layer is folded into its weights.
 */
export async function convertLayersModel(source: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  const { json, format, weights } = await loadTfjsArtifacts(source);
  if (format !== 'layers') {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `${source} is a TF.js graph model, not a layers model: convert it with convertGraphModel`);
  }
  const topology = json.modelTopology as { model_config?: { class_name?: string; config?: unknown }; class_name?: string; config?: unknown };
  const model = readKerasModel(topology.model_config ?? topology);
  return new LayersConverter(model, weights, opts.outputs).run();
}

/**
 * A Keras tensor as an ONNX value. `shape` is Keras' (batch first, channels last; -1 where unknown,
 * absent where not worked out); `layout` says whether the ONNX value holds a rank-4 tensor as Keras
 * does (`nhwc`) or transposed to `nchw`.
 */
interface Value {
  name: string;
  layout: 'nhwc' | 'nchw';
  shape: number[] | undefined;
  dtype: ElementType;
}

/** A convolution's ONNX weights and bias, before a following batch normalisation is folded in. */
interface ConvWeights {
  w: ConstTensor;
  b: ConstTensor | undefined;
}

const DROPOUT = new Set(['Dropout', 'SpatialDropout1D', 'SpatialDropout2D', 'SpatialDropout3D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ActivityRegularization']);
const FOLDS_BN = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Dense']);
const MERGE: Record<string, string> = { Add: 'Add', Multiply: 'Mul', Subtract: 'Sub', Maximum: 'Max', Minimum: 'Min', Average: 'Mean' };

class LayersConverter extends OnnxGraph {
  private readonly values = new Map<string, Value>();
  /** Batch normalisation calls folded into the layer before them: BN call output key -> that layer's output key. */
  private readonly folded = new Map<string, string>();
  /** For a layer whose output one batch normalisation folds into: that BN call. */
  private readonly foldInto = new Map<string, LayerCall>();
  private readonly outputKeys: { key: string; name: string }[];
  private readonly scalars = new Map<number, string>();

  constructor(
    private readonly model: KerasModel,
    private readonly weights: Map<string, ConstTensor>,
    requested?: string[],
  ) {
    super();
    this.outputKeys = this.resolveOutputs(requested);
    for (const o of this.outputKeys) this.reserved.add(o.name);
    for (const i of model.inputs) this.reserved.add(i.name);
    this.planFolds();
  }

  run(): ConvertResult {
    const ops: Record<string, number> = {};
    for (const c of this.model.calls) if (c.nodeIndex === 0) ops[c.className] = (ops[c.className] ?? 0) + 1;
    // Only what the outputs read is converted: a model cut before a layer the converter lacks still converts.
    const needed = this.needed();
    for (const call of this.model.calls) if (needed.has(call.output)) this.convertCall(call);
    const outputs: TensorSignature[] = [];
    for (const { key, name } of this.outputKeys) {
      const v = this.asNhwc(this.get(key, name));
      this.emit('Identity', [v.name], {}, name);
      outputs.push({ name, dtype: v.dtype, ...(v.shape ? { shape: v.shape } : {}) });
    }
    return this.finish('tfjs-layers', outputs, ops);
  }

  /** Output keys of the calls the outputs depend on, and the inputs (the graph keeps the model's signature). */
  private needed(): Set<string> {
    const producer = new Map(this.model.calls.map((c) => [c.output, c]));
    const needed = new Set<string>();
    const stack = [...this.outputKeys.map((o) => o.key), ...this.model.inputs.map((i) => i.key)];
    while (stack.length > 0) {
      const key = stack.pop()!;
      if (needed.has(key)) continue;
      needed.add(key);
      stack.push(...(producer.get(key)?.inputs ?? []));
    }
    return needed;
  }

  /** The model's own outputs, or the layers asked for; each ONNX output is named after its layer. */
  private resolveOutputs(requested?: string[]): { key: string; name: string }[] {
    const inputNames = new Set(this.model.inputs.map((i) => i.name));
    // An ONNX output cannot reuse the input's name.
    const nameFor = (layer: string) => (inputNames.has(layer) ? `${layer}_output` : layer);
    if (!requested) {
      const seen = new Map<string, number>();
      return this.model.outputs.map((key) => {
        const layer = key.split(':')[0]!;
        const n = seen.get(layer) ?? 0;
        seen.set(layer, n + 1);
        return { key, name: n === 0 ? nameFor(layer) : `${layer}_${n}` };
      });
    }
    if (requested.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'outputs is empty: name at least one layer');
    const unknown = requested.filter((r) => !this.model.layers.has(r));
    if (unknown.length > 0) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `the model has no layer named ${unknown.join(', ')} (asked for as an output)`, { details: { outputs: unknown } });
    }
    return [...new Set(requested)].map((r) => ({ key: this.model.layers.get(r)!.output, name: nameFor(r) }));
  }

  /**
   * Batch normalisation right after a convolution or Dense layer folds into its weights when nothing
   * else reads the layer's output: the layer is called once, has no activation of its own, and is not
   * an output.
   */
  private planFolds(): void {
    const readers = new Map<string, number>();
    for (const c of this.model.calls) for (const i of c.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
    const outputs = new Set(this.outputKeys.map((o) => o.key));
    const producer = new Map(this.model.calls.map((c) => [c.output, c]));
    for (const bn of this.model.calls) {
      if (bn.className !== 'BatchNormalization' || bn.inputs.length !== 1) continue;
      const src = producer.get(bn.inputs[0]!);
      if (!src || !FOLDS_BN.has(src.className) || src.callCount !== 1) continue;
      if (readers.get(src.output) !== 1 || outputs.has(src.output)) continue;
      if (activationName(src.config.activation) !== 'linear') continue;
      if (!isLastAxis(bn.config.axis)) continue;
      this.foldInto.set(src.output, bn);
    }
  }

  private convertCall(call: LayerCall): void {
    const set = (v: Value): void => {
      this.values.set(call.output, v);
    };
    const input = (k = 0): Value => this.get(call.inputs[k] ?? '', call.name);
    const cfg = call.config;
    const cls = call.className;

    if (cls === 'InputLayer') {
      const spec = this.model.inputs.find((i) => i.key === call.output);
      if (!spec) return; // an InputLayer that is not a model input (a nested model's): nothing reads it
      const dtype: ElementType = spec.dtype === 'int32' ? 'int32' : 'float32';
      if (spec.dtype !== 'float32' && spec.dtype !== 'int32') this.unsupported(call, `input dtype ${spec.dtype}`);
      this.inputs.push({ name: spec.name, dtype, ...(spec.shape ? { shape: spec.shape } : {}) });
      return set({ name: spec.name, layout: 'nhwc', shape: spec.shape, dtype });
    }
    if (DROPOUT.has(cls)) return set(input());
    if (cls === 'BatchNormalization') {
      const into = this.folded.get(call.output);
      if (into) return set(this.get(into, call.name));
      return set(this.batchNorm(call, input()));
    }
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') return set(this.conv(call, input()));
    if (cls === 'Dense') return set(this.dense(call, input()));
    if (cls === 'Activation') return set(this.activation(call, activationName(cfg.activation), input()));
    if (cls === 'ReLU') return set(this.relu(call, input()));
    if (cls === 'LeakyReLU') {
      const x = input();
      const alpha = num(cfg.alpha ?? cfg.negative_slope, 0.3);
      return set(this.same(x, this.emit('LeakyRelu', [x.name], { alpha: { f: alpha } })));
    }
    if (cls === 'ELU') {
      const x = input();
      return set(this.same(x, this.emit('Elu', [x.name], { alpha: { f: num(cfg.alpha, 1) } })));
    }
    if (cls === 'Softmax') return set(this.softmax(call, input(), cfg.axis, 'Softmax'));
    if (cls === 'PReLU') return set(this.prelu(call, input()));
    if (cls === 'ZeroPadding2D') return set(this.zeroPad(call, input()));
    if (cls === 'MaxPooling2D' || cls === 'AveragePooling2D') return set(this.pool(call, input()));
    if (cls === 'GlobalAveragePooling2D' || cls === 'GlobalMaxPooling2D') return set(this.globalPool(call, input()));
    if (cls === 'Flatten') return set(this.flatten(call, input()));
    if (cls === 'Reshape') return set(this.reshape(call, input()));
    if (cls === 'Permute') {
      const x = this.asNhwc(input());
      const dims = ints(cfg.dims, call, 'dims');
      const perm = [0, ...dims];
      return set({ name: this.emit('Transpose', [x.name], { perm }), layout: 'nhwc', shape: x.shape && perm.map((p) => x.shape![p]!), dtype: x.dtype });
    }
    if (cls in MERGE) return set(this.merge(call, MERGE[cls]!, call.inputs.map((_, k) => input(k))));
    if (cls === 'Concatenate') return set(this.concat(call, call.inputs.map((_, k) => input(k))));
    if (isUpscaleLayer(cls)) {
      const graph = {
        emit: (op: string, ins: string[], attrs?: Record<string, AttrValue>) => this.emit(op, ins, attrs),
        constName: (t: ConstTensor) => this.constName(t),
        scalar: (v: number) => this.scalar(v),
        asNchw: (x: Value) => this.imageAsNchw(x, call),
        unsupported: (what?: string) => this.unsupported(call, what),
      };
      return set(upscaleLayer(graph, cls, cfg, input()));
    }
    return this.unsupported(call);
  }

  // --- convolutions and dense layers -----------------------------------------------------------

  private conv(call: LayerCall, x0: Value): Value {
    const cfg = call.config;
    this.channelsLast(call);
    const x = this.imageAsNchw(x0, call);
    const cls = call.className;
    const k = pair(cfg.kernel_size, call, 'kernel_size');
    const s = pair(cfg.strides ?? 1, call, 'strides');
    const d = pair(cfg.dilation_rate ?? 1, call, 'dilation_rate');
    const useBias = cfg.use_bias !== false;
    const pads = this.padding(call, x.shape, k, s, d);
    const spatial: Record<string, AttrValue> = { kernel_shape: k, strides: s, dilations: d, ...pads };
    const shape = x.shape && convShape(x.shape, k, s, d, String(cfg.padding ?? 'valid'));
    let out: string;
    let channels: number;
    if (cls === 'Conv2D') {
      const kernel = this.weight(call, 'kernel', 4); // [kh, kw, in / groups, filters]
      const groups = num(cfg.groups, 1);
      const cw = this.withBn(call, { w: permute(kernel, [3, 2, 0, 1]), b: useBias ? this.weight(call, 'bias', 1) : undefined });
      channels = kernel.shape[3]!;
      out = this.emit('Conv', [x.name, this.constName(cw.w), ...(cw.b ? [this.constName(cw.b)] : [])], { ...spatial, ...(groups > 1 ? { group: groups } : {}) });
    } else {
      const dk = this.weight(call, 'depthwise_kernel', 4); // [kh, kw, in, multiplier]
      const [kh, kw, cin, mult] = dk.shape as [number, number, number, number];
      // ONNX's grouped convolution: output channel c * multiplier + m, as TF orders a depthwise output.
      const dw = permute(dk, [2, 3, 0, 1], [cin * mult, 1, kh, kw]);
      if (cls === 'DepthwiseConv2D') {
        const cw = this.withBn(call, { w: dw, b: useBias ? this.weight(call, 'bias', 1) : undefined });
        channels = cin * mult;
        out = this.emit('Conv', [x.name, this.constName(cw.w), ...(cw.b ? [this.constName(cw.b)] : [])], { ...spatial, group: cin });
      } else {
        // SeparableConv2D: the depthwise step takes strides, dilation and padding; a 1x1 pointwise step follows.
        const pk = this.weight(call, 'pointwise_kernel', 4); // [1, 1, in * multiplier, filters]
        const cw = this.withBn(call, { w: permute(pk, [3, 2, 0, 1]), b: useBias ? this.weight(call, 'bias', 1) : undefined });
        channels = pk.shape[3]!;
        const mid = this.emit('Conv', [x.name, this.constName(dw)], { ...spatial, group: cin });
        out = this.emit('Conv', [mid, this.constName(cw.w), ...(cw.b ? [this.constName(cw.b)] : [])], { kernel_shape: [1, 1] });
      }
    }
    const v: Value = { name: out, layout: 'nchw', shape: shape && [shape[0]!, shape[1]!, shape[2]!, channels], dtype: 'float32' };
    return this.activation(call, activationName(cfg.activation), v);
  }

  private dense(call: LayerCall, x0: Value): Value {
    const x = this.asNhwc(x0);
    const kernel = this.weight(call, 'kernel', 2); // [in, units]
    const cw = this.withBn(call, { w: kernel, b: call.config.use_bias !== false ? this.weight(call, 'bias', 1) : undefined });
    let out = this.emit('MatMul', [x.name, this.constName(cw.w)]);
    if (cw.b) out = this.emit('Add', [out, this.constName(cw.b)]);
    const units = kernel.shape[1]!;
    const v: Value = { name: out, layout: 'nhwc', shape: x.shape && [...x.shape.slice(0, -1), units], dtype: 'float32' };
    return this.activation(call, activationName(call.config.activation), v);
  }

  /**
   * Folds the batch normalisation planned after `call` into its weights: per output channel o,
   * w[o] * s[o] and b[o] * s[o] + t[o], with s = gamma / sqrt(variance + epsilon) and t = beta - mean * s.
   * `w` is OIHW (axis 0 is the output channel) for convolutions, [in, units] for Dense.
   */
  private withBn(call: LayerCall, cw: ConvWeights): ConvWeights {
    const bn = this.foldInto.get(call.output);
    if (!bn) return cw;
    const { scale, shift } = this.bnParams(bn);
    const dense = call.className === 'Dense';
    const channels = dense ? cw.w.shape[1]! : cw.w.shape[0]!;
    if (scale.length !== channels) this.unsupported(bn, `${scale.length} channels after a layer with ${channels}`);
    const per = cw.w.data.length / channels;
    const w = new Float32Array(cw.w.data.length);
    for (let i = 0; i < w.length; i++) w[i] = Number(cw.w.data[i]) * scale[dense ? i % channels : Math.floor(i / per)]!;
    const b = new Float32Array(channels);
    for (let o = 0; o < channels; o++) b[o] = (cw.b ? Number(cw.b.data[o]) : 0) * scale[o]! + shift[o]!;
    this.folded.set(bn.output, call.output);
    return { w: { dtype: 'float32', shape: cw.w.shape, data: w }, b: { dtype: 'float32', shape: [channels], data: b } };
  }

  /** Inference-time batch normalisation as y = x * scale + shift, per channel (computed in double). */
  private bnParams(bn: LayerCall): { scale: Float64Array; shift: Float64Array } {
    const cfg = bn.config;
    const mean = this.weight(bn, 'moving_mean', 1);
    const variance = this.weight(bn, 'moving_variance', 1);
    const gamma = cfg.scale !== false ? this.weight(bn, 'gamma', 1) : undefined;
    const beta = cfg.center !== false ? this.weight(bn, 'beta', 1) : undefined;
    const eps = num(cfg.epsilon, 1e-3);
    const n = mean.data.length;
    const scale = new Float64Array(n);
    const shift = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      scale[c] = (gamma ? Number(gamma.data[c]) : 1) / Math.sqrt(Number(variance.data[c]) + eps);
      shift[c] = (beta ? Number(beta.data[c]) : 0) - Number(mean.data[c]) * scale[c]!;
    }
    return { scale, shift };
  }

  private batchNorm(call: LayerCall, x: Value): Value {
    const rank = x.shape?.length;
    if (!isLastAxis(call.config.axis, rank)) this.unsupported(call, `axis ${JSON.stringify(call.config.axis)} (only the channel axis, last)`);
    const { scale, shift } = this.bnParams(call);
    const mul = this.channelConst(x, Float32Array.from(scale));
    const add = this.channelConst(x, Float32Array.from(shift));
    return this.same(x, this.emit('Add', [this.emit('Mul', [x.name, mul]), add]));
  }

  /** A per-channel constant that broadcasts over `x`'s channel axis: [C] for Keras' layout, [C, 1, 1] for NCHW. */
  private channelConst(x: Value, data: Float32Array): string {
    return this.constName({ dtype: 'float32', shape: x.layout === 'nchw' ? [data.length, 1, 1] : [data.length], data });
  }

  // --- activations ----------------------------------------------------------------------------

  /** Keras' activation functions by name (a Keras 2 string, or the class name TF.js may write). */
  private activation(call: LayerCall, name: string, x: Value): Value {
    const un = (op: string, attrs: Record<string, AttrValue> = {}) => this.same(x, this.emit(op, [x.name], attrs));
    switch (name) {
      case 'linear':
        return x;
      case 'relu':
        return un('Relu');
      case 'relu6':
        return this.same(x, this.emit('Clip', [x.name, this.scalar(0), this.scalar(6)]));
      case 'sigmoid':
        return un('Sigmoid');
      case 'tanh':
        return un('Tanh');
      case 'softmax':
        return this.softmax(call, x, -1, 'Softmax');
      case 'log_softmax':
      case 'logsoftmax':
        return this.softmax(call, x, -1, 'LogSoftmax');
      // Keras 2 and TF.js: clip(0.2 x + 0.5, 0, 1), which is ONNX's default HardSigmoid.
      case 'hard_sigmoid':
      case 'hardsigmoid':
        return un('HardSigmoid', { alpha: { f: 0.2 }, beta: { f: 0.5 } });
      case 'swish':
      case 'silu':
        return this.same(x, this.emit('Mul', [x.name, this.emit('Sigmoid', [x.name])]));
      case 'elu':
        return un('Elu');
      // Keras' selu constants are ONNX's defaults.
      case 'selu':
        return un('Selu');
      case 'softplus':
        return un('Softplus');
      case 'softsign':
        return un('Softsign');
      case 'exponential':
        return un('Exp');
      // x * tanh(softplus(x)); ONNX's Mish needs opset 18.
      case 'mish':
        return this.same(x, this.emit('Mul', [x.name, this.emit('Tanh', [this.emit('Softplus', [x.name])])]));
      // 0.5 x (1 + erf(x / sqrt 2)), as Keras' gelu (approximate = false) and TF.js' 'gelu'.
      case 'gelu': {
        const e = this.emit('Erf', [this.emit('Mul', [x.name, this.scalar(Math.SQRT1_2)])]);
        return this.same(x, this.emit('Mul', [this.emit('Mul', [x.name, this.scalar(0.5)]), this.emit('Add', [e, this.scalar(1)])]));
      }
      default:
        return this.unsupported(call, `activation ${name}`);
    }
  }

  private softmax(call: LayerCall, x: Value, axisCfg: unknown, op: 'Softmax' | 'LogSoftmax'): Value {
    const axis = Array.isArray(axisCfg) && axisCfg.length === 1 ? Number(axisCfg[0]) : num(axisCfg, -1);
    const rank = x.shape?.length;
    const last = axis === -1 || (rank !== undefined && axis === rank - 1);
    if (!last) {
      const v = this.asNhwc(x);
      return this.same(v, this.emit(op, [v.name], { axis }));
    }
    // Keras' last axis is NCHW's axis 1.
    return this.same(x, this.emit(op, [x.name], { axis: x.layout === 'nchw' ? 1 : -1 }));
  }

  /**
   * Keras' ReLU layer: max_value where x >= max_value, x where threshold <= x < max_value, and
   * negative_slope * (x - threshold) below. (TF.js' own ReLU layer reads max_value only; this follows Keras.)
   */
  private relu(call: LayerCall, x: Value): Value {
    const cfg = call.config;
    const max = cfg.max_value === null || cfg.max_value === undefined ? undefined : num(cfg.max_value, Infinity);
    const slope = num(cfg.negative_slope, 0);
    const threshold = num(cfg.threshold, 0);
    let out: string;
    if (threshold === 0 && slope === 0) {
      out = max === undefined ? this.emit('Relu', [x.name]) : this.emit('Clip', [x.name, this.scalar(0), this.scalar(max)]);
      return this.same(x, out);
    }
    if (threshold === 0) out = this.emit('LeakyRelu', [x.name], { alpha: { f: slope } });
    else {
      const below = slope === 0 ? this.scalar(0) : this.emit('Mul', [this.emit('Sub', [x.name, this.scalar(threshold)]), this.scalar(slope)]);
      out = this.emit('Where', [this.emit('GreaterOrEqual', [x.name, this.scalar(threshold)]), x.name, below]);
    }
    if (max !== undefined) out = this.emit('Min', [out, this.scalar(max)]);
    return this.same(x, out);
  }

  /** PReLU's alpha has the input's shape without the batch (1 on shared axes); NCHW wants it [C, H, W]. */
  private prelu(call: LayerCall, x: Value): Value {
    const alpha = this.weight(call, 'alpha');
    const a = x.layout === 'nchw' ? (alpha.shape.length === 3 ? permute(alpha, [2, 0, 1]) : this.unsupported(call, 'alpha rank')) : alpha;
    return this.same(x, this.emit('PRelu', [x.name, this.constName(a)]));
  }

  // --- spatial layers --------------------------------------------------------------------------

  private zeroPad(call: LayerCall, x0: Value): Value {
    this.channelsLast(call);
    const p = call.config.padding;
    let t: number, b: number, l: number, r: number;
    if (typeof p === 'number') [t, b, l, r] = [p, p, p, p];
    else if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'number') [t, b, l, r] = [p[0], p[0], Number(p[1]), Number(p[1])];
    else if (Array.isArray(p) && p.length === 2 && Array.isArray(p[0]) && Array.isArray(p[1])) [[t, b], [l, r]] = p as [[number, number], [number, number]];
    else return this.unsupported(call, `padding ${JSON.stringify(p)}`);
    // Padding feeds a convolution or pooling in practice: pad the NCHW form they take.
    const x = this.imageAsNchw(x0, call);
    const out = this.emit('Pad', [x.name, this.int64([0, 0, t, l, 0, 0, b, r])]);
    const shape = x.shape && [x.shape[0]!, grow(x.shape[1]!, t + b), grow(x.shape[2]!, l + r), x.shape[3]!];
    return { name: out, layout: 'nchw', shape, dtype: x.dtype };
  }

  private pool(call: LayerCall, x0: Value): Value {
    this.channelsLast(call);
    const cfg = call.config;
    const x = this.imageAsNchw(x0, call);
    const k = pair(cfg.pool_size ?? 2, call, 'pool_size');
    const s = pair(cfg.strides ?? k, call, 'strides');
    const attrs: Record<string, AttrValue> = { kernel_shape: k, strides: s, ...this.padding(call, x.shape, k, s, [1, 1]) };
    const avg = call.className === 'AveragePooling2D';
    // Keras / TF average over the in-bounds part of a window only.
    if (avg) attrs.count_include_pad = 0;
    const out = this.emit(avg ? 'AveragePool' : 'MaxPool', [x.name], attrs);
    const shape = x.shape && convShape(x.shape, k, s, [1, 1], String(cfg.padding ?? 'valid'));
    return { name: out, layout: 'nchw', shape, dtype: x.dtype };
  }

  private globalPool(call: LayerCall, x: Value): Value {
    this.channelsLast(call);
    const keep = call.config.keepdims === true;
    const op = call.className === 'GlobalAveragePooling2D' ? 'ReduceMean' : 'ReduceMax';
    // Over H and W: [N, C] from either layout, so no transpose is needed.
    const axes = x.layout === 'nchw' ? [2, 3] : [1, 2];
    const out = this.emit(op, [x.name], { axes, keepdims: keep ? 1 : 0 });
    const n = x.shape?.[0] ?? -1;
    const c = x.shape?.[3] ?? -1;
    return { name: out, layout: keep ? x.layout : 'nhwc', shape: x.shape && (keep ? [n, 1, 1, c] : [n, c]), dtype: x.dtype };
  }

  /** Keras flattens in its own (NHWC) order; an NCHW value with H = W = 1 reads the same either way. */
  private flatten(call: LayerCall, x0: Value): Value {
    if (call.config.data_format === 'channels_first') this.unsupported(call, 'data_format channels_first');
    const oneByOne = x0.layout === 'nchw' && x0.shape?.[1] === 1 && x0.shape[2] === 1;
    const x = oneByOne ? x0 : this.asNhwc(x0);
    if (x.shape?.length === 2) return x;
    const out = this.emit('Flatten', [x.name], { axis: 1 });
    const rest = x.shape?.slice(1);
    const shape = x.shape && rest && [x.shape[0]!, rest.some((d) => d < 0) ? -1 : rest.reduce((a, b) => a * b, 1)];
    return { name: out, layout: 'nhwc', shape, dtype: x.dtype };
  }

  private reshape(call: LayerCall, x0: Value): Value {
    const x = this.asNhwc(x0);
    const target = ints(call.config.target_shape, call, 'target_shape');
    // 0 copies the batch dimension from the input.
    const out = this.emit('Reshape', [x.name, this.int64([0, ...target])]);
    let shape: number[] | undefined;
    if (x.shape && !x.shape.slice(1).some((d) => d < 0)) {
      const size = x.shape.slice(1).reduce((a, b) => a * b, 1);
      const known = target.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
      shape = [x.shape[0]!, ...target.map((d) => (d < 0 ? size / known : d))];
    }
    return { name: out, layout: 'nhwc', shape, dtype: x.dtype };
  }

  private merge(call: LayerCall, op: string, xs: Value[]): Value {
    if (xs.length < 2) this.unsupported(call, `${xs.length} input`);
    if (op === 'Sub' && xs.length !== 2) this.unsupported(call, `${xs.length} inputs`);
    const ranks = new Set(xs.map((x) => x.shape?.length));
    if (ranks.size > 1) this.unsupported(call, 'inputs of different ranks');
    const nchw = xs.every((x) => x.layout === 'nchw');
    const vs = nchw ? xs : xs.map((x) => this.asNhwc(x));
    let out: string;
    if (op === 'Add' || op === 'Mul') {
      out = vs[0]!.name;
      for (const v of vs.slice(1)) out = this.emit(op, [out, v.name]);
    } else out = this.emit(op, vs.map((v) => v.name));
    // Keras merges broadcast: the result takes the larger size on each axis.
    const shapes = vs.map((v) => v.shape);
    const shape = shapes.every((s) => s !== undefined) ? shapes[0]!.map((_, i) => Math.max(...shapes.map((s) => s![i]!))) : undefined;
    return { name: out, layout: vs[0]!.layout, shape, dtype: vs[0]!.dtype };
  }

  private concat(call: LayerCall, xs: Value[]): Value {
    const rank = xs[0]?.shape?.length;
    let axis = num(call.config.axis, -1);
    if (axis < 0) {
      if (rank === undefined) this.unsupported(call, 'an input of unknown rank');
      axis += rank;
    }
    const nchw = rank === 4 && xs.every((x) => x.layout === 'nchw');
    const vs = nchw ? xs : xs.map((x) => this.asNhwc(x));
    const out = this.emit('Concat', vs.map((v) => v.name), { axis: nchw ? AXIS_TO_NCHW[axis]! : axis });
    const shapes = vs.map((v) => v.shape);
    const shape = shapes.every((s) => s !== undefined)
      ? shapes[0]!.map((d, i) => (i === axis ? (shapes.some((s) => s![i]! < 0) ? -1 : shapes.reduce((a, s) => a + s![i]!, 0)) : d))
      : undefined;
    return { name: out, layout: nchw ? 'nchw' : 'nhwc', shape, dtype: vs[0]!.dtype };
  }

  /**
   * Keras' `same` is TF's SAME: the odd pixel of padding goes at the end, ONNX's SAME_UPPER.
   * onnxruntime refuses auto_pad with dilations, so a dilated SAME gets explicit pads (from the input
   * size where strides > 1).
   */
  private padding(call: LayerCall, shape: number[] | undefined, k: number[], s: number[], d: number[]): Record<string, AttrValue> {
    const padding = String(call.config.padding ?? 'valid');
    if (padding === 'valid') return { auto_pad: 'VALID' };
    if (padding !== 'same') return this.unsupported(call, `padding ${padding}`);
    if (d.every((v) => v === 1)) return { auto_pad: 'SAME_UPPER' };
    const total = k.map((kk, i) => {
      const span = (kk - 1) * d[i]! + 1;
      if (s[i] === 1) return span - 1;
      const size = shape?.[i + 1];
      if (size === undefined || size < 0) return this.unsupported(call, 'SAME padding with dilation and stride > 1 on an input of unknown size');
      return Math.max((Math.ceil(size / s[i]!) - 1) * s[i]! + span - size, 0);
    });
    const before = total.map((p) => Math.floor(p / 2));
    return { pads: [...before, ...total.map((p, i) => p - before[i]!)] };
  }

  private channelsLast(call: LayerCall): void {
    const f = call.config.data_format;
    if (f !== undefined && f !== null && f !== 'channels_last') this.unsupported(call, `data_format ${String(f)}`);
  }

  // --- values and weights ----------------------------------------------------------------------

  /**
   * A weight of a layer. TF.js layers models name them `<layer>/<weight>`; a converter may have
   * prefixed a scope (`model/<layer>/<weight>`) or suffixed `:0`.
   */
  private weight(call: LayerCall, what: string, rank?: number): ConstTensor {
    const name = `${call.name}/${what}`;
    let t = this.weights.get(name) ?? this.weights.get(`${name}:0`);
    if (!t) {
      const hits = [...this.weights.keys()].filter((k) => k.endsWith(`/${name}`) || k.endsWith(`/${name}:0`));
      if (hits.length === 1) t = this.weights.get(hits[0]!);
    }
    if (!t) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `layer ${call.name} (${call.className}) has no weight ${what} in the manifest`, { details: { layer: call.name, weight: name } });
    if (t.dtype !== 'float32') throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `weight ${name} is ${t.dtype}, not float`);
    if (rank !== undefined && t.shape.length !== rank) {
      throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `weight ${name} has shape [${t.shape.join(', ')}], not rank ${rank}`);
    }
    return t;
  }

  /** One initializer per scalar value (every ReLU6 reads 0 and 6). */
  protected override scalar(v: number): string {
    let name = this.scalars.get(v);
    if (!name) {
      name = super.scalar(v);
      this.scalars.set(v, name);
    }
    return name;
  }

  private get(key: string, consumer: string): Value {
    const v = this.values.get(key);
    if (!v) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `layer ${consumer} reads ${key}, which the converter did not produce`);
    return v;
  }

  private same(x: Value, name: string): Value {
    return { ...x, name };
  }

  /** An image tensor ([batch, height, width, channels] in Keras) as NCHW, for a convolution or pooling. */
  private imageAsNchw(x: Value, call: LayerCall): Value {
    if (x.layout !== 'nchw' && x.shape && x.shape.length !== 4) this.unsupported(call, `a rank-${x.shape.length} input (expects [batch, height, width, channels])`);
    return this.asNchw(x);
  }

  private unsupported(call: LayerCall, what?: string): never {
    const detail = what ? ` (${what})` : '';
    throw new LoupeError(
      'LOUPE_ERR_CONVERT_UNSUPPORTED_OP',
      `the converter does not support layer class ${call.className}${detail} at layer ${call.name}`,
      { details: { layerClass: call.className, layer: call.name } },
    );
  }
}

/** An activation as Keras 2 writes it (a string) or as a serialised object; lower-cased, null meaning linear. */
function activationName(a: unknown): string {
  if (a === undefined || a === null) return 'linear';
  if (typeof a === 'string') return a.toLowerCase();
  const o = a as { class_name?: unknown; config?: { name?: unknown } };
  if (typeof o.config?.name === 'string') return o.config.name.toLowerCase();
  return String(o.class_name ?? 'unknown').toLowerCase();
}

function isLastAxis(axis: unknown, rank?: number): boolean {
  const a = Array.isArray(axis) && axis.length === 1 ? Number(axis[0]) : axis === undefined ? -1 : Number(axis);
  return a === -1 || (rank !== undefined && a === rank - 1) || (rank === undefined && a === 3);
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function ints(v: unknown, call: LayerCall, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `layer ${call.name} has no valid ${what}`, { details: { layer: call.name } });
  }
  return v as number[];
}

/** An int or a pair of ints (kernel sizes, strides, dilations) as [h, w]. */
function pair(v: unknown, call: LayerCall, what: string): number[] {
  if (typeof v === 'number') return [v, v];
  const p = ints(v, call, what);
  if (p.length !== 2) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `layer ${call.name} has ${what} ${JSON.stringify(v)}, not two numbers`);
  return p;
}

function grow(size: number, by: number): number {
  return size < 0 ? -1 : size + by;
}

/** Output shape (Keras layout) of a convolution or pooling over `shape`, channels left as they are. */
function convShape(shape: number[], k: number[], s: number[], d: number[], padding: string): number[] {
  const out = [0, 1].map((i) => {
    const size = shape[i + 1]!;
    if (size < 0) return -1;
    if (padding === 'same') return Math.ceil(size / s[i]!);
    return Math.floor((size - (k[i]! - 1) * d[i]! - 1) / s[i]!) + 1;
  });
  return [shape[0]!, out[0]!, out[1]!, shape[3]!];
}

