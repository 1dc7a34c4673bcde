import type { OnnxModelSpec } from '@loupe/testing';
import type { EnhanceCard } from './enhance-image.js';

/**
 * A real x2 super-resolution graph of the shape ESRGAN's converted cards have (NHWC in 0..1, a
 * convolution, DepthToSpace, NHWC out): 'nearest' repeats each pixel (an identity the eye can
 * check), 'bilinear' interpolates from the 3x3 neighbourhood, so it sees the zero padding at a
 * tile's border as a convolutional upscaler does.
 */
export function generatedUpscaler(kind: 'nearest' | 'bilinear', opts: { fixed?: number } = {}): { spec: OnnxModelSpec; card: EnhanceCard } {
  const side = opts.fixed ?? 'h';
  const out = opts.fixed ? opts.fixed * 2 : 'h2';
  // Along one axis, the weights of the three input pixels for the output pixel in the first and second half.
  const taps = kind === 'nearest' ? [[0, 1, 0], [0, 1, 0]] : [[0.25, 0.75, 0], [0, 0.75, 0.25]];
  const weights: number[] = [];
  // DepthToSpace (DCR): output channel (i * 2 + j) * 3 + c is sub-pixel row i, column j of colour c.
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 2; j++)
      for (let c = 0; c < 3; c++)
        for (let from = 0; from < 3; from++)
          for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) weights.push(from === c ? taps[i]![dy]! * taps[j]![dx]! : 0);
  const spec: OnnxModelSpec = {
    inputs: [{ name: 'image', type: 'float32', dims: ['n', side, opts.fixed ?? 'w', 3] }],
    outputs: [{ name: 'upscaled', type: 'float32', dims: ['n', out, opts.fixed ? out : 'w2', 3] }],
    initializers: [{ name: 'W', type: 'float32', dims: [12, 3, 3, 3], values: weights }],
    nodes: [
      { op: 'Transpose', inputs: ['image'], outputs: ['nchw'], attributes: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['nchw', 'W'], outputs: ['depth'], attributes: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
      { op: 'DepthToSpace', inputs: ['depth'], outputs: ['space'], attributes: { blocksize: 2, mode: 'DCR' } },
      { op: 'Transpose', inputs: ['space'], outputs: ['upscaled'], attributes: { perm: [0, 2, 3, 1] } },
    ],
  };
  const card: EnhanceCard = {
    id: `generated-${kind}-x2`,
    input: {
      layout: 'NHWC',
      channelOrder: 'RGB',
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
      dtype: 'float32',
      batch: true,
      width: opts.fixed ?? 64,
      height: opts.fixed ?? 64,
    },
    output: { decoder: 'image', options: { factor: 2, range: 1 } },
  };
  return { spec, card };
}
