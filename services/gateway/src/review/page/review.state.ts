// The page's state, and the URL that links to it.
import type { Annotation } from './annotation.model.js';

export const STATES = ['unreviewed', 'accepted', 'rejected', 'corrected'] as const;
export type ReviewState = (typeof STATES)[number];

export interface Filters {
  concept: string;
  model: string;
  reviewState: string;
  dataset: string;
}
// Filter name in the API -> parameter in the page's own URL.
const FILTERS: Readonly<Record<keyof Filters, string>> = { concept: 'concept', model: 'model', reviewState: 'state', dataset: 'dataset' };
const FILTER_NAMES = Object.keys(FILTERS) as (keyof Filters)[];

/** A canvas as GET v1/canvases lists it. */
export interface CanvasItem {
  canvas: { canvasId: string; manifestId?: string; label?: string; width?: number; height?: number; image: { id: string } };
  image?: string;
  thumbnail?: string;
  annotations: number;
}

export interface Dataset {
  name: string;
}

export interface ListPage<T> {
  items: T[];
}

export type View = 'review' | 'evaluation' | 'people';

export const state = {
  view: 'review' as View,
  filters: { concept: '', model: '', reviewState: '', dataset: '' } as Filters,
  canvases: [] as CanvasItem[],
  canvasesDone: false,
  canvas: null as CanvasItem | null,
  annotations: [] as Annotation[],
  selected: -1,
  editing: null as { key: string; before: Annotation } | null,
  historyFor: null as string | null,
  models: new Set<string>(),
  concepts: new Set<string>(),
  conceptLabels: new Map<string, string>(),
  datasets: [] as Dataset[],
  evaluation: { model: '', dataset: '', iou: '' },
  /** The People view's manifest: whose faces are grouped into people. */
  peopleManifest: '',
  loadToken: 0,
};

export function current(): Annotation | null {
  return state.annotations[state.selected] || null;
}

export function filterParams(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FILTER_NAMES) if (state.filters[name]) out[name] = state.filters[name];
  return out;
}

export function readUrl(): { canvas: string; annotation: string } {
  const query = new URLSearchParams(location.search);
  for (const name of FILTER_NAMES) state.filters[name] = query.get(FILTERS[name]) || '';
  if (!(STATES as readonly string[]).includes(state.filters.reviewState)) state.filters.reviewState = '';
  const view = query.get('view');
  state.view = view === 'evaluation' || view === 'people' ? view : 'review';
  state.peopleManifest = query.get('people') || '';
  state.evaluation = { model: query.get('evalModel') || '', dataset: query.get('evalDataset') || '', iou: query.get('iou') || '' };
  return { canvas: query.get('canvas') || '', annotation: query.get('annotation') || '' };
}

export function writeUrl(push: boolean): void {
  const query = new URLSearchParams();
  if (state.view !== 'review') query.set('view', state.view);
  if (state.peopleManifest) query.set('people', state.peopleManifest);
  if (state.canvas) query.set('canvas', state.canvas.canvas.canvasId);
  const a = current();
  if (a) query.set('annotation', a.key);
  for (const name of FILTER_NAMES) if (state.filters[name]) query.set(FILTERS[name], state.filters[name]);
  if (state.evaluation.model) query.set('evalModel', state.evaluation.model);
  if (state.evaluation.dataset) query.set('evalDataset', state.evaluation.dataset);
  if (state.evaluation.iou) query.set('iou', state.evaluation.iou);
  const search = query.toString();
  const url = location.pathname + (search ? '?' + search : '');
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}
