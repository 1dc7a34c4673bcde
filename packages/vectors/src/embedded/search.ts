import type { SearchHit, SearchOptions, VectorPayload } from '../port.js';
import { invalid } from './checks.js';
import type { CollectionParts } from './collection-parts.js';
import type { Selection } from './terms.js';
import { TopK } from './topk.js';

const MAX_LIMIT = 1000;
const MAX_WINDOW = 10_000;

function isInteger(x: unknown, min: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min;
}

/**
 * Search: below `exactBelow` live points, brute force over the slab (exact, and fast at that
 * size). Otherwise the graph, whose hits are rescored from the slab so both paths give the same
 * double-precision cosines and break ties alike. A filter becomes a label mask (terms.ts); narrow
 * ones (≤ exactFilteredBelow) are searched exactly over the matching points, wider ones through
 * the graph with the mask as hnswlib's filter callback, so the result is the nearest among the
 * filtered, not the filtered nearest. Vectors are taken as given (the embed service normalises
 * them): the score is their inner product.
 */
export function searchPoints(c: CollectionParts, q: Float32Array, opts: SearchOptions): SearchHit[] {
  const limit = opts.limit ?? 10;
  const offset = opts.offset ?? 0;
  if (!isInteger(limit, 1) || limit > MAX_LIMIT) throw invalid(`limit must be an integer from 1 to ${MAX_LIMIT}`, { limit });
  if (!isInteger(offset, 0) || limit + offset > MAX_WINDOW) throw invalid(`offset must be an integer ≥ 0 with limit + offset ≤ ${MAX_WINDOW}`, { limit, offset });
  if (opts.minScore !== undefined && !Number.isFinite(opts.minScore)) throw invalid('minScore must be a finite number');
  const want = offset + limit;

  const sel = c.filters.select(opts.filter, c.labels.end);
  const excluded = new Set<number>();
  for (const id of opts.excludeIds ?? []) {
    const label = c.table.labelOf(id);
    if (label !== undefined && (!sel || sel.mask[label] === 1)) excluded.add(label);
  }
  const live = c.labels.live;
  const candidates = (sel ? sel.labels.length : live) - excluded.size;
  if (candidates <= 0) return [];

  let best: TopK | undefined;
  const exact = live < c.opts.exactBelow || (sel !== undefined && sel.labels.length <= exactFilteredBelow(c));
  if (!exact) {
    best = graphSearch(c, q, want, sel, excluded);
    // The graph found fewer than there are (a narrow filter in a sparse region): be exact.
    if (best.size < Math.min(want, candidates)) best = undefined;
  }
  best ??= exactSearch(c, q, want, sel, excluded);
  return hits(c, best, opts.minScore, offset);
}

/**
 * Up to how many filtered points exact search beats the graph. Graph search with a filter
 * visits about ef/selectivity candidates (at ef 32, 512-d: ~0.1 ms × n/m here), exact search
 * costs ~0.65 µs per filtered point: they meet near m = 12·√n (≈12,000 at a million).
 */
function exactFilteredBelow(c: CollectionParts): number {
  return c.opts.exactFilteredBelow ?? Math.max(c.opts.exactBelow, Math.round(12 * Math.sqrt(c.labels.live)));
}

function exactSearch(c: CollectionParts, q: Float32Array, k: number, sel: Selection | undefined, excluded: Set<number>): TopK {
  const top = new TopK(k);
  const slab = c.slab;
  if (sel) {
    for (const label of sel.labels) if (!excluded.has(label)) top.push(label, slab.dot(label, q));
  } else {
    const { alive, end } = c.labels;
    for (let label = 0; label < end; label++) if (alive[label] === 1 && !excluded.has(label)) top.push(label, slab.dot(label, q));
  }
  return top;
}

/** hnswlib search, then exact rescoring from the slab so both paths score (and tie) alike. */
function graphSearch(c: CollectionParts, q: Float32Array, want: number, sel: Selection | undefined, excluded: Set<number>): TopK {
  const alive = c.labels.alive;
  let k: number;
  let filter: ((label: number) => boolean) | undefined;
  if (sel) {
    const mask = sel.mask;
    k = want;
    filter = excluded.size === 0 ? (label) => mask[label] === 1 : (label) => mask[label] === 1 && !excluded.has(label);
  } else {
    // Excluded points are few (the image a search starts from): ask for more and drop them.
    k = want + excluded.size;
  }
  k = Math.min(k, c.graph.count);
  const top = new TopK(want);
  if (k === 0) return top;
  // A filtered search already explores far more of the graph (it keeps going until ef of its
  // candidates pass the filter), so it reaches the same recall at a much smaller ef.
  const neighbors = c.graph.nearest(q, k, sel ? c.opts.efFilteredSearch : c.opts.efSearch, filter);
  for (const label of neighbors) if (alive[label] === 1 && !excluded.has(label)) top.push(label, c.slab.dot(label, q));
  return top;
}

/** The ranked points from `offset` on (the TopK holds offset + limit), with their stored ids and payloads. */
function hits(c: CollectionParts, ranked: TopK, minScore: number | undefined, offset: number): SearchHit[] {
  const out: SearchHit[] = [];
  for (let i = offset; i < ranked.size; i++) {
    const score = ranked.scores[i]!;
    if (minScore !== undefined && score < minScore) break;
    const row = c.table.hit(ranked.labels[i]!);
    if (row) out.push({ id: row.id, score, payload: JSON.parse(row.payload) as VectorPayload });
  }
  return out;
}
