import { LoupeError } from '@loupe/contracts';
import type { Tensor, TensorData, TensorType } from '../session.js';

/** Axes (of the whole tensor, batch = 0) along which items of one batch may differ; shorter ones are padded. */
export interface PadSpec {
  axes: readonly number[];
  /** What the padding holds; 0 by default (PaddleOCR pads normalised line crops with zeros). */
  value?: number;
}

type TypedArrayConstructor = new (length: number) => TensorData;

export function tensorType(t: Tensor): TensorType {
  if (t.type) return t.type;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof Float64Array) return 'float64';
  if (t.data instanceof Uint8Array) return 'uint8';
  if (t.data instanceof Int8Array) return 'int8';
  if (t.data instanceof Int32Array) return 'int32';
  return 'int64';
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/**
 * What must match for two items to share a batch: input names, element types and every
 * dimension but the batch and the padded ones.
 */
export function batchKey(feeds: Record<string, Tensor>, padding: Record<string, PadSpec> | undefined): string {
  return Object.keys(feeds)
    .sort()
    .map((name) => {
      const t = feeds[name]!;
      const padded = padding?.[name]?.axes ?? [];
      const dims = t.dims.map((d, axis) => (axis === 0 ? 'n' : padded.includes(axis) ? '*' : String(d)));
      return `${name}:${tensorType(t)}:${dims.join('x')}`;
    })
    .join('|');
}

/**
 * Joins tensors along dim 0. Where `pad` names axes, each item is copied into the largest
 * size along them and the rest holds the pad value.
 */
export function concatBatch(items: readonly Tensor[], pad?: PadSpec): Tensor {
  const first = items[0]!;
  const type = tensorType(first);
  const rank = first.dims.length;
  const dims = [...first.dims];
  dims[0] = 0;
  for (const t of items) {
    dims[0] += t.dims[0]!;
    for (const axis of pad?.axes ?? []) dims[axis] = Math.max(dims[axis]!, t.dims[axis]!);
  }
  if (items.length === 1 && dims.every((d, i) => d === first.dims[i])) return first;
  const Ctor = first.data.constructor as TypedArrayConstructor;
  const out = new Ctor(elementCount(dims));
  const fill = pad?.value ?? 0;
  if (fill !== 0) {
    if (out instanceof BigInt64Array) out.fill(BigInt(fill));
    else out.fill(fill);
  }
  let batchOffset = 0;
  for (const t of items) {
    copyInto(out, dims, t, batchOffset, rank);
    batchOffset += t.dims[0]!;
  }
  return { data: out, dims, type };
}

/** Copies `t` into `out` (of `outDims`) starting at batch index `at`, row by row of the last axis. */
function copyInto(out: TensorData, outDims: readonly number[], t: Tensor, at: number, rank: number): void {
  const inDims = t.dims;
  const same = inDims.every((d, i) => i === 0 || d === outDims[i]);
  const outStride = elementCount(outDims.slice(1));
  if (same || rank < 2) {
    (out as Float32Array).set(t.data as Float32Array, at * outStride);
    return;
  }
  const row = inDims[rank - 1]!;
  const rows = elementCount(inDims) / row;
  // Strides of the output, per axis, to place each input row.
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * outDims[i + 1]!;
  const index = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < rows; r++) {
    let dst = at * strides[0]!;
    for (let i = 0; i < rank - 1; i++) dst += index[i]! * strides[i]!;
    (out as Float32Array).set((t.data as Float32Array).subarray(r * row, (r + 1) * row), dst);
    for (let i = rank - 2; i >= 0; i--) {
      if (++index[i]! < inDims[i]!) break;
      index[i] = 0;
    }
  }
}

/**
 * Cuts a batched output back into per-request parts along dim 0; `sizes` are the requests'
 * batch sizes. A part keeps its batch dim unless `squeeze` says its request came without one.
 */
export function splitBatch(name: string, t: Tensor, sizes: readonly number[], squeeze: readonly boolean[]): Tensor[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const type = tensorType(t);
  if (t.dims[0] !== total) {
    if (sizes.length === 1) return [squeeze[0] && t.dims[0] === 1 ? { data: t.data, dims: t.dims.slice(1), type } : t];
    throw new LoupeError(
      'LOUPE_ERR_INFERENCE',
      `Output ${name} has first dimension ${t.dims[0]}, not the batch size ${total}: it cannot be split per request`,
      { details: { output: name, dims: [...t.dims], batch: total } },
    );
  }
  if (sizes.length === 1) return [squeeze[0] ? { data: t.data, dims: t.dims.slice(1), type } : t];
  const per = elementCount(t.dims.slice(1));
  const parts: Tensor[] = [];
  let at = 0;
  sizes.forEach((n, i) => {
    // A view, not a copy: callers decode their part and drop it, and copying a detector's maps costs as much as joining its inputs.
    const data = t.data.subarray(at * per, (at + n) * per);
    parts.push({ data, dims: squeeze[i] ? t.dims.slice(1) : [n, ...t.dims.slice(1)], type });
    at += n;
  });
  return parts;
}
