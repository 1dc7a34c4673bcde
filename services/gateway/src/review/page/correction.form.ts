// The correction form: label, concept, box and text of the selected annotation.
import { nameOf } from './annotation.model.js';
import { type Correction, review } from './annotations.view.js';
import { $ } from './dom.helpers.js';
import { current, state } from './review.state.js';
import { ApiError, say } from './status.view.js';

const BOX_FIELDS = ['x', 'y', 'w', 'h'] as const;

export function openForm(): void {
  const a = current();
  if (!a) {
    say('Select an annotation first');
    return;
  }
  state.editing = { key: a.key, before: a };
  $('correct-title').textContent = "Correct '" + nameOf(a) + "'";
  $('correct-label').value = a.label;
  $('correct-concept').value = a.concept;
  $('correct-x').value = a.box ? String(Math.round(a.box.x)) : '';
  $('correct-y').value = a.box ? String(Math.round(a.box.y)) : '';
  $('correct-w').value = a.box ? String(Math.round(a.box.w)) : '';
  $('correct-h').value = a.box ? String(Math.round(a.box.h)) : '';
  $('correct-text').value = a.text;
  $('correct-form').hidden = false;
  $('correct-label').focus();
  $('correct-label').select();
  say("Correcting '" + nameOf(a) + "': Enter saves, Escape cancels");
}

export function closeForm(restoreFocus: boolean): void {
  const wasOpen = state.editing !== null;
  state.editing = null;
  $('correct-form').hidden = true;
  if (wasOpen && restoreFocus) focusSelected();
}

function focusSelected(): void {
  // Built at run time by renderAnnotations, so not one of the page's own elements.
  const pick = document.getElementById('annotation-' + state.selected);
  if (pick) pick.focus();
}

function correctionFromForm(before: { label: string; concept: string; text: string; box: Correction['box'] | null }): Correction {
  const correction: Correction = {};
  const label = $('correct-label').value.trim();
  const concept = $('correct-concept').value.trim();
  const text = $('correct-text').value;
  if (label !== before.label) {
    if (!label) throw new ApiError('VALIDATION', 'the label cannot be emptied; reject the annotation instead');
    correction.label = label;
  }
  if (concept !== before.concept) {
    if (!concept) throw new ApiError('VALIDATION', 'the concept cannot be emptied; reject the annotation instead');
    correction.concept = concept;
  }
  if (text !== before.text) correction.text = text;
  const raw = BOX_FIELDS.map((f) => $(`correct-${f}`).value.trim());
  if (raw.some((v) => v !== '')) {
    const [x, y, w, h] = raw.map(Number) as [number, number, number, number];
    if (raw.some((v) => v === '') || ![x, y, w, h].every(Number.isFinite) || x < 0 || y < 0 || w <= 0 || h <= 0) {
      throw new ApiError('VALIDATION', 'the box needs x and y of at least 0 and a width and height above 0');
    }
    const box = { x: Math.round(x), y: Math.round(y), w: Math.round(w), h: Math.round(h) };
    const old = before.box;
    if (!old || box.x !== Math.round(old.x) || box.y !== Math.round(old.y) || box.w !== Math.round(old.w) || box.h !== Math.round(old.h)) correction.box = box;
  }
  return correction;
}

export async function saveCorrection(): Promise<void> {
  if (!state.editing) return;
  const { key, before } = state.editing;
  const correction = correctionFromForm(before);
  if (Object.keys(correction).length === 0) throw new ApiError('VALIDATION', 'nothing was changed: press a to accept the annotation as it is');
  await review('corrected', key, correction);
  closeForm(true);
}
