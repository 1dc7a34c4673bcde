// The annotations panel: the list on the right, the selection, and the review actions.
import { type Annotation, type RawAnnotation, boxText, conceptName, nameOf, parseAnnotation, percent } from './annotation.model.js';
import { hasKey, post } from './api.client.js';
import { drawBoxes } from './canvas.drawing.js';
import { closeForm } from './correction.form.js';
import { $, el, safeUrl, type Child } from './dom.helpers.js';
import { explainable, explanationShown, toggleExplanation } from './explanation.view.js';
import { hideHistory } from './history.view.js';
import { type ReviewState, current, state, writeUrl } from './review.state.js';
import { ApiError, say } from './status.view.js';

const DONE: Readonly<Record<ReviewState, string>> = { accepted: 'Accepted', rejected: 'Rejected', corrected: 'Corrected', unreviewed: 'Back to unreviewed:' };

export function renderAnnotations(): void {
  const list = $('annotation-list');
  const whole = $('whole-list');
  list.replaceChildren();
  whole.replaceChildren();
  state.annotations.forEach((a, i) => {
    const selected = i === state.selected;
    const pick = el('button', { type: 'button', class: 'pick', id: 'annotation-' + i }, nameOf(a));
    pick.addEventListener('click', () => select(i));
    const details = el('dl', null);
    const row = (term: string, value: Child) => {
      if (value === '' || value === null || value === undefined) return;
      details.append(el('dt', null, term), el('dd', null, value));
    };
    if (a.concept) {
      const href = safeUrl(a.concept);
      row('Concept', href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, conceptName(a.concept)) : a.concept);
    }
    row('Model', a.model ? a.model + (a.version ? ' ' + a.version : '') : '');
    row('Confidence', a.confidence === null ? '' : percent(a.confidence));
    row('State', el('span', { class: 'state state-' + a.state }, a.state));
    row('Revision', String(a.revision));
    row('Box', boxText(a.box));
    row('Text', a.label ? a.text : '');
    row('Motivation', a.motivation);
    const item = el('li', { class: 'annotation' + (selected ? ' selected' : ''), 'aria-current': selected ? 'true' : undefined, 'data-key': a.key }, pick, details);
    if (explainable(a)) {
      const on = explanationShown(a.key);
      const why = el('button', { type: 'button', class: 'explain', 'aria-pressed': on ? 'true' : 'false' }, on ? 'Hide why' : 'Why?');
      why.addEventListener('click', () => void toggleExplanation(a, renderAnnotations));
      item.append(why);
    }
    list.append(item);
    if (!a.box) {
      const entry = el('button', { type: 'button', class: 'pick' }, nameOf(a), ' ', el('span', { class: 'state state-' + a.state }, a.state));
      entry.addEventListener('click', () => select(i));
      whole.append(el('li', { class: selected ? 'selected' : undefined, 'aria-current': selected ? 'true' : undefined }, entry));
    }
  });
  if (state.annotations.length === 0) list.append(el('li', { class: 'muted' }, state.canvas ? 'No annotation on this canvas matches the filters' : 'No canvas selected'));
  if (whole.childElementCount === 0) whole.append(el('li', { class: 'muted' }, 'None'));
  $('annotation-count').textContent = state.annotations.length === 0 ? '' : 'Annotation ' + (state.selected + 1) + ' of ' + state.annotations.length;
}

export function select(index: number): void {
  const a = state.annotations[index];
  if (index < 0 || !a) return;
  state.selected = index;
  closeForm(false);
  hideHistory();
  renderAnnotations();
  drawBoxes();
  writeUrl(false);
  const item = $('annotation-list').children[index];
  if (item && item.scrollIntoView) item.scrollIntoView({ block: 'nearest' });
  say('Annotation ' + (index + 1) + ' of ' + state.annotations.length + ": '" + nameOf(a) + "' (" + a.state + ')');
}

export function move(delta: number): void {
  if (state.annotations.length === 0) {
    say('No annotation to select on this canvas');
    return;
  }
  const next = state.selected + delta;
  if (next < 0) say('This is the first annotation of the canvas');
  else if (next >= state.annotations.length) say('This is the last annotation of the canvas: n opens the next canvas');
  else select(next);
}

function reviewer(): string | undefined {
  if (hasKey()) return undefined;
  const name = $('reviewer').value.trim();
  if (!name) throw new ApiError('REVIEWER', 'type your name in the Reviewer field first');
  return name;
}

export interface Correction {
  label?: string;
  concept?: string;
  text?: string;
  box?: { x: number; y: number; w: number; h: number };
}

export async function review(reviewState: ReviewState, key?: string, correction?: Correction): Promise<void> {
  const target = key ? state.annotations.find((a) => a.key === key) : current();
  if (!target) {
    say('Select an annotation first');
    return;
  }
  const body: { state: ReviewState; reviewer?: string; correction?: Correction } = { state: reviewState };
  const name = reviewer();
  if (name) body.reviewer = name;
  if (correction) body.correction = correction;
  const saved: Annotation = parseAnnotation(await post<RawAnnotation>('v1/annotations/' + encodeURIComponent(target.key) + '/review', body));
  const index = state.annotations.findIndex((a) => a.key === target.key);
  if (index >= 0) state.annotations[index] = saved;
  renderAnnotations();
  drawBoxes();
  say(DONE[reviewState] + " '" + nameOf(saved) + "'" + (saved.revision ? ' (revision ' + saved.revision + ')' : ''));
}
