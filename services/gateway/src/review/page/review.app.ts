// The review page's script (GET /review/app.js), bundled by review.bundle.ts into one classic
// script: no framework. Data from the API reaches the DOM only as text nodes and attributes.
import { move, review } from './annotations.view.js';
import { applyStoredKey, keyGiven, useKey } from './api.client.js';
import { bindCanvasImage, clearCanvas, loadCanvases, openCanvas, stepCanvas } from './canvas.view.js';
import { closeForm, openForm, saveCorrection } from './correction.form.js';
import { $ } from './dom.helpers.js';
import { evaluate } from './evaluation.view.js';
import { applyFilters, loadDatasets, loadVocabularies, renderDatasetOptions, showFilters } from './filters.view.js';
import { toggleHistory } from './history.view.js';
import { onKey, toggleHelp } from './keyboard.controls.js';
import { loadPeople, mergeSelected, nameThis, saveName, suggestManifest } from './people.view.js';
import { readUrl, state, writeUrl, type View } from './review.state.js';
import { fail, run, say } from './status.view.js';

const REVIEWER_KEY = 'loupe.reviewer';

/** Shows a tab; `push` null leaves the URL as it is (restoring from it). */
function showView(view: View, push: boolean | null): void {
  state.view = view;
  for (const name of ['review', 'evaluation', 'people'] as const) {
    $(`view-${name}`).hidden = name !== view;
    $(`tab-${name}`).setAttribute('aria-selected', String(name === view));
  }
  if (view === 'people') suggestManifest();
  if (view === 'evaluation') {
    if (!$('eval-model').value) $('eval-model').value = state.evaluation.model || state.filters.model;
    renderDatasetOptions();
    if (!$('eval-dataset').value && state.filters.dataset) $('eval-dataset').value = state.filters.dataset;
  }
  if (push !== null) writeUrl(push);
}

function bindReviewer(): void {
  const reviewerInput = $('reviewer');
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(REVIEWER_KEY);
  } catch {
    saved = null;
  }
  reviewerInput.value = saved || 'curator';
  reviewerInput.addEventListener('input', () => {
    try {
      localStorage.setItem(REVIEWER_KEY, reviewerInput.value.trim());
    } catch {
      // Private windows may refuse storage: the name still applies to this page.
    }
  });
}

function bind(): void {
  document.addEventListener('keydown', onKey);
  window.addEventListener('unhandledrejection', (event) => fail(event.reason));
  window.addEventListener('popstate', () => run(restore));

  applyStoredKey();
  $('key-form').addEventListener('submit', keyGiven);
  $('key-change').addEventListener('click', () => {
    useKey('');
    run(restore);
  });
  bindReviewer();

  $('tab-review').addEventListener('click', () => showView('review', true));
  $('tab-evaluation').addEventListener('click', () => showView('evaluation', true));
  $('tab-people').addEventListener('click', () => {
    showView('people', true);
    if ($('people-manifest').value) run(loadPeople);
  });
  $('help-toggle').addEventListener('click', () => toggleHelp());
  $('help-close').addEventListener('click', () => toggleHelp(false));

  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    run(applyFilters);
  });
  $('filter-state').addEventListener('change', () => run(applyFilters));
  $('filter-dataset').addEventListener('change', () => run(applyFilters));
  $('more-canvases').addEventListener('click', () => run(() => loadCanvases(false)));
  $('prev-canvas').addEventListener('click', () => run(() => stepCanvas(-1)));
  $('next-canvas').addEventListener('click', () => run(() => stepCanvas(1)));

  $('action-prev').addEventListener('click', () => move(-1));
  $('action-next').addEventListener('click', () => move(1));
  $('action-accept').addEventListener('click', () => run(() => review('accepted')));
  $('action-reject').addEventListener('click', () => run(() => review('rejected')));
  $('action-correct').addEventListener('click', () => openForm());
  $('action-unreview').addEventListener('click', () => run(() => review('unreviewed')));
  $('action-history').addEventListener('click', () => run(toggleHistory));

  $('correct-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(saveCorrection);
  });
  $('correct-form').addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    closeForm(true);
    say('Correction cancelled');
  });
  $('correct-cancel').addEventListener('click', () => {
    closeForm(true);
    say('Correction cancelled');
  });

  $('eval-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(evaluate);
  });
  $('people-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(loadPeople);
  });
  $('people-merge').addEventListener('click', () => run(mergeSelected));
  $('people-list').addEventListener('click', nameThis);
  $('name-form').addEventListener('submit', (event) => {
    event.preventDefault();
    run(saveName);
  });
  bindCanvasImage();
}

async function restore(): Promise<void> {
  const wanted = readUrl();
  showFilters();
  $('eval-model').value = state.evaluation.model;
  $('eval-iou').value = state.evaluation.iou || '0.5';
  showView(state.view, null);
  const side = await Promise.allSettled([loadVocabularies(), loadDatasets()]);
  await loadCanvases(true);
  const first = state.canvases[0];
  const canvas = wanted.canvas || (first ? first.canvas.canvasId : '');
  if (canvas) await openCanvas(canvas, wanted.annotation, false);
  else clearCanvas('No canvas matches the filters');
  if (state.view === 'evaluation' && state.evaluation.model && state.evaluation.dataset) await evaluate();
  if (state.view === 'people' && state.peopleManifest) {
    $('people-manifest').value = state.peopleManifest;
    await loadPeople();
  }
  // Vocabularies and datasets only fill the choices: their failure is reported after the main view loaded.
  const failed = side.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) fail(failed.reason);
}

bind();
run(restore);
