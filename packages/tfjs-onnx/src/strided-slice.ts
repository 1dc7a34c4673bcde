import type { TfjsAttr } from './tfjs-model.js';
import { attrI } from './tf-attrs.js';

/** What TF's StridedSlice takes from one input axis: `count` elements from `start`, `step` apart. */
export interface SliceDim {
  start: number;
  step: number;
  count: number;
}

export interface SliceSpec {
  /** One per input axis. */
  dims: SliceDim[];
  /** The result's shape: shrunk axes dropped, new axes inserted. */
  outShape: number[];
}

/**
 * TF's StridedSlice on a tensor of known shape, every mask included (begin, end, shrink_axis,
 * ellipsis, new_axis), resolved to a start, step and count per input axis. The rules are those of
 * TF's ValidateStridedSliceOp: negative indices count from the end, bounds clamp, an ellipsis stands
 * for as many whole axes as the other entries leave, and axes past the spec are taken whole.
 */
export function stridedSliceSpec(shape: number[], begin: number[], end: number[], step: number[], attr: Record<string, TfjsAttr>): SliceSpec {
  const mask = (name: string, i: number) => (attrI(attr[name]) & (1 << i)) !== 0;
  const consuming = begin.filter((_, i) => !mask('new_axis_mask', i) && !mask('ellipsis_mask', i)).length;
  const dims: SliceDim[] = [];
  const outShape: number[] = [];
  const whole = () => {
    const n = shape[dims.length]!;
    dims.push({ start: 0, step: 1, count: n });
    outShape.push(n);
  };
  let sawEllipsis = false;
  for (let i = 0; i < begin.length; i++) {
    if (mask('ellipsis_mask', i)) {
      sawEllipsis = true;
      const covered = shape.length - consuming;
      for (let k = 0; k < covered; k++) whole();
      continue;
    }
    if (mask('new_axis_mask', i)) {
      outShape.push(1);
      continue;
    }
    const n = shape[dims.length]!;
    const s = step[i] ?? 1;
    if (s === 0) throw new RangeError('StridedSlice stride 0');
    if (mask('shrink_axis_mask', i)) {
      const b = begin[i]!;
      dims.push({ start: b < 0 ? b + n : b, step: 1, count: 1 });
      continue;
    }
    const clamp = (x: number) => (s > 0 ? Math.min(Math.max(x, 0), n) : Math.min(Math.max(x, -1), n - 1));
    const canonical = (x: number) => clamp(x < 0 ? x + n : x);
    const start = mask('begin_mask', i) ? (s > 0 ? 0 : n - 1) : canonical(begin[i]!);
    const stop = mask('end_mask', i) ? (s > 0 ? n : -1) : canonical(end[i]!);
    const count = Math.max(0, Math.ceil((stop - start) / s));
    dims.push({ start, step: s, count });
    outShape.push(count);
  }
  while (dims.length < shape.length) {
    if (sawEllipsis) throw new RangeError('StridedSlice spec does not cover the input');
    whole();
  }
  return { dims, outShape };
}
