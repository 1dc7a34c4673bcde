import type { VectorPoint } from '../port.js';
import type { CollectionParts } from './collection-parts.js';

interface Planned {
  readonly label: number;
  readonly point: VectorPoint;
  readonly fresh: boolean;
  /** The stored vector changed (or is new): the slab and the graph take it. */
  readonly moved: boolean;
  readonly before: string | undefined;
}

/**
 * Stores a checked batch in one transaction at the next generation, then brings the memory side
 * (labels, slab, filters) along. Returns the labels whose vectors the graph must (re)take: the
 * caller adds them, so that a failure there leaves the points stored and only the graph behind.
 */
export function commitUpsert(c: CollectionParts, batch: readonly VectorPoint[]): number[] {
  const { table, labels, slab } = c;
  const allocation = labels.allocation();
  const planned = table.stamp((gen) => {
    const out: Planned[] = [];
    for (const point of batch) {
      const payload = JSON.stringify(point.payload);
      const existing = table.byId(point.id);
      if (existing) {
        const moved = !slab.equals(existing.label, point.vector);
        table.update(existing.label, payload, moved ? point.vector : undefined, gen);
        out.push({ label: existing.label, point, fresh: false, moved, before: existing.payload });
      } else {
        const label = allocation.take();
        table.insert(label, point.id, payload, point.vector, gen);
        out.push({ label, point, fresh: true, moved: true, before: undefined });
      }
    }
    return out;
  });

  // Committed: the points are stored.
  allocation.commit();
  const moved: number[] = [];
  for (const p of planned) {
    if (p.fresh) labels.markAlive(p.label);
    if (p.moved) {
      slab.set(p.label, p.point.vector);
      moved.push(p.label);
    }
    c.filters.written(p.label, p.point.payload, p.before);
  }
  return moved;
}

/** Deletes the stored points of `ids` in one transaction; returns whether any was there. */
export function commitDelete(c: CollectionParts, ids: readonly string[]): boolean {
  const { table } = c;
  const removed = table.stamp(() => {
    const out: { label: number; payload: string }[] = [];
    for (const id of ids) {
      const row = table.byId(id);
      if (!row) continue;
      table.remove(row.label);
      out.push(row);
    }
    return out;
  });
  for (const { label, payload } of removed) {
    c.labels.release(label);
    c.filters.deleted(label, payload);
    c.graph.hide(label);
  }
  return removed.length > 0;
}
