/**
 * Where the tiles of one axis start, and how each is weighted where it overlaps its neighbours.
 * The grid of an image is the product of its two axes' spans, so the weights of every tile covering
 * a pixel multiply out to a sum of exactly 1: blending divides by nothing and shifts no colour.
 */
export interface Span {
  readonly start: number;
  readonly size: number;
  /** Pixels shared with the previous span (0 for the first). */
  readonly before: number;
  /** Pixels shared with the next span (0 for the last). */
  readonly after: number;
}

/**
 * Spans of `tile` covering `length` with at least `overlap` shared between neighbours, spread
 * evenly so the last ends on the edge: every span is a whole tile (one shape, so they batch), and
 * only an axis shorter than a tile gets one short span.
 */
export function spans(length: number, tile: number, overlap: number): Span[] {
  if (length <= tile) return [{ start: 0, size: length, before: 0, after: 0 }];
  const count = Math.max(2, Math.ceil((length - overlap) / (tile - overlap)));
  const starts = Array.from({ length: count }, (_, i) => Math.round((i * (length - tile)) / (count - 1)));
  return starts.map((start, i) => ({
    start,
    size: tile,
    before: i > 0 ? starts[i - 1]! + tile - start : 0,
    after: i < count - 1 ? start + tile - starts[i + 1]! : 0,
  }));
}

/**
 * One span's weights along its axis, in output pixels (`factor` per input pixel). Over a shared
 * part the weight ramps linearly from one tile to the next, and the outer quarter of it is left to
 * the neighbour entirely: a convolution sees zero padding at a tile's border, so the pixels nearest
 * it are the ones that differ from the whole image. Two neighbours' weights sum to 1 everywhere.
 */
export function spanWeights(span: Span, factor: number): Float32Array {
  const n = span.size * factor;
  const weights = new Float32Array(n).fill(1);
  const ramp = (shared: number, offset: number): number => {
    const margin = Math.floor(shared / 4);
    const width = shared - 2 * margin;
    return Math.min(1, Math.max(0, (offset + 0.5 - margin) / width));
  };
  if (span.before > 0) {
    const shared = span.before * factor;
    for (let i = 0; i < shared; i++) weights[i] = ramp(shared, i);
  }
  if (span.after > 0) {
    const shared = span.after * factor;
    for (let i = 0; i < shared; i++) weights[n - 1 - i] = Math.min(weights[n - 1 - i]!, ramp(shared, i));
  }
  return weights;
}
