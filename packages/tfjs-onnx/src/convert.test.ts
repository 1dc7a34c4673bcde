import t from 'tap';
import { join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { convertGraphModel } from './convert.js';
import {
  TOLERANCE, expectMatch, humanModels, ints, node, onnxOps, runBoth, seq, str, testImage, writeModel,
} from './convert.test-support.js';

t.test('blazeface converts and matches TF.js', async (t) => {
  const path = join(humanModels, 'blazeface.json');
  const { converted, results } = await runBoth(path, testImage(256, 256, 3, -1, 1), [1, 256, 256, 3]);
  t.equal(converted.ops._FusedConv2D, 37);
  t.equal(results.length, 4);
  // Values stay NCHW from the input's transpose through all the convolutions; each of the 4 heads goes back to NHWC once, before its Reshape.
  t.equal(onnxOps(converted.onnx).Transpose, 5, 'one transpose at the input, one per head');
  for (const r of results) {
    t.comment(`blazeface ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)} (tolerance ${TOLERANCE})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= TOLERANCE, `${r.name} max diff ${r.maxDiff} <= ${TOLERANCE}`);
  }
});

t.test('centernet converts and matches TF.js, its TopK / gather post-processing included', async (t) => {
  const path = join(humanModels, 'centernet.json');
  const { converted, results } = await runBoth(path, testImage(512, 512, 3, 0, 255), [1, 512, 512, 3]);
  t.equal(converted.ops.TopKV2, 1);
  t.equal(results.length, 3);
  t.equal(onnxOps(converted.onnx).Transpose, 4, 'one transpose at the input, one per head (3): none between the 89 convolutions');
  // wh is 16 x a conv output, box sizes in pixels up to ~283, so 1e-3 absolute would ask for 3.5e-6 relative
  // accuracy after ~100 float32 layers. Its difference is runtime rounding, not the conversion: the model
  // takes raw 0..255 pixels, so its first conv already sums to ~29 and differs by ~1.3e-5 (about 7 ulp)
  // between any two runtimes; residual adds (values up to ~95) carry that on, and the final x16 scales it.
  // Measured on this image: onnxruntime vs TF.js wasm 1.37e-3, onnxruntime with graph optimisations on vs off
  // 1.34e-3 (same file, same runtime), TF.js wasm vs TF.js cpu 1.65e-3, onnxruntime vs TF.js cpu 5.8e-4.
  // So wh gets 2e-3 absolute = 7e-6 of its largest value (measured: 4.8e-6 relative); the others 1e-3.
  const tolerance: Record<string, number> = { 'tower_0/wh': 2e-3, 'tower_0/keypoints': TOLERANCE, 'tower_0/detections': TOLERANCE };
  for (const r of results) {
    const TOLERANCE = tolerance[r.name] ?? 0;
    const rel = r.maxRef > 0 ? r.maxDiff / r.maxRef : 0;
    t.comment(`centernet ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)} (${rel.toExponential(1)} of max |value| = ${r.maxRef.toFixed(2)}) (tolerance ${TOLERANCE})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= TOLERANCE, `${r.name} max diff ${r.maxDiff} <= ${TOLERANCE}`);
  }
});

t.test('blazeface cut at inner nodes (opts.outputs) gives those nodes\' values', async (t) => {
  const path = join(humanModels, 'blazeface.json');
  const outputs = ['StatefulPartitionedCall/functional_1/max_pooling2d/MaxPool', 'StatefulPartitionedCall/functional_1/re_lu_6/Relu'];
  const { converted, results } = await runBoth(path, testImage(256, 256, 3, -1, 1), [1, 256, 256, 3], { outputs });
  t.same(converted.outputs.map((o) => o.name), outputs);
  t.same(results.map((r) => r.shapeOnnx), [[1, 64, 64, 24], [1, 128, 128, 24]]);
  for (const r of results) {
    t.comment(`blazeface ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)} (tolerance ${TOLERANCE})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= TOLERANCE, `${r.name} max diff ${r.maxDiff} <= ${TOLERANCE}`);
  }
  const err = await convertGraphModel(path, { outputs: ['no/such/node'] }).then(() => undefined, (e: unknown) => e);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_VALIDATION');
  t.match((err as LoupeError).message, /no\/such\/node/);
});

t.test('nanodet (an NCHW graph with explicit transposes) converts and matches TF.js', async (t) => {
  const path = join(humanModels, 'nanodet.json');
  const { converted, results } = await runBoth(path, testImage(416, 416, 3, 0, 1, 'nchw'), [1, 3, 416, 416]);
  t.equal(converted.ops.SparseToDense, 6, 'SparseToDense folded');
  t.equal(results.length, 6);
  // The graph is NCHW already and moves between layouts with its own transposes: those cancel against the
  // converter's, leaving only the 6 that turn each head's [1, channels, cells] into [1, cells, channels].
  t.equal(converted.ops.Transpose, 83);
  t.equal(onnxOps(converted.onnx).Transpose, 6, 'of the graph\'s 83 transposes, the 6 at the heads are left');
  for (const r of results) {
    t.comment(`nanodet ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)}, max |value| = ${r.maxRef.toFixed(2)} (tolerance ${TOLERANCE})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= TOLERANCE, `${r.name} max diff ${r.maxDiff} <= ${TOLERANCE}`);
  }
});

