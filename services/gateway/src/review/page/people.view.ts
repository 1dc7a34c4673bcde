// The People tab: the people of one manifest (faces grouped by the embed service), each with its
// representative face; a curator names one (label and optional authority URI) or merges several.
// Plain checkboxes, buttons and form fields: every step works from the keyboard.
import { count } from './annotation.model.js';
import { api, post } from './api.client.js';
import { $, el, safeUrl } from './dom.helpers.js';
import { state, writeUrl } from './review.state.js';
import { ApiError, say } from './status.view.js';

interface Person {
  id: string;
  size: number;
  label?: string;
  uri?: string;
  representative: { canvasId: string; thumbnail?: string };
}

const nameOf = (p: Person): string => p.label || 'Unnamed';

function render(items: Person[], faces: number): void {
  $('people-count').textContent = count(items.length, 'person', 'people') + ' in ' + count(faces, 'face', 'faces');
  $('people-list').replaceChildren(
    ...items.map((p) =>
      el(
        'li',
        { 'data-person': p.id },
        el(
          'label',
          null,
          el('input', { type: 'checkbox', name: 'merge', value: p.id }),
          el('img', { src: safeUrl(p.representative.thumbnail), alt: 'Face of ' + nameOf(p), loading: 'lazy' }),
          el('span', null, el('strong', { class: 'person-name' }, nameOf(p)), el('br'), el('span', { class: 'muted' }, count(p.size, 'face', 'faces'))),
        ),
        p.uri && safeUrl(p.uri) ? el('a', { href: safeUrl(p.uri), rel: 'noopener noreferrer', target: '_blank' }, 'Authority record') : null,
        el('button', { type: 'button', class: 'name-this', 'data-person': p.id }, 'Name…'),
      ),
    ),
  );
  const chosen = $('name-person').value;
  $('name-person').replaceChildren(...items.map((p) => el('option', { value: p.id }, nameOf(p) + ' (' + count(p.size, 'face', 'faces') + ')')));
  if (items.some((p) => p.id === chosen)) $('name-person').value = chosen;
}

/** The manifest in the form, kept in the URL so that a reload shows the same people. */
function manifest(): string {
  const value = $('people-manifest').value.trim();
  if (!value) throw new ApiError('VALIDATION', 'enter the URI of a manifest whose people to list');
  if (value !== state.peopleManifest) {
    state.peopleManifest = value;
    writeUrl(false);
  }
  return value;
}

export async function loadPeople(): Promise<void> {
  const scope = manifest();
  say('Listing people…');
  const found = await api<{ faces: number; items: Person[] }>('v1/people', { manifest: scope });
  render(found.items, found.faces);
  say(count(found.items.length, 'person', 'people') + ' on this manifest');
}

/** The manifest of the canvas under review, when the People tab opens with none chosen. */
export function suggestManifest(): void {
  if (!$('people-manifest').value) $('people-manifest').value = state.peopleManifest || (state.canvas && state.canvas.canvas.manifestId) || '';
}

export async function mergeSelected(): Promise<void> {
  const ids = [...$('people-list').querySelectorAll<HTMLInputElement>('input[name="merge"]:checked')].map((box) => box.value);
  if (ids.length < 2) throw new ApiError('VALIDATION', 'select two people or more to merge');
  const merged = await post<Person>('v1/people/merge', { manifest: manifest(), ids });
  await loadPeople();
  say('Merged ' + ids.length + ' people into ' + nameOf(merged) + ' (' + count(merged.size, 'face', 'faces') + ')');
}

export async function saveName(): Promise<void> {
  const id = $('name-person').value;
  const label = $('name-label').value.trim();
  const uri = $('name-uri').value.trim();
  if (!id || !label) throw new ApiError('VALIDATION', 'choose a person and give a name');
  const named = await post<Person>('v1/people/' + encodeURIComponent(id) + '/name', { manifest: manifest(), label, ...(uri && { uri }) });
  $('name-label').value = '';
  $('name-uri').value = '';
  await loadPeople();
  // A person named for the first time gets a lasting id: keep them chosen.
  $('name-person').value = named.id;
  say('Named ' + count(named.size, 'face', 'faces') + ' ' + nameOf(named));
}

/** "Name…" on a person: choose them in the form and put the focus where the name is typed. */
export function nameThis(event: Event): void {
  const button = (event.target as Element).closest<HTMLElement>('button.name-this');
  if (!button) return;
  $('name-person').value = button.dataset['person'] || '';
  $('name-label').focus();
}
