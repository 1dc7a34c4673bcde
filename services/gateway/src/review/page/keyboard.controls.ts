// Keys and the help that lists them; review.pages.test.ts keeps KEYS and the help in step.
import { move, review } from './annotations.view.js';
import { stepCanvas } from './canvas.view.js';
import { openForm } from './correction.form.js';
import { $, isTyping } from './dom.helpers.js';
import { hideHistory, toggleHistory } from './history.view.js';
import { state } from './review.state.js';
import { fail, run } from './status.view.js';

export function toggleHelp(open?: boolean): void {
  const help = $('help');
  const show = open === undefined ? help.hidden : open;
  help.hidden = !show;
  $('help-toggle').setAttribute('aria-expanded', String(show));
  if (show) $('help-close').focus();
  else if (document.activeElement === document.body || help.contains(document.activeElement)) $('help-toggle').focus();
}

const KEYS: Readonly<Record<string, () => void>> = {
  j: () => move(1),
  ArrowDown: () => move(1),
  k: () => move(-1),
  ArrowUp: () => move(-1),
  n: () => run(() => stepCanvas(1)),
  p: () => run(() => stepCanvas(-1)),
  a: () => run(() => review('accepted')),
  r: () => run(() => review('rejected')),
  u: () => run(() => review('unreviewed')),
  c: () => openForm(),
  h: () => run(toggleHistory),
  '?': () => toggleHelp(),
};

export function onKey(event: KeyboardEvent): void {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === 'Escape') {
    if (!$('help').hidden) toggleHelp(false);
    else if (state.historyFor) hideHistory();
    return;
  }
  // Letters typed into a field, or while the correction form is open, are text, not commands.
  if (isTyping(event.target) || state.editing) return;
  if (event.key !== '?' && (state.view !== 'review' || !$('help').hidden)) return;
  const action = Object.prototype.hasOwnProperty.call(KEYS, event.key) ? KEYS[event.key] : null;
  if (!action) return;
  event.preventDefault();
  try {
    action();
  } catch (err) {
    fail(err);
  }
}
