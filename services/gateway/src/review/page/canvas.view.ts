// The canvases: the list on the left, paging through it, and the one canvas shown.
import { type RawAnnotation, count, keyOf, nameOf, parseAnnotation } from './annotation.model.js';
import { api } from './api.client.js';
import { renderAnnotations } from './annotations.view.js';
import { drawBoxes } from './canvas.drawing.js';
import { closeForm } from './correction.form.js';
import { $, el, safeUrl } from './dom.helpers.js';
import { renderConceptOptions, renderModelOptions } from './filters.view.js';
import { hideExplanation } from './explanation.view.js';
import { hideHistory } from './history.view.js';
import { type CanvasItem, type ListPage, current, filterParams, state, writeUrl } from './review.state.js';
import { ApiError, fail, run, say } from './status.view.js';

const PAGE_SIZE = 50;

/** The canvas whose IIIF image request failed and which is shown from its plain image URL. */
let plainImageOf: string | null = null;

export async function loadCanvases(reset: boolean): Promise<void> {
  if (reset) {
    state.canvases = [];
    state.canvasesDone = false;
  }
  const page = await api<ListPage<CanvasItem>>('v1/canvases', Object.assign(filterParams(), { limit: PAGE_SIZE, offset: state.canvases.length }));
  state.canvases.push(...page.items);
  state.canvasesDone = page.items.length < PAGE_SIZE;
  renderCanvasList();
}

function canvasIndex(): number {
  if (!state.canvas) return -1;
  const id = state.canvas.canvas.canvasId;
  return state.canvases.findIndex((item) => item.canvas.canvasId === id);
}

function renderCanvasList(): void {
  const list = $('canvas-list');
  const selected = canvasIndex();
  list.replaceChildren();
  state.canvases.forEach((item, i) => {
    const canvas = item.canvas;
    const button = el(
      'button',
      { type: 'button', class: 'canvas-item', 'aria-current': i === selected ? 'true' : undefined },
      el('img', { src: safeUrl(item.thumbnail), alt: '', loading: 'lazy', decoding: 'async' }),
      el('span', { class: 'canvas-label' }, canvas.label || keyOf(canvas.canvasId)),
      el('span', { class: 'muted' }, count(item.annotations, 'annotation', 'annotations')),
    );
    button.addEventListener('click', () => run(() => openCanvas(canvas.canvasId, '', true)));
    list.append(el('li', null, button));
  });
  const more = state.canvasesDone ? '' : '+';
  const loaded = state.canvases.length;
  $('canvas-count').textContent =
    loaded === 0
      ? 'No canvas matches the filters'
      : (selected >= 0 ? 'Canvas ' + (selected + 1) + ' of ' : '') + loaded + more + (loaded === 1 && !more ? ' canvas' : ' canvases');
  $('more-canvases').hidden = state.canvasesDone;
}

export async function openCanvas(canvasId: string, annotationKey: string, push: boolean): Promise<void> {
  const token = ++state.loadToken;
  let item = state.canvases.find((c) => c.canvas.canvasId === canvasId);
  if (!item) {
    // A linked canvas may lie outside the loaded page or the filters: ask for it alone.
    const page = await api<ListPage<CanvasItem>>('v1/canvases', { canvas: canvasId, limit: 1 });
    item = page.items[0];
    if (!item) throw new ApiError('LOUPE_ERR_NOT_FOUND', 'Loupe holds no annotations on canvas ' + canvasId);
  }
  const page = await api<ListPage<RawAnnotation>>('v1/annotations', Object.assign({ canvas: canvasId }, filterParams(), { limit: 10000 }));
  if (token !== state.loadToken) return;
  state.canvas = item;
  // An explanation is shown by its annotation's toggle, not listed as one more annotation.
  state.annotations = page.items.filter((raw) => !('loupe:explains' in raw)).map(parseAnnotation);
  hideExplanation();
  for (const a of state.annotations) {
    if (a.model) state.models.add(a.model);
    // An annotation's label is what the model or a curator said, not the concept's name: only the URI is learnt.
    if (a.concept) state.concepts.add(a.concept);
  }
  renderModelOptions();
  renderConceptOptions();
  let index = annotationKey ? state.annotations.findIndex((a) => a.key === annotationKey) : -1;
  if (index < 0 && state.annotations.length > 0) index = 0;
  state.selected = index;
  closeForm(false);
  hideHistory();
  const problem = renderCanvas(item);
  renderAnnotations();
  renderCanvasList();
  writeUrl(push);
  const title = item.canvas.label || keyOf(canvasId);
  const n = state.annotations.length;
  const selected = current();
  say("Canvas '" + title + "': " + count(n, 'annotation', 'annotations') + (selected ? "; selected '" + nameOf(selected) + "'" : ''));
  if (problem) fail(problem);
}

export function clearCanvas(message: string): void {
  state.loadToken++;
  state.canvas = null;
  state.annotations = [];
  state.selected = -1;
  hideExplanation();
  closeForm(false);
  hideHistory();
  $('canvas-title').textContent = 'No canvas';
  $('canvas-id').textContent = '';
  $('canvas-image').removeAttribute('src');
  $('canvas-image').alt = '';
  $('stage').classList.remove('loaded');
  renderAnnotations();
  renderCanvasList();
  writeUrl(false);
  say(message);
}

export async function stepCanvas(delta: number): Promise<void> {
  let next = canvasIndex() + delta;
  if (canvasIndex() < 0) next = delta > 0 ? 0 : -1;
  if (next >= state.canvases.length && !state.canvasesDone) await loadCanvases(false);
  const target = state.canvases[next];
  if (next < 0 || !target) {
    say(delta > 0 ? 'This is the last canvas' : 'This is the first canvas');
    return;
  }
  await openCanvas(target.canvas.canvasId, '', true);
}

function renderCanvas(item: CanvasItem): ApiError | null {
  const canvas = item.canvas;
  $('canvas-title').textContent = canvas.label || keyOf(canvas.canvasId);
  $('canvas-id').textContent = canvas.canvasId;
  const img = $('canvas-image');
  const src = safeUrl(plainImageOf === canvas.canvasId ? canvas.image.id : item.image);
  if (img.getAttribute('src') !== src) {
    $('stage').classList.remove('loaded');
    if (src) img.src = src;
    else img.removeAttribute('src');
  }
  img.alt = 'Image of canvas ' + (canvas.label || canvas.canvasId);
  drawBoxes();
  return src ? null : new ApiError('NO_IMAGE', 'canvas ' + canvas.canvasId + ' has no image URL the page can show');
}

/** Binds the image's load and error events: boxes are drawn once its natural size is known. */
export function bindCanvasImage(): void {
  const img = $('canvas-image');
  img.addEventListener('load', () => {
    $('stage').classList.add('loaded');
    drawBoxes();
  });
  img.addEventListener('error', () => {
    if (!img.getAttribute('src')) return;
    const tried = img.src;
    // A level 0 image server may not scale: try the image itself before giving up, and keep
    // to it for this canvas.
    const canvas = state.canvas && state.canvas.canvas;
    const plain = canvas ? safeUrl(canvas.image.id) : undefined;
    if (canvas && plain && plain !== tried) {
      plainImageOf = canvas.canvasId;
      img.src = plain;
      return;
    }
    fail(new ApiError('IMAGE', 'the image did not load from ' + tried));
  });
}
