import type { VectorFilter, VectorPayload } from '../port.js';

/**
 * The payload fields search filters on, inverted: for each field, each value → the labels whose
 * payload has it. A filter becomes a byte map over labels (what hnswlib's per-candidate filter
 * callback reads in O(1)) plus the matching labels themselves (what exact search over a narrow
 * filter walks). Kept in memory: a few postings per point, built from SQLite on the first
 * filtered call so that collections never filtered never pay for it.
 */

type Field = 'manifestId' | 'collection' | 'rights' | 'concept';
const FIELDS: readonly Field[] = ['manifestId', 'collection', 'rights', 'concept'];

/** The values of each filterable field in a payload. */
function termsOf(payload: VectorPayload): [Field, readonly string[]][] {
  return [
    ['manifestId', [payload.manifestId]],
    ['collection', payload.collections ?? []],
    ['rights', payload.rights === undefined ? [] : [payload.rights]],
    ['concept', payload.concepts ?? []],
  ];
}

const asList = (v: string | readonly string[]): readonly string[] => (typeof v === 'string' ? [v] : v);

/** The points a filter selects. `mask[label] === 1` for each of them. */
export interface Selection {
  readonly mask: Uint8Array;
  /** Ascending. */
  readonly labels: Int32Array;
}

/** The filter's fields that are set, in a canonical form (the cache key). */
export function filterKey(filter: VectorFilter): string | undefined {
  const parts: string[] = [];
  for (const f of FIELDS) {
    const v = filter[f];
    if (v === undefined) continue;
    parts.push(`${f}=${JSON.stringify([...new Set(asList(v))].sort())}`);
  }
  return parts.length === 0 ? undefined : parts.join('&');
}

export class TermIndex {
  private readonly postings = new Map<Field, Map<string, Set<number>>>(FIELDS.map((f) => [f, new Map()]));
  private readonly cache = new Map<string, Selection>();

  add(label: number, payload: VectorPayload): void {
    this.cache.clear();
    for (const [field, values] of termsOf(payload)) {
      const byValue = this.postings.get(field)!;
      for (const value of values) {
        let set = byValue.get(value);
        if (!set) byValue.set(value, (set = new Set()));
        set.add(label);
      }
    }
  }

  remove(label: number, payload: VectorPayload): void {
    this.cache.clear();
    for (const [field, values] of termsOf(payload)) {
      const byValue = this.postings.get(field)!;
      for (const value of values) {
        const set = byValue.get(value);
        if (!set) continue;
        set.delete(label);
        if (set.size === 0) byValue.delete(value);
      }
    }
  }

  /**
   * The labels matching every field given (a list matches any of its values), over labels below
   * `size`; `key` is the filter's filterKey (a filter that sets no field matches everything and
   * never gets here). The last few selections are cached until the next write: paging through a
   * filtered search asks again.
   */
  select(filter: VectorFilter, key: string, size: number): Selection {
    const hit = this.cache.get(key);
    if (hit && hit.mask.length >= size) return hit;

    const fields = FIELDS.filter((f) => filter[f] !== undefined).map((f) => {
      const byValue = this.postings.get(f)!;
      const sets = [...new Set(asList(filter[f]!))].map((v) => byValue.get(v)).filter((s): s is Set<number> => s !== undefined);
      return { sets, total: sets.reduce((n, s) => n + s.size, 0) };
    });
    // Walk the smallest field's postings; the others are checked through per-field marks.
    fields.sort((a, b) => a.total - b.total);
    const mask = new Uint8Array(size);
    const first = fields[0]!;
    if (fields.length === 1) {
      for (const set of first.sets) for (const label of set) mask[label] = 1;
    } else {
      // Bit j set: the label matches field j. Only labels of the first field can match all.
      const marks = new Uint8Array(size);
      const full = (1 << fields.length) - 1;
      fields.forEach((f, j) => {
        for (const set of f.sets) for (const label of set) marks[label]! |= 1 << j;
      });
      for (const set of first.sets) for (const label of set) if (marks[label] === full) mask[label] = 1;
    }
    let count = 0;
    for (const set of first.sets) for (const label of set) if (mask[label] === 1) count++;
    // A label in two of the first field's sets was counted twice: collect through the mask.
    const labels = new Int32Array(count);
    let n = 0;
    for (let label = 0; label < size && n < count; label++) if (mask[label] === 1) labels[n++] = label;
    const selection: Selection = { mask, labels: n === count ? labels : labels.subarray(0, n) };
    if (this.cache.size >= 4) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, selection);
    return selection;
  }
}
