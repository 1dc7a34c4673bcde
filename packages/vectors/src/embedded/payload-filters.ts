import type { VectorFilter, VectorPayload } from '../port.js';
import type { PointTable } from './point-table.js';
import { TermIndex, filterKey, type Selection } from './terms.js';

/**
 * The filters of a collection over its stored payloads: a TermIndex built from SQLite on the
 * first filtered call (collections never filtered never pay for it), then kept level with every
 * committed write.
 */
export class PayloadFilters {
  private terms: TermIndex | undefined;

  constructor(private readonly table: PointTable) {}

  /** The points `filter` selects among labels below `end`; undefined when it sets no field (everything). */
  select(filter: VectorFilter | undefined, end: number): Selection | undefined {
    const key = filter && filterKey(filter);
    if (!filter || key === undefined) return undefined;
    if (!this.terms) {
      const terms = new TermIndex();
      for (const [label, payload] of this.table.payloads()) terms.add(label, JSON.parse(payload) as VectorPayload);
      this.terms = terms;
    }
    return this.terms.select(filter, key, end);
  }

  /** A committed write: `before` is the payload the label had (JSON), if any. */
  written(label: number, payload: VectorPayload, before: string | undefined): void {
    if (!this.terms) return;
    if (before !== undefined) this.terms.remove(label, JSON.parse(before) as VectorPayload);
    this.terms.add(label, payload);
  }

  deleted(label: number, before: string): void {
    this.terms?.remove(label, JSON.parse(before) as VectorPayload);
  }

  clear(): void {
    this.terms = undefined;
  }
}
