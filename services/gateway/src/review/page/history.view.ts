// The history of the selected annotation: every revision, who made it and what it said.
import { type RawAnnotation, boxText, conceptName, count, nameOf, parseAnnotation } from './annotation.model.js';
import { api } from './api.client.js';
import { $, el } from './dom.helpers.js';
import { type ListPage, current, state } from './review.state.js';
import { say } from './status.view.js';

interface Revision {
  revision: number;
  state: string;
  reviewer?: string;
  at: string;
  note?: string;
  annotation: RawAnnotation;
}

export function hideHistory(): void {
  state.historyFor = null;
  $('history').hidden = true;
}

export async function toggleHistory(): Promise<void> {
  const a = current();
  if (!a) {
    say('Select an annotation first');
    return;
  }
  if (state.historyFor === a.key) {
    hideHistory();
    say('History closed');
    return;
  }
  const history = await api<ListPage<Revision>>('v1/annotations/' + encodeURIComponent(a.key) + '/history');
  const list = $('history-list');
  list.replaceChildren();
  for (const revision of history.items) {
    const then = parseAnnotation(revision.annotation);
    list.append(
      el(
        'li',
        { class: 'revision' },
        el('strong', null, 'Revision ' + revision.revision + ': '),
        el('span', { class: 'state state-' + revision.state }, revision.state),
        revision.reviewer ? ' by ' + revision.reviewer : ' (as produced)',
        ' · ',
        el('time', { datetime: revision.at }, new Date(revision.at).toLocaleString()),
        el('div', null, "'" + nameOf(then) + "'", then.concept ? ' · ' + conceptName(then.concept) : '', ' · ' + boxText(then.box)),
        revision.note ? el('div', { class: 'muted' }, revision.note) : null,
      ),
    );
  }
  state.historyFor = a.key;
  $('history-title').textContent = "History of '" + nameOf(a) + "'";
  $('history').hidden = false;
  say("History of '" + nameOf(a) + "': " + count(history.items.length, 'revision', 'revisions'));
}
