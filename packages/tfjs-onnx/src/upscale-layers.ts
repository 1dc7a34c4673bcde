import type { ConstTensor } from './tfjs-model.js';
import type { AttrValue, ElementType, LaidOutValue } from './onnx-graph.js';

/**
 * The layers that make an image larger, as super-resolution models use them: Keras' UpSampling2D, and
 * the custom layers of UpscalerJS' ESRGAN models (npm @upscalerjs/esrgan-*), which a TF.js layers model
 * names by class only, so what they compute comes from the package's own code (its dist/ setup()):
 * `MultiplyBeta` is x * 0.2 (the residual scaling of the RRDB blocks) and `PixelShuffle<s>x` is
 * tf.depthToSpace(x, s, 'NHWC'). Every one keeps height and width dynamic.
 */

/** A Keras tensor as an ONNX value (layers.ts' Value). */
export interface LaidOut extends LaidOutValue {
  shape: number[] | undefined;
  dtype: ElementType;
}

/** What these layers need of the converter. */
export interface UpscaleGraph {
  emit(op: string, inputs: string[], attrs?: Record<string, AttrValue>): string;
  constName(t: ConstTensor): string;
  scalar(v: number): string;
  asNchw(x: LaidOut): LaidOut;
  unsupported(what?: string): never;
}

/** The scale of a `PixelShuffle<s>x` class (UpscalerJS names one class per scale), or undefined. */
function pixelShuffleScale(cls: string, config: Record<string, unknown>): number | undefined {
  const m = /^PixelShuffle(\d+)x$/.exec(cls);
  if (!m) return undefined;
  return typeof config.scale === 'number' ? config.scale : Number(m[1]);
}

export function isUpscaleLayer(cls: string): boolean {
  return cls === 'UpSampling2D' || cls === 'MultiplyBeta' || pixelShuffleScale(cls, {}) !== undefined;
}

/** Converts one of the layers isUpscaleLayer() accepts. */
export function upscaleLayer(g: UpscaleGraph, cls: string, config: Record<string, unknown>, x: LaidOut): LaidOut {
  if (cls === 'MultiplyBeta') {
    // UpscalerJS' layer multiplies by its constant BETA = 0.2, which the model config repeats.
    const beta = typeof config.beta === 'number' ? config.beta : 0.2;
    return { ...x, name: g.emit('Mul', [x.name, g.scalar(beta)]) };
  }
  if (cls === 'UpSampling2D') return upSampling(g, config, x);
  return pixelShuffle(g, pixelShuffleScale(cls, config)!, x);
}

/**
 * TF.js runs UpSampling2D as resizeNearestNeighbor or resizeBilinear without aligned corners or half-pixel
 * centres: ONNX Resize's `asymmetric` source coordinates (and, for nearest, flooring them).
 */
function upSampling(g: UpscaleGraph, config: Record<string, unknown>, x0: LaidOut): LaidOut {
  const format = config.data_format;
  if (format !== undefined && format !== null && format !== 'channels_last') g.unsupported(`data_format ${String(format)}`);
  const size = config.size ?? [2, 2];
  const [sh, sw] = typeof size === 'number' ? [size, size] : (size as number[]);
  if (!Number.isInteger(sh) || !Number.isInteger(sw)) g.unsupported(`size ${JSON.stringify(size)}`);
  const interpolation = String(config.interpolation ?? 'nearest');
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') g.unsupported(`interpolation ${interpolation}`);
  const x = g.asNchw(x0);
  const scales = g.constName({ dtype: 'float32', shape: [4], data: Float32Array.of(1, 1, sh!, sw!) });
  const attrs: Record<string, AttrValue> = interpolation === 'nearest'
    ? { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }
    : { mode: 'linear', coordinate_transformation_mode: 'asymmetric' };
  const name = g.emit('Resize', [x.name, '', scales], attrs);
  return { ...x, name, shape: x.shape && [x.shape[0]!, grow(x.shape[1]!, sh!), grow(x.shape[2]!, sw!), x.shape[3]!] };
}

/**
 * TF's depth_to_space puts channel (i * s + j) * C' + c of a pixel at offset (i, j) of its s x s block,
 * channel c: ONNX DepthToSpace in DCR mode, on NCHW.
 */
function pixelShuffle(g: UpscaleGraph, s: number, x0: LaidOut): LaidOut {
  if (!Number.isInteger(s) || s < 1) g.unsupported(`scale ${s}`);
  const x = g.asNchw(x0);
  const c = x.shape?.[3];
  if (c !== undefined && c >= 0 && c % (s * s) !== 0) g.unsupported(`${c} channels, not a multiple of ${s * s}`);
  const name = g.emit('DepthToSpace', [x.name], { blocksize: s, mode: 'DCR' });
  const shape = x.shape && [x.shape[0]!, grow(x.shape[1]!, s), grow(x.shape[2]!, s), c === undefined || c < 0 ? -1 : c / (s * s)];
  return { ...x, name, shape };
}

function grow(size: number, by: number): number {
  return size < 0 ? -1 : size * by;
}
