// Filters, and the choices they offer: models and concepts seen, vocabularies, datasets.
import { conceptName } from './annotation.model.js';
import { api } from './api.client.js';
import { clearCanvas, loadCanvases, openCanvas } from './canvas.view.js';
import { $, el } from './dom.helpers.js';
import { type Dataset, type ListPage, state } from './review.state.js';

interface Vocabulary {
  concepts: { uri: string; prefLabel?: Record<string, string> }[];
}

export function renderModelOptions(): void {
  const list = $('model-options');
  list.replaceChildren(...[...state.models].sort().map((m) => el('option', { value: m })));
}

export function renderConceptOptions(): void {
  const uris = new Set([...state.conceptLabels.keys(), ...state.concepts]);
  const entries = [...uris].map((uri) => [uri, conceptName(uri)] as const).sort((a, b) => a[1].localeCompare(b[1]));
  $('concept-options').replaceChildren(...entries.map(([uri, label]) => el('option', { value: uri, label })));
}

export function renderDatasetOptions(): void {
  const names = state.datasets.map((d) => d.name);
  for (const wanted of [state.filters.dataset, state.evaluation.dataset]) if (wanted && !names.includes(wanted)) names.push(wanted);
  const fill = (select: HTMLSelectElement, blank: string, value: string) => {
    select.replaceChildren(el('option', { value: '' }, blank), ...names.map((n) => el('option', { value: n }, n)));
    select.value = value;
  };
  fill($('filter-dataset'), 'any', state.filters.dataset);
  fill($('eval-dataset'), 'choose a dataset', state.evaluation.dataset);
}

export async function loadVocabularies(): Promise<void> {
  const list = await api<ListPage<{ id: string }>>('v1/vocabularies');
  const vocabularies = await Promise.all(list.items.slice(0, 20).map((v) => api<Vocabulary>('v1/vocabularies/' + encodeURIComponent(v.id))));
  for (const vocabulary of vocabularies) {
    for (const concept of vocabulary.concepts) {
      const labels = concept.prefLabel || {};
      const label = labels.en || labels[''] || Object.values(labels)[0];
      if (label) state.conceptLabels.set(concept.uri, label);
    }
  }
  renderConceptOptions();
}

export async function loadDatasets(): Promise<void> {
  const list = await api<ListPage<Dataset>>('v1/datasets');
  state.datasets = list.items;
  renderDatasetOptions();
}

export function showFilters(): void {
  $('filter-concept').value = state.filters.concept;
  $('filter-model').value = state.filters.model;
  $('filter-state').value = state.filters.reviewState;
  renderDatasetOptions();
}

export async function applyFilters(): Promise<void> {
  state.filters = {
    concept: $('filter-concept').value.trim(),
    model: $('filter-model').value.trim(),
    reviewState: $('filter-state').value,
    dataset: $('filter-dataset').value,
  };
  const keep = state.canvas ? state.canvas.canvas.canvasId : '';
  await loadCanvases(true);
  const next = state.canvases.find((c) => c.canvas.canvasId === keep) || state.canvases[0];
  if (next) await openCanvas(next.canvas.canvasId, '', true);
  else clearCanvas('No canvas matches these filters');
}
