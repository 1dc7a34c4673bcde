import { LoupeError } from '@loupe/contracts';
import * as ort from 'onnxruntime-node';
import type { FloatTensor, Tensor, TensorData, ValueInfo } from '../session.js';

export type { FloatTensor, Tensor, ValueInfo };

/**
 * How a decoder runs a model, batch dimension included: a ModelSession's `run`, an engine
 * runner's `runBatch`, or a bare onnxruntime session through ortSessionModel(). Decoders never
 * load models themselves.
 */
export type RunModel = (feeds: Record<string, Tensor>) => Promise<Record<string, Tensor>>;

/**
 * A model whose declared inputs a decoder must see, because which optional inputs it has decides
 * what is fed (a KV cache, an attention mask). A ModelSession is one as it is; for an engine
 * runner pass `{ run: (feeds) => runner.runBatch(feeds), inputs: runner.inputs }`.
 */
export interface ModelWithInputs {
  run: RunModel;
  /** Names, and shapes where known: a fixed head count and size let a decoder build an empty KV cache. */
  inputs: readonly ValueInfo[];
}

/** Adapts a bare onnxruntime InferenceSession (tests, scripts) to what decoders take. */
export function ortSessionModel(session: ort.InferenceSession): ModelWithInputs {
  return {
    inputs: session.inputNames.map((name, i) => {
      const m = session.inputMetadata[i];
      return m?.isTensor ? { name, type: m.type, shape: [...m.shape] } : { name };
    }),
    run: async (feeds) => {
      const input: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        input[name] = t.type === 'bool' ? new ort.Tensor('bool', t.data as Uint8Array, [...t.dims]) : new ort.Tensor(t.data, [...t.dims]);
      }
      const output = await session.run(input);
      const out: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(output)) out[name] = { data: t.data as TensorData, dims: t.dims, type: t.type as Tensor['type'] };
      return out;
    },
  };
}

/** The output a decoder needs, as float32; a model that lacks it or returns another type is the wrong model for its card. */
export function floatOutput(outputs: Record<string, Tensor>, name: string, model: string): FloatTensor {
  const out = outputs[name];
  if (!out) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The ${model} model has no output named ${name} (it returned ${Object.keys(outputs).join(', ') || 'nothing'})`, {
      details: { output: name },
    });
  }
  if (!(out.data instanceof Float32Array)) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `The ${model} model's output ${name} is ${out.type ?? out.data.constructor.name}, expected float32`, {
      details: { output: name },
    });
  }
  return { data: out.data, dims: out.dims };
}

/** Every output as float32 (see floatOutput), for decoders that tell their heads apart by shape rather than by name. */
export function floatOutputs(outputs: Record<string, Tensor>, model: string): Record<string, FloatTensor> {
  return Object.fromEntries(Object.keys(outputs).map((name) => [name, floatOutput(outputs, name, model)]));
}

/** The row count of one image's [1, rows, width] output (or [rows, width] without the batch dimension); -1 for any other shape. */
export function rowsOfOneImage(dims: readonly number[]): number {
  return dims.length === 3 && dims[0] === 1 ? dims[1]! : dims.length === 2 ? dims[0]! : -1;
}

export function shapeError(model: string, what: string, dims: readonly number[]): LoupeError {
  return new LoupeError('LOUPE_ERR_MODEL_LOAD', `The ${model} model returned ${what} of shape [${dims.join(', ')}]`, { details: { dims: [...dims] } });
}

export function int64Tensor(rows: readonly (readonly number[])[], width: number): Tensor {
  const data = new BigInt64Array(rows.length * width);
  rows.forEach((row, r) => row.forEach((v, c) => (data[r * width + c] = BigInt(v))));
  return { data, dims: [rows.length, width], type: 'int64' };
}

export function filledInt64(dims: readonly number[], value: number): Tensor {
  return { data: new BigInt64Array(dims.reduce((a, b) => a * b, 1)).fill(BigInt(value)), dims, type: 'int64' };
}

/** A tensor made of rows of `t` along the first axis, in the given order (repeats allowed). */
export function gatherRows(t: Tensor, rows: readonly number[]): Tensor {
  const rowSize = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const data = t.data;
  const out = new (data.constructor as new (n: number) => TensorData)(rows.length * rowSize);
  rows.forEach((r, i) => out.set(data.subarray(r * rowSize, (r + 1) * rowSize) as never, i * rowSize));
  return { data: out, dims: [rows.length, ...t.dims.slice(1)], ...(t.type === undefined ? {} : { type: t.type }) };
}

export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm > 0 ? v.map((x) => x / norm) : v.slice();
}
