import t from 'tap';
import onnxProto from 'onnx-proto';
import { LoupeError } from '@loupe/contracts';
import { convertLayersModel } from './layers.js';
import { check, compare, layer, loadReference, noise, registerUpscalerLayers, weights, writeLayersModel } from './tfjs-reference.test-support.js';

// Each layer is checked against TF.js at two input sizes through one converted graph: height and
// width stay dynamic. UpscalerJS' custom layers are TF.js' as the package itself registers them.
const SIZES = [[5, 7], [8, 6]] as const;

function nodeOps(onnx: Uint8Array): string[] {
  return (onnxProto.onnx.ModelProto.decode(onnx).graph!.node ?? []).map((n) => n.opType!);
}

const conv = (name: string, input: string, filters: number, kernel = 3) =>
  layer('Conv2D', name, [input], { filters, kernel_size: [kernel, kernel], strides: [1, 1], padding: 'same', activation: 'linear', use_bias: true });
const convWeights = (name: string, cin: number, cout: number, kernel = 3) => ({
  [`${name}/kernel`]: { shape: [kernel, kernel, cin, cout], values: weights(kernel * kernel * cin * cout, 0.4) },
  [`${name}/bias`]: { shape: [cout], values: weights(cout, 0.1) },
});

t.test('UpSampling2D (nearest and bilinear, on the input and after a convolution) matches TF.js', async (t) => {
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [null, null, 3], [
    layer('UpSampling2D', 'up_in', ['x'], { size: [2, 3], interpolation: 'nearest', data_format: 'channels_last' }),
    conv('c', 'x', 4),
    layer('UpSampling2D', 'up_near', ['c'], { size: [3, 3], interpolation: 'nearest' }),
    layer('UpSampling2D', 'up_lin', ['c'], { size: [2, 2], interpolation: 'bilinear' }),
    // Read by a convolution: the upsampled value stays NCHW.
    conv('after', 'up_near', 2),
  ], ['up_in', 'up_near', 'up_lin', 'after'], { ...convWeights('c', 3, 4), ...convWeights('after', 4, 2) });
  const converted = await convertLayersModel(path);
  t.same(converted.outputs.map((o) => [o.name, o.shape]), [['up_in', [-1, -1, -1, 3]], ['up_near', [-1, -1, -1, 4]], ['up_lin', [-1, -1, -1, 4]], ['after', [-1, -1, -1, 2]]]);
  t.equal(nodeOps(converted.onnx).filter((op) => op === 'Resize').length, 3);
  const reference = await loadReference(path);
  for (const [h, w] of SIZES) check(t, `${h}x${w}`, await compare(converted, reference, noise(h * w * 3), [1, h, w, 3]));
  reference.dispose();
});

t.test('MultiplyBeta (UpscalerJS) matches TF.js running the package\'s own layer', async (t) => {
  registerUpscalerLayers(2);
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [null, null, 3], [
    conv('c', 'x', 4),
    layer('MultiplyBeta', 'multiply_beta', ['c'], { beta: 0.2 }),
    layer('Add', 'residual', ['c', 'multiply_beta']),
  ], ['residual'], convWeights('c', 3, 4));
  const converted = await convertLayersModel(path);
  t.ok(nodeOps(converted.onnx).includes('Mul'));
  const reference = await loadReference(path);
  for (const [h, w] of SIZES) check(t, `${h}x${w}`, await compare(converted, reference, noise(h * w * 3, 0, 1), [1, h, w, 3]));
  reference.dispose();
});

for (const scale of [2, 3, 4, 8] as const) {
  t.test(`PixelShuffle${scale}x (UpscalerJS' depth-to-space) matches TF.js running the package's own layer`, async (t) => {
    registerUpscalerLayers(scale);
    const dir = t.testdir();
    // UpscalerJS' layer says it gives 3 channels: a convolution to 3 * scale^2 channels feeds it, as in ESRGAN.
    const path = await writeLayersModel(dir, [null, null, 3], [
      conv('pre', 'x', 3 * scale * scale),
      layer(`PixelShuffle${scale}x`, 'pixel_shuffle', ['pre'], { scale }),
      conv('SR', 'pixel_shuffle', 3),
    ], ['SR'], { ...convWeights('pre', 3, 3 * scale * scale), ...convWeights('SR', 3, 3) });
    const converted = await convertLayersModel(path);
    t.same(converted.outputs, [{ name: 'SR', dtype: 'float32', shape: [-1, -1, -1, 3] }]);
    t.ok(nodeOps(converted.onnx).includes('DepthToSpace'));
    const reference = await loadReference(path);
    for (const [h, w] of SIZES) {
      const results = await compare(converted, reference, noise(h * w * 3), [1, h, w, 3]);
      t.same(results[0]!.shapeOnnx, [1, h * scale, w * scale, 3]);
      check(t, `${h}x${w}`, results);
    }
    reference.dispose();
  });
}

t.test('a pixel shuffle whose channels do not split into its blocks is refused, naming the layer', async (t) => {
  const dir = t.testdir();
  const path = await writeLayersModel(dir, [4, 4, 3], [
    conv('pre', 'x', 5),
    layer('PixelShuffle2x', 'bad_shuffle', ['pre'], { scale: 2 }),
  ], ['bad_shuffle'], convWeights('pre', 3, 5));
  const err = await convertLayersModel(path).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof LoupeError);
  t.equal((err as LoupeError).code, 'LOUPE_ERR_CONVERT_UNSUPPORTED_OP');
  t.match((err as LoupeError).message, /bad_shuffle.*|5 channels/);
});