t.test('faceres (MatMul heads, Softmax, global pooling) converts and matches TF.js', async (t) => {
  const path = join(humanModels, 'faceres.json');
  const { converted, results } = await runBoth(path, testImage(224, 224, 3, 0, 1), [1, 224, 224, 3]);
  t.equal(converted.ops._FusedMatMul, 3);
  t.equal(results.length, 3);
  t.equal(onnxOps(converted.onnx).Transpose, 1, 'one transpose, at the input');
  for (const r of results) {
    t.comment(`faceres ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)}, max |value| = ${r.maxRef.toFixed(2)} (tolerance ${TOLERANCE})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= TOLERANCE, `${r.name} max diff ${r.maxDiff} <= ${TOLERANCE}`);
  }
});

// --- single ops, on small hand-made graph models -------------------------------------------------

t.test('Conv2D SAME with stride 2 on an odd size, fused bias + Relu6, float16 weights', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [1, 9, 11, 3], [
    node('conv', '_FusedConv2D', ['x', 'w', 'b'], {
      strides: ints(1, 2, 2, 1), dilations: ints(1, 1, 1, 1), padding: str('SAME'), data_format: str('NHWC'),
      fused_ops: { list: { s: [str('BiasAdd').s, str('Relu6').s] } }, num_args: { i: '1' },
    }),
    node('out', 'Identity', ['conv']),
  ], { w: { shape: [3, 3, 3, 4], values: seq(108), float16: true }, b: { shape: [4], values: [0.5, -0.25, 0, 1], float16: true } });
  await expectMatch(t, path, [1, 9, 11, 3]);
});

t.test('depthwise, dilation, pad, pooling, LeakyRelu, mean, concat, resize and reshape', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [1, 8, 10, 2], [
    node('dw', 'DepthwiseConv2dNative', ['x', 'dww'], { strides: ints(1, 1, 1, 1), dilations: ints(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') }),
    node('lr', 'LeakyRelu', ['dw'], { alpha: { f: 0.1 } }),
    node('pad', 'Pad', ['lr', 'paddings']),
    node('mp', 'MaxPool', ['pad'], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') }),
    node('ap', 'AvgPool', ['pad'], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') }),
    node('cat', 'ConcatV2', ['mp', 'ap', 'axis']),
    node('scaled', 'Mul', ['cat', 'scale']),
    node('rz1', 'ResizeBilinear', ['scaled', 'size'], { align_corners: { b: true }, half_pixel_centers: { b: false } }),
    node('rz2', 'ResizeBilinear', ['scaled', 'size'], { align_corners: { b: false }, half_pixel_centers: { b: true } }),
    node('sum', 'AddV2', ['rz1', 'rz2']),
    node('mean', 'Mean', ['sum', 'meanaxes'], { keep_dims: { b: true } }),
    node('sig', 'Sigmoid', ['mean']),
    node('flat', 'Reshape', ['sum', 'shape']),
    node('out1', 'Identity', ['sig']),
    node('out2', 'Identity', ['flat']),
  ], {
    dww: { shape: [3, 3, 2, 2], values: seq(36) },
    paddings: { shape: [4, 2], values: [0, 0, 1, 2, 0, 1, 0, 0], dtype: 'int32' },
    axis: { shape: [], values: [3], dtype: 'int32' },
    scale: { shape: [8], values: seq(8, 0.25, 0.1) },
    size: { shape: [2], values: [13, 7], dtype: 'int32' },
    meanaxes: { shape: [2], values: [1, 2], dtype: 'int32' },
    shape: { shape: [3], values: [1, -1, 8], dtype: 'int32' },
  });
  await expectMatch(t, path, [1, 8, 10, 2]);
});

t.test('hard-swish, transpose, split, strided slice, squeeze, expand dims, matmul, softmax and integer floor ops', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [1, 4, 6, 4], [
    // hard-swish as Keras writes it: x * relu6(x + 3) / 6
    node('hs_add', 'AddV2', ['x', 'three']),
    node('hs_r6', 'Relu6', ['hs_add']),
    node('hs_mul', 'Mul', ['x', 'hs_r6']),
    node('hs', 'RealDiv', ['hs_mul', 'six']),
    node('conv', 'Conv2D', ['hs', 'cw'], { strides: ints(1, 1, 1, 1), dilations: ints(1, 1, 1, 1), padding: str('VALID'), data_format: str('NHWC') }),
    node('tr', 'Transpose', ['conv', 'perm']),
    node('split', 'SplitV', ['conv', 'sizes', 'splitdim']),
    node('sub', 'Sub', ['split', 'split:1']),
    node('ss0', 'StridedSlice', ['sub', 'b', 'e', 's'], { begin_mask: { i: '1' }, end_mask: { i: '1' }, shrink_axis_mask: { i: '0' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' } }),
    // TF.js 4.22 mis-slices a shrink axis combined with a stride > 1 elsewhere, so shrink in its own slice.
    node('ss', 'StridedSlice', ['ss0', 'b1', 'e1', 's1'], { begin_mask: { i: '7' }, end_mask: { i: '7' }, shrink_axis_mask: { i: '8' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' } }),
    node('flat', 'Reshape', ['tr', 'flatshape']),
    node('mm', '_FusedMatMul', ['flat', 'mw', 'mb'], { transpose_a: { b: false }, transpose_b: { b: true }, fused_ops: { list: { s: [str('BiasAdd').s, str('Relu').s] } }, num_args: { i: '1' } }),
    node('sm', 'Softmax', ['mm']),
    node('ed', 'ExpandDims', ['sm', 'edaxis']),
    node('sq', 'Squeeze', ['ed'], { squeeze_dims: ints(1) }),
    node('top', 'TopKV2', ['sq', 'k'], { sorted: { b: true } }),
    node('fd', 'FloorDiv', ['top:1', 'two']),
    node('fm', 'FloorMod', ['top:1', 'two']),
    node('sum', 'AddV2', ['fd', 'fm']),
    node('f', 'Cast', ['sum'], { SrcT: { type: 'DT_INT32' }, DstT: { type: 'DT_FLOAT' } }),
    node('out1', 'Identity', ['ss']),
    node('out2', 'Identity', ['sm']),
    node('out3', 'Identity', ['f']),
  ], {
    three: { shape: [], values: [3] },
    six: { shape: [], values: [6] },
    cw: { shape: [3, 3, 4, 6], values: seq(216, 1 / 32) },
    perm: { shape: [4], values: [0, 3, 1, 2], dtype: 'int32' },
    sizes: { shape: [2], values: [3, 3], dtype: 'int32' },
    splitdim: { shape: [], values: [-1], dtype: 'int32' },
    b: { shape: [4], values: [0, 1, 0, 1], dtype: 'int32' },
    e: { shape: [4], values: [1, 2, 4, 3], dtype: 'int32' },
    s: { shape: [4], values: [1, 1, 2, 1], dtype: 'int32' },
    b1: { shape: [4], values: [0, 0, 0, -1], dtype: 'int32' },
    e1: { shape: [4], values: [0, 0, 0, 0], dtype: 'int32' },
    s1: { shape: [4], values: [1, 1, 1, 1], dtype: 'int32' },
    flatshape: { shape: [2], values: [1, -1], dtype: 'int32' },
    mw: { shape: [10, 48], values: seq(480, 1 / 64) },
    mb: { shape: [10], values: seq(10, 0.1) },
    edaxis: { shape: [], values: [1], dtype: 'int32' },
    k: { shape: [], values: [5], dtype: 'int32' },
    two: { shape: [], values: [3], dtype: 'int32' },
  });
  await expectMatch(t, path, [1, 4, 6, 4]);
});

t.test('nearest resize, equal split, fused Prelu and explicit padding', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [1, 5, 7, 2], [
    node('conv', '_FusedConv2D', ['x', 'w', 'b', 'alpha'], {
      strides: ints(1, 1, 1, 1), dilations: ints(1, 1, 1, 1), padding: str('EXPLICIT'), explicit_paddings: ints(0, 0, 1, 2, 0, 1, 0, 0),
      data_format: str('NHWC'), fused_ops: { list: { s: [str('BiasAdd').s, str('Prelu').s] } }, num_args: { i: '2' },
    }),
    node('rn1', 'ResizeNearestNeighbor', ['conv', 'size'], { align_corners: { b: false }, half_pixel_centers: { b: true } }),
    node('rn2', 'ResizeNearestNeighbor', ['conv', 'size'], { align_corners: { b: false }, half_pixel_centers: { b: false } }),
    node('sp', 'Split', ['dim', 'rn1'], { num_split: { i: '2' } }),
    node('mx', 'Maximum', ['sp', 'sp:1']),
    node('out1', 'Identity', ['mx']),
    node('out2', 'Identity', ['rn2']),
  ], {
    w: { shape: [3, 2, 2, 4], values: seq(48, 1 / 8) },
    b: { shape: [4], values: [0.1, -0.2, 0.3, -0.4] },
    alpha: { shape: [4], values: [0.1, 0.2, 0.3, 0.4] },
    size: { shape: [2], values: [11, 9], dtype: 'int32' },
    dim: { shape: [], values: [3], dtype: 'int32' },
  });
  await expectMatch(t, path, [1, 5, 7, 2]);
});

t.test('an op the converter does not know is an error naming the op and the node', async (t) => {
  const dir = t.testdir();
  const path = await writeModel(dir, [1, 4, 4, 1], [node('weird/node', 'FancyNewOp', ['x']), node('out', 'Identity', ['weird/node'])], {});
  const err = await convertGraphModel(path).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof LoupeError);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_CONVERT_UNSUPPORTED_OP');
  t.match((err as LoupeError).message, /FancyNewOp/);
  t.match((err as LoupeError).message, /weird\/node/);
});
