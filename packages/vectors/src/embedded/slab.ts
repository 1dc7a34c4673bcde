/**
 * Every stored vector in memory, addressed by its label (the small integer the ANN index knows
 * the point by), in fixed-size chunks of one Float32Array each: growing never copies what is
 * there, no single allocation gets near V8's typed-array limits at a million 1280-d vectors,
 * and reading a row is a subarray view, never per-value objects.
 *
 * Why keep a copy beside hnswlib's own: hnswlib-node hands vectors back only as JS number arrays
 * (one object per value), and exact search (small collections, narrow filters) and exact
 * rescoring of graph hits need fast row access.
 */
export class VectorSlab {
  private readonly chunks: Float32Array[] = [];
  private readonly chunkShift: number;
  private readonly chunkMask: number;

  constructor(
    readonly dims: number,
    chunkRowsLog2 = 12,
  ) {
    this.chunkShift = chunkRowsLog2;
    this.chunkMask = (1 << chunkRowsLog2) - 1;
  }

  /** Drops every row (the collection is closing: its memory can go before the object does). */
  clear(): void {
    this.chunks.length = 0;
  }

  /** Rows the slab can hold without allocating. */
  get capacity(): number {
    return this.chunks.length << this.chunkShift;
  }

  private ensure(label: number): void {
    while (label >= this.capacity) this.chunks.push(new Float32Array((1 << this.chunkShift) * this.dims));
  }

  /** Copies a vector in. `bytes` is a little-endian float32 blob (how SQLite stores it). */
  setBytes(label: number, bytes: Uint8Array): void {
    this.ensure(label);
    const chunk = this.chunks[label >>> this.chunkShift]!;
    new Uint8Array(chunk.buffer, chunk.byteOffset + (label & this.chunkMask) * this.dims * 4, this.dims * 4).set(bytes);
  }

  set(label: number, v: Float32Array): void {
    this.ensure(label);
    this.chunks[label >>> this.chunkShift]!.set(v, (label & this.chunkMask) * this.dims);
  }

  /** A view of the row: valid until the label is written again. */
  row(label: number): Float32Array {
    const off = (label & this.chunkMask) * this.dims;
    return this.chunks[label >>> this.chunkShift]!.subarray(off, off + this.dims);
  }

  equals(label: number, v: Float32Array): boolean {
    if (label >= this.capacity) return false;
    const chunk = this.chunks[label >>> this.chunkShift]!;
    const off = (label & this.chunkMask) * this.dims;
    for (let k = 0; k < this.dims; k++) if (chunk[off + k] !== v[k]) return false;
    return true;
  }

  /** Inner product of the row with q (the cosine: both are unit length), in double precision. */
  dot(label: number, q: Float32Array): number {
    return dotAt(this.chunks[label >>> this.chunkShift]!, (label & this.chunkMask) * this.dims, q, this.dims);
  }
}

/** Inner product of m[offset .. offset + dims) with q, in double precision; 4 accumulators for speed. */
export function dotAt(m: Float32Array, offset: number, q: Float32Array, dims: number): number {
  let o = offset;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < dims; k += 4, o += 4) {
    s0 += m[o]! * q[k]!;
    s1 += m[o + 1]! * q[k + 1]!;
    s2 += m[o + 2]! * q[k + 2]!;
    s3 += m[o + 3]! * q[k + 3]!;
  }
  for (; k < dims; k++, o++) s0 += m[o]! * q[k]!;
  return s0 + s1 + s2 + s3;
}
