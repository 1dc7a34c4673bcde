import t from 'tap';
import { LoupeError } from '@loupe/contracts';
import { convertGraphModel } from './convert.js';
import { expectMatch, ints, node, onnxOps, seq, str, useBackend, writeModel } from './convert.test-support.js';
import type { TfjsNode } from './tfjs-model.js';

// Graphs exported from JAX (jax2tf, as MAXIM is) compute their reshapes, slice bounds and resize
// matrices from the input's shape at run time. With the input's shape fixed, the converter folds all
// of that into constants. Each graph here is checked against TF.js, which computes the shapes itself.

const slice1 = (name: string, from: string, k: number) => [
  node(name, 'StridedSlice', [from, `i${k}`, `i${k + 1}`, 'i1'], { begin_mask: { i: '0' }, end_mask: { i: '0' }, shrink_axis_mask: { i: '1' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' } }),
];
const int = (v: number) => ({ shape: [], values: [v], dtype: 'int32' as const });
const vec = (...v: number[]) => ({ shape: [v.length], values: v, dtype: 'int32' as const });
const float = (v: number) => ({ shape: [], values: [v] });

/** h, w and c of the input [1, h, w, c] as jax2tf reads them: Shape, then one shrinking slice each. */
const dims: TfjsNode[] = [
  node('shape', 'Shape', ['x'], { out_type: { type: 'DT_INT32' } }),
  ...slice1('h', 'shape', 1), ...slice1('w', 'shape', 2), ...slice1('c', 'shape', 3),
];
const indexConsts = { i0: vec(0), i1: vec(1), i2: vec(2), i3: vec(3), i4: vec(4) };

t.test('shape arithmetic folds (Pack, Range, Sign, FloorMod, FloorDiv, NotEqual, LogicalAnd, SelectV2) and reshapes, slices and gathers by it', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [-1, -1, -1, 4], [
    ...dims,
    // jax2tf's ceil-division: w // 4 + (w % 4 != 0 and sign(w) != 0)
    node('fdiv', 'FloorDiv', ['w', 'four']),
    node('fmod', 'FloorMod', ['w', 'four']),
    node('ne1', 'NotEqual', ['fmod', 'zero']),
    node('sg', 'Sign', ['h']),
    node('ne2', 'NotEqual', ['sg', 'zero']),
    node('and', 'LogicalAnd', ['ne1', 'ne2']),
    node('fdiv1', 'AddV2', ['fdiv', 'one']),
    node('blocks', 'SelectV2', ['and', 'fdiv1', 'fdiv']),
    node('rshape', 'Pack', ['one', 'h', 'blocks', 'minus1'], { axis: { i: '0' }, N: { i: '4' } }),
    node('r', 'Reshape', ['x', 'rshape']),
    // a slice whose end is computed: all but the last column
    node('wm1', 'Sub', ['w', 'one']),
    node('send', 'Pack', ['one', 'h', 'wm1', 'c'], { axis: { i: '0' }, N: { i: '4' } }),
    node('sl', 'StridedSlice', ['x', 'zeros4', 'send', 'ones4'], { begin_mask: { i: '0' }, end_mask: { i: '0' }, shrink_axis_mask: { i: '0' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' } }),
    node('th', 'Tanh', ['sl']),
    // columns in reverse order, the indices from Range
    node('rev', 'Range', ['wm1', 'minus1', 'minus1']),
    node('g', 'GatherV2', ['x', 'rev', 'two'], { batch_dims: { i: '0' } }),
    node('e', 'Exp', ['g']),
    node('ne', 'Neg', ['e']),
    node('out1', 'Identity', ['r']),
    node('out2', 'Identity', ['th']),
    node('out3', 'Identity', ['ne']),
  ], {
    ...indexConsts, zero: int(0), one: int(1), two: int(2), four: int(4), minus1: int(-1),
    zeros4: vec(0, 0, 0, 0), ones4: vec(1, 1, 1, 1),
  });
  const converted = await expectMatch(t, path, [1, 4, 6, 4], { inputShape: [1, 4, 6, 4] });
  t.same(converted.inputs[0]?.shape, [1, 4, 6, 4], 'the ONNX input has the fixed shape');
  const ops = onnxOps(converted.onnx);
  for (const op of ['Shape', 'Range', 'Sign', 'Mod', 'Not', 'And', 'Where']) t.notOk(ops[op], `no ${op} left: the shape arithmetic is folded`);
  t.same(Object.keys(ops).sort(), ['Exp', 'Gather', 'Identity', 'Neg', 'Reshape', 'Slice', 'Tanh']);
});

t.test('layer norm (Square, Sum, Rsqrt), Einsum, SelectV2 and BroadcastTo on the data', async (t) => {
  await useBackend(t, 'cpu'); // TF.js wasm has no Einsum kernel
  const dir = t.testdir();
  const path = await writeModel(dir, [-1, -1, -1, 4], [
    ...dims,
    node('sq', 'Square', ['x']),
    node('ss', 'Sum', ['sq', 'last'], { keep_dims: { b: false } }),
    node('cf', 'Cast', ['c'], { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } }),
    node('ms', 'RealDiv', ['ss', 'cf']),
    node('mse', 'AddV2', ['ms', 'eps']),
    node('rs', 'Rsqrt', ['mse']),
    node('rse', 'ExpandDims', ['rs', 'last']),
    node('xn', 'Mul', ['x', 'rse']),
    // a dense layer as Flax writes it
    node('d1', 'Einsum', ['xn', 'w1'], { equation: str('abcg,gf->abcf'), N: { i: '2' } }),
    // mixing along the width (MAXIM's grid and block MLPs)
    node('d2', 'Einsum', ['d1', 'w2'], { equation: str('abgd,gf->abdf'), N: { i: '2' } }),
    // a resize along the height by a matrix computed from the shape: hat weights |i/2 - j| < 1
    node('hf', 'Cast', ['h'], { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } }),
    node('ig', 'Range', ['fzero', 'hf', 'fone'], { Tidx: { type: 'DT_FLOAT' } }),
    node('ib', 'Range', ['fzero', 'ftwo', 'fone'], { Tidx: { type: 'DT_FLOAT' } }),
    node('ig2', 'ExpandDims', ['ig', 'last']),
    node('ib2', 'ExpandDims', ['ib', 'first']),
    node('half', 'Mul', ['ig2', 'fhalf']),
    node('dist', 'Sub', ['half', 'ib2']),
    node('ad', 'Abs', ['dist']),
    node('hat', 'Sub', ['fone', 'ad']),
    node('m', 'Maximum', ['hat', 'fzero']),
    node('rz', 'Einsum', ['m', 'd1'], { equation: str('gb,cgef->bcef'), N: { i: '2' } }),
    // GELU-ish gate: where(d1 >= 0, d1, 0.1 d1)
    node('ge', 'GreaterEqual', ['d1', 'fzero']),
    node('lk', 'Mul', ['d1', 'ftenth']),
    node('sel', 'SelectV2', ['ge', 'd1', 'lk']),
    node('bshape', 'Pack', ['one', 'h', 'w', 'three'], { axis: { i: '0' }, N: { i: '4' } }),
    node('bc', 'BroadcastTo', ['rse', 'bshape']),
    node('out1', 'Identity', ['d2']),
    node('out2', 'Identity', ['rz']),
    node('out3', 'Identity', ['sel']),
    node('out4', 'Identity', ['bc']),
  ], {
    ...indexConsts, one: int(1), three: int(3), last: int(-1), first: int(0),
    eps: float(1e-6), fzero: float(0), fone: float(1), ftwo: float(2), fhalf: float(0.5), ftenth: float(0.1),
    w1: { shape: [4, 5], values: seq(20, 1 / 8) },
    w2: { shape: [6, 3], values: seq(18, 1 / 4) },
  });
  const converted = await expectMatch(t, path, [1, 4, 6, 4], { inputShape: [1, 4, 6, 4] });
  const ops = onnxOps(converted.onnx);
  t.equal(ops.MatMul, 1, 'the dense einsum is a MatMul');
  t.equal(ops.Einsum, 2, 'the other two stay einsums');
  t.equal(ops.Where, 1, 'only the data\'s select is left');
});

t.test('Conv2DBackpropInput (transposed convolution), VALID and SAME with an odd padding, output size from the shape', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [-1, -1, -1, 4], [
    ...dims,
    node('cv', 'Conv2D', ['x', 'k'], { strides: ints(1, 1, 1, 1), dilations: ints(1, 1, 1, 1), padding: str('SAME'), data_format: str('NHWC') }),
    node('h2', 'Mul', ['h', 'two']),
    node('w2', 'Mul', ['w', 'two']),
    node('size1', 'Pack', ['one', 'h2', 'w2', 'c'], { axis: { i: '0' }, N: { i: '4' } }),
    node('ct1', 'Conv2DBackpropInput', ['size1', 'f1', 'cv'], { strides: ints(1, 2, 2, 1), dilations: ints(1, 1, 1, 1), padding: str('VALID'), data_format: str('NHWC') }),
    // SAME, kernel 3, stride 2, output 2h: TF pads 1 in all, 0 before and 1 after
    node('size2', 'Pack', ['one', 'h2', 'w2', 'three'], { axis: { i: '0' }, N: { i: '4' } }),
    node('ct2', 'Conv2DBackpropInput', ['size2', 'f2', 'cv'], { strides: ints(1, 2, 2, 1), dilations: ints(1, 1, 1, 1), padding: str('SAME'), data_format: str('NHWC') }),
    node('out1', 'Identity', ['ct1']),
    node('out2', 'Identity', ['ct2']),
  ], {
    ...indexConsts, one: int(1), two: int(2), three: int(3),
    k: { shape: [3, 3, 4, 8], values: seq(288, 1 / 32) },
    f1: { shape: [2, 2, 4, 8], values: seq(128, 1 / 16) },
    f2: { shape: [3, 3, 3, 8], values: seq(216, 1 / 16, 0.01) },
  });
  const converted = await expectMatch(t, path, [1, 5, 7, 4], { inputShape: [1, 5, 7, 4] });
  t.equal(onnxOps(converted.onnx).ConvTranspose, 2);
});

