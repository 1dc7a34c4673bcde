import type { VectorFilter, VectorPayload, VectorPoint } from '../port.js';
import { storeError } from './checks.js';
import type { CollectionParts } from './collection-parts.js';
import { vectorOf, type StoredPoint } from './point-table.js';

/**
 * Every point (or those `filter` selects) in batches. Each page is read in one go and no cursor
 * stays open across yields, so writes may run between pages; `checkOpen` guards each page.
 */
export async function* scrollPoints(c: CollectionParts, checkOpen: () => void, opts: { filter?: VectorFilter; batch?: number }): AsyncGenerator<VectorPoint[]> {
  const batch = Math.min(10_000, Math.max(1, Math.floor(opts.batch ?? 500)));
  const page = <T>(read: () => T): T => {
    try {
      checkOpen();
      return read();
    } catch (err) {
      throw storeError('scroll', err);
    }
  };
  // A snapshot of the matching labels (selections are shared and may be replaced).
  const labels = page(() => c.filters.select(opts.filter, c.labels.end)?.labels.slice());
  if (labels) {
    for (let from = 0; from < labels.length; from += batch) {
      const rows = page(() => {
        const out: StoredPoint[] = [];
        for (const label of labels.subarray(from, from + batch)) {
          const row = c.table.point(label);
          if (row) out.push(row);
        }
        return out;
      });
      if (rows.length > 0) yield toPoints(rows, c.spec.dims);
    }
    return;
  }
  // Keyset paging in label order: stable.
  let after = -1;
  for (;;) {
    const rows = page(() => c.table.pageAfter(after, batch));
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.label;
    yield toPoints(rows, c.spec.dims);
    if (rows.length < batch) return;
  }
}

/** One Float32Array per batch; each point's vector is a view of its row. */
function toPoints(rows: readonly StoredPoint[], dims: number): VectorPoint[] {
  const block = new Float32Array(rows.length * dims);
  return rows.map((r, i) => ({ id: r.id, vector: vectorOf(r.v, dims, block.subarray(i * dims, (i + 1) * dims)), payload: JSON.parse(r.payload) as VectorPayload }));
}
