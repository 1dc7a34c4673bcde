// Annotations as the page shows them, read defensively from the W3C annotations the API returns.
import { $ } from './dom.helpers.js';
import { state } from './review.state.js';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Annotation {
  id: string;
  key: string;
  motivation: string;
  label: string;
  text: string;
  concept: string;
  box: Box | null;
  model: string;
  version: string;
  confidence: number | null;
  state: string;
  revision: number;
  reviewer: string;
  modified: string;
}

interface RawBody {
  type?: unknown;
  purpose?: unknown;
  value?: unknown;
  source?: unknown;
  id?: unknown;
}
interface RawSelector {
  type?: unknown;
  value?: unknown;
}

/** An annotation as the API sends it; every field is checked before use. */
export interface RawAnnotation {
  id: string;
  body?: RawBody | (RawBody | null)[] | null;
  target?: string | { selector?: RawSelector | (RawSelector | null)[] } | null;
  motivation?: string | string[];
  generator?: { 'loupe:model'?: string; 'loupe:version'?: string } | null;
  'loupe:confidence'?: unknown;
  'loupe:reviewState'?: string;
  'loupe:revision'?: unknown;
  'loupe:reviewer'?: string;
  modified?: string;
}

export function keyOf(id: string): string {
  const path = String(id).split('?')[0]!.split('#')[0]!;
  return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

export function canvasSize(): { w: number; h: number } {
  const { width = 0, height = 0 } = state.canvas ? state.canvas.canvas : {};
  const img = $('canvas-image');
  if (width > 0 && height > 0) return { w: width, h: height };
  if (img.naturalWidth > 0) return { w: img.naturalWidth, h: img.naturalHeight };
  return { w: 0, h: 0 };
}

function parseXywh(fragment: string): Box | null {
  const match = /(?:^|&)xywh=(?:(pixel|percent):)?(-?[\d.]+),(-?[\d.]+),([\d.]+),([\d.]+)/.exec(fragment || '');
  if (!match) return null;
  let [x, y, w, h] = match.slice(2).map(Number) as [number, number, number, number];
  if (match[1] === 'percent') {
    const size = canvasSize();
    x = (x * size.w) / 100;
    w = (w * size.w) / 100;
    y = (y * size.h) / 100;
    h = (h * size.h) / 100;
  }
  return [x, y, w, h].every(Number.isFinite) ? { x, y, w, h } : null;
}

export function parseAnnotation(raw: RawAnnotation): Annotation {
  const bodies = Array.isArray(raw.body) ? raw.body : raw.body ? [raw.body] : [];
  let label = '';
  let text = '';
  let concept = '';
  for (const body of bodies) {
    if (!body || typeof body !== 'object') continue;
    if (body.type === 'TextualBody') {
      if (body.purpose) {
        if (!label) label = String(body.value || '');
      } else if (!text) text = String(body.value || '');
    } else if (typeof body.source === 'string') {
      if (!concept) concept = body.source;
    } else if (typeof body.id === 'string' && !concept) concept = body.id;
  }
  let fragment = '';
  const target = raw.target;
  if (typeof target === 'string') fragment = target.includes('#xywh=') ? target.slice(target.lastIndexOf('#xywh=') + 1) : '';
  else if (target && target.selector) {
    const selectors = Array.isArray(target.selector) ? target.selector : [target.selector];
    const selector = selectors.find((s) => s && s.type === 'FragmentSelector');
    if (selector && typeof selector.value === 'string') fragment = selector.value;
  }
  const generator = raw.generator || {};
  return {
    id: raw.id,
    key: keyOf(raw.id),
    motivation: ([] as string[]).concat(raw.motivation || []).join(', '),
    label,
    text,
    concept,
    box: parseXywh(fragment),
    model: generator['loupe:model'] || '',
    version: generator['loupe:version'] || '',
    confidence: typeof raw['loupe:confidence'] === 'number' ? raw['loupe:confidence'] : null,
    state: raw['loupe:reviewState'] || 'unreviewed',
    revision: typeof raw['loupe:revision'] === 'number' ? raw['loupe:revision'] : 0,
    reviewer: raw['loupe:reviewer'] || '',
    modified: raw.modified || '',
  };
}

export function conceptName(uri: string, label?: string): string {
  if (label) return label;
  if (!uri) return '';
  return state.conceptLabels.get(uri) || uri.replace(/\/+$/, '').split(/[/#]/).pop() || uri;
}

export function nameOf(a: Annotation): string {
  if (a.label) return a.label;
  if (a.text) return a.text.length > 40 ? a.text.slice(0, 39) + '…' : a.text;
  if (a.concept) return conceptName(a.concept);
  return a.motivation || 'annotation';
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + '%';
}

export function fixed(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(3) : '–';
}

export function count(n: number, one: string, many: string): string {
  return n + ' ' + (n === 1 ? one : many);
}

export function boxText(box: Box | null): string {
  return box ? [box.x, box.y, box.w, box.h].map((n) => Math.round(n)).join(', ') : 'whole canvas';
}
