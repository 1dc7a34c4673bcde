import { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import type { ConvertResult } from './onnx-graph.js';

/**
 * What the layers converter's tests share: TF.js layers (wasm backend) as the reference, a comparison
 * of a converted model with it, and small hand-written layers models.
 */

const require = createRequire(import.meta.url);
// The reference is TF.js layers on its wasm backend, loaded from the package's own dist folder (no network).
setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
await tf.setBackend('wasm');
await tf.ready();

const TOLERANCE = 1e-3;

interface Artifacts {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: object[] }[];
}

/**
 * The reference model, loaded by TF.js itself. The nsfwjs bundles are read with require() here (they
 * are nsfwjs' own files, and the reference should not go through the converter's bundle parser).
 */
export async function loadReference(path: string): Promise<tfl.LayersModel> {
  let json: Artifacts;
  let weightData: Buffer;
  if (path.endsWith('.js')) {
    json = require(path) as Artifacts;
    weightData = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths.map((p) => Buffer.from(require(join(dirname(path), `${p}.min.js`)) as string, 'base64'))));
  } else {
    json = JSON.parse(await readFile(path, 'utf8')) as Artifacts;
    const shards: Buffer[] = [];
    for (const g of json.weightsManifest) for (const p of g.paths) shards.push(await readFile(join(dirname(path), p)));
    weightData = Buffer.concat(shards);
  }
  return tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology as never,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as never,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
  }));
}

export interface Compared {
  name: string;
  maxDiff: number;
  maxRef: number;
  shapeOnnx: readonly number[];
  shapeTf: number[];
  onnx: Float32Array;
}

/** Runs the converted model (onnxruntime-node) and TF.js' model, cut at the same layers, on one input. */
export async function compare(converted: ConvertResult, reference: tfl.LayersModel, input: Float32Array, shape: number[]): Promise<Compared[]> {
  const session = await ort.InferenceSession.create(converted.onnx);
  const onnxOut = await session.run({ [converted.inputs[0]!.name]: new ort.Tensor('float32', input, shape) });
  await session.release();
  const names = converted.outputs.map((o) => o.name);
  const cut = tfl.model({ inputs: reference.inputs, outputs: names.map((n) => reference.getLayer(n).output as tfl.SymbolicTensor) });
  const x = tf.tensor(input, shape);
  const out = cut.predict(x);
  const list = Array.isArray(out) ? out : [out];
  const results: Compared[] = [];
  for (const [i, name] of names.entries()) {
    const a = (await list[i]!.data()) as Float32Array;
    const b = onnxOut[name]!.data as Float32Array;
    let maxDiff = a.length === b.length ? 0 : Infinity;
    let maxRef = 0;
    for (let k = 0; k < a.length && k < b.length; k++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
      maxRef = Math.max(maxRef, Math.abs(a[k]!));
    }
    results.push({ name, maxDiff, maxRef, shapeOnnx: onnxOut[name]!.dims, shapeTf: list[i]!.shape, onnx: b });
  }
  tf.dispose([x, ...list]);
  return results;
}

export function check(t: Test, label: string, results: Compared[], tolerance = TOLERANCE): void {
  t.ok(results.length > 0);
  for (const r of results) {
    t.comment(`${label} ${r.name}: max |diff| = ${r.maxDiff.toExponential(2)}, max |value| = ${r.maxRef.toFixed(3)} (tolerance ${tolerance})`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= tolerance, `${label} ${r.name} max diff ${r.maxDiff} <= ${tolerance}`);
  }
}


export interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

export const layer = (cls: string, name: string, inputs: string[], config: Record<string, unknown> = {}): KerasLayer => ({
  class_name: cls,
  name,
  config: { name, trainable: true, ...config },
  inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [],
});

/** Deterministic weights in [-scale, scale) (offset added), a different pattern per call. */
let weightSeed = 7;
export function weights(n: number, scale = 0.5, offset = 0): number[] {
  return Array.from({ length: n }, () => {
    weightSeed = (weightSeed * 1103515245 + 12345) & 0x7fffffff;
    return (weightSeed / 0x7fffffff - 0.5) * 2 * scale + offset;
  });
}

/** Writes a functional layers model (model.json + one float32 shard), its input `x` of `inputShape` (batch excluded). */
export async function writeLayersModel(dir: string, inputShape: (number | null)[], layers: KerasLayer[], outputs: string[], w: Record<string, { shape: number[]; values: number[] }>): Promise<string> {
  const json = {
    format: 'layers-model',
    generatedBy: 'loupe test',
    modelTopology: {
      keras_version: '2.2.4',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Model',
        config: {
          name: 'test',
          layers: [layer('InputLayer', 'x', [], { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false }), ...layers],
          input_layers: [['x', 0, 0]],
          output_layers: outputs.map((o) => [o, 0, 0]),
        },
      },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: Object.entries(w).map(([name, v]) => ({ name, shape: v.shape, dtype: 'float32' })) }],
  };
  await writeFile(join(dir, 'weights.bin'), Buffer.concat(Object.values(w).map((v) => Buffer.from(Float32Array.from(v.values).buffer))));
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  return join(dir, 'model.json');
}

export function noise(n: number, lo = -1, hi = 1): Float32Array {
  let s = 99;
  return Float32Array.from({ length: n }, () => lo + ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * (hi - lo));
}

// The ESRGAN models' packages are dependencies of @loupe/inference, which ships them in the offline pack.
const inferenceRequire = createRequire(new URL('../../inference/package.json', import.meta.url));

/** The folder of an @upscalerjs model package (its exports list no package.json): models/ sits beside dist/. */
export function upscalerDir(pkg: string): string {
  const entry = inferenceRequire.resolve(pkg);
  return entry.slice(0, entry.indexOf('/dist/'));
}

/**
 * Registers UpscalerJS' custom layers (MultiplyBeta and PixelShuffle<scale>x) with TF.js by running the
 * package's own setup(), so that the reference computes what UpscalerJS computes.
 */
export function registerUpscalerLayers(scale: 2 | 3 | 4 | 8): void {
  const definition = inferenceRequire(`@upscalerjs/esrgan-thick/${scale}x`) as { setup: (tfLike: unknown) => void };
  definition.setup({ layers: tfl.layers, mul: tf.mul, depthToSpace: tf.depthToSpace, serialization: tf.serialization });
}
