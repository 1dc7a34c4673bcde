// Pixel to tensor conversion, kept free of sharp and onnxruntime so that the pixel thread
// (session.worker.ts) can load it as cheaply as the main thread.

/** An RGB image as interleaved bytes. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface TensorSpec {
  /** Per output channel, in the output channel order, applied after `scale`. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Multiplies the 0-255 byte first; 1/255 by default. */
  scale?: number;
  layout?: 'NCHW' | 'NHWC';
  channelOrder?: 'RGB' | 'BGR';
}

/** One image as a normalised float tensor of 3 x height x width values (batch of one, no padding). */
export function toTensor(raw: Pixels, spec: TensorSpec): Float32Array {
  const { width, height, data } = raw;
  const scale = spec.scale ?? 1 / 255;
  const bgr = spec.channelOrder === 'BGR';
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  // value = (byte * scale - mean) / std, folded into one multiply-add per value.
  const mul = [0, 1, 2].map((c) => scale / spec.std[c]!);
  const add = [0, 1, 2].map((c) => -spec.mean[c]! / spec.std[c]!);
  for (let c = 0; c < 3; c++) {
    const srcC = bgr ? 2 - c : c;
    const m = mul[c]!;
    const a = add[c]!;
    if (spec.layout === 'NHWC') {
      for (let i = 0; i < plane; i++) out[i * 3 + c] = data[i * 3 + srcC]! * m + a;
    } else {
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = data[i * 3 + srcC]! * m + a;
    }
  }
  return out;
}