t.test('a shape computed at run time needs inputShape, and inputShape must fit the model', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [-1, -1, -1, 4], [
    ...dims,
    node('rshape', 'Pack', ['one', 'h', 'minus1'], { axis: { i: '0' }, N: { i: '3' } }),
    node('r', 'Reshape', ['x', 'rshape']),
    node('out', 'Identity', ['r']),
  ], { ...indexConsts, one: int(1), minus1: int(-1) });
  const dynamic = await convertGraphModel(path).then(() => undefined, (e: unknown) => e);
  t.ok(dynamic instanceof LoupeError);
  t.equal((dynamic as LoupeError).code, 'LOUPE_ERR_CONVERT_UNSUPPORTED_OP');
  t.match((dynamic as LoupeError).message, /Shape .*inputShape.* at node shape/);
  const misfit = await convertGraphModel(path, { inputShape: [1, 4, 6, 3] }).then(() => undefined, (e: unknown) => e);
  t.equal((misfit as LoupeError).code, 'LOUPE_ERR_VALIDATION');
  t.match((misfit as LoupeError).message, /inputShape \[1, 4, 6, 3\] does not fit input x of shape \[-1, -1, -1, 4\]/);
});

t.test('StridedSlice folds with every mask: ellipsis, new axis, shrink, negative stride', async (t) => {
  const dir = t.testdir();
  const mask = (b: number, e: number, s: number, el: number, n: number) => ({
    begin_mask: { i: String(b) }, end_mask: { i: String(e) }, shrink_axis_mask: { i: String(s) }, ellipsis_mask: { i: String(el) }, new_axis_mask: { i: String(n) },
  });
  const path = await writeModel(dir, [1, 3, 1, 2], [
    // table[..., newaxis, ::-2] on a [2, 3, 4] constant gives [2, 3, 1, 2]; then [0] shrinks it to [3, 1, 2]
    node('a', 'StridedSlice', ['table', 'b3', 'e3', 's3'], mask(4, 4, 0, 1, 2)),
    node('b', 'StridedSlice', ['a', 'i0', 'i1', 'i1'], mask(0, 0, 1, 0, 0)),
    node('flat', 'Reshape', ['b', 'fshape']),
    node('sum', 'AddV2', ['x', 'flat']),
    node('out', 'Identity', ['sum']),
  ], {
    ...indexConsts,
    table: { shape: [2, 3, 4], values: seq(24, 1 / 8) },
    b3: vec(0, 0, 0), e3: vec(0, 0, 0), s3: vec(1, 1, -2), fshape: vec(1, 3, 1, 2),
  });
  const converted = await expectMatch(t, path, [1, 3, 1, 2]);
  t.same(Object.keys(onnxOps(converted.onnx)).sort(), ['Add', 'Identity'], 'the slices are folded into one constant');
});
