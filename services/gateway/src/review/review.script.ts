// The review page's script (GET /review/app.js): plain ES2020, no framework, no build step. Data
// from the API reaches the DOM only as text nodes and attributes, never as markup.
// Kept as a string module because `tsc -b` copies no assets: the page ships inside dist/ like the code.
// String.raw keeps backslashes as written; the text must hold no backtick and no dollar-brace.
export const REVIEW_SCRIPT = String.raw`(function () {
  'use strict';

  const STATES = ['unreviewed', 'accepted', 'rejected', 'corrected'];
  const DONE = { accepted: 'Accepted', rejected: 'Rejected', corrected: 'Corrected', unreviewed: 'Back to unreviewed:' };
  // Filter name in the API -> parameter in the page's own URL.
  const FILTERS = { concept: 'concept', model: 'model', reviewState: 'state', dataset: 'dataset' };
  const PAGE_SIZE = 50;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const REVIEWER_KEY = 'loupe.reviewer';
  // The API key lives in sessionStorage: gone when the tab closes, never in the URL or localStorage.
  const API_KEY = 'loupe.apiKey';

  const $ = (id) => document.getElementById(id);

  const state = {
    view: 'review',
    filters: { concept: '', model: '', reviewState: '', dataset: '' },
    canvases: [],
    canvasesDone: false,
    canvas: null,
    annotations: [],
    selected: -1,
    editing: null,
    historyFor: null,
    models: new Set(),
    concepts: new Set(),
    conceptLabels: new Map(),
    datasets: [],
    evaluation: { model: '', dataset: '', iou: '' },
    loadToken: 0,
  };

  class ApiError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  // ---- DOM helpers: text always goes in as text nodes or attributes, never as markup.

  function el(tag, attrs) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (let i = 2; i < arguments.length; i++) appendChild(node, arguments[i]);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }

  function appendChild(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) child.forEach((c) => appendChild(node, c));
    else node.append(child instanceof Node ? child : String(child));
  }

  /** Only http(s) URLs reach src and href: a javascript: URL in the data must not run. */
  function safeUrl(value) {
    if (typeof value !== 'string' || value === '') return undefined;
    try {
      const url = new URL(value, document.baseURI);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
    } catch (_) {
      return undefined;
    }
  }

  function isTyping(target) {
    return target instanceof Element && (target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null);
  }

  // ---- Status line: every outcome and every error is announced here.

  function say(message) {
    const status = $('status');
    status.classList.remove('error');
    status.textContent = message;
  }

  function fail(err) {
    const status = $('status');
    status.classList.add('error');
    if (err instanceof ApiError) status.textContent = 'Error ' + err.code + ': ' + err.message;
    else status.textContent = 'Error: ' + (err && err.message ? err.message : String(err));
  }

  /** Runs an async action from an event; its failure is shown, never lost. */
  function run(action) {
    Promise.resolve()
      .then(action)
      .catch(fail);
  }

  // ---- API key: asked for when the API answers 401; behind a proxy that authenticates, never.

  let apiKey = '';
  try {
    apiKey = sessionStorage.getItem(API_KEY) || '';
  } catch (_) {
    apiKey = '';
  }
  let keyAsked = null;
  let keyAnswered = null;

  function useKey(key) {
    apiKey = key;
    try {
      if (key) sessionStorage.setItem(API_KEY, key);
      else sessionStorage.removeItem(API_KEY);
    } catch (_) {
      // Storage refused (a private window): the key still applies to this page.
    }
    // An authenticated review records the key's holder; the typed name would be ignored.
    document.querySelector('.bar .reviewer').hidden = Boolean(key);
    $('key-change').hidden = !key;
  }

  /** Shows the key form; every request that met a 401 waits for the same answer. */
  function askForKey(why) {
    if (!keyAsked) {
      keyAsked = new Promise((resolve) => (keyAnswered = resolve));
      $('key-why').textContent = why;
      $('api-key').value = '';
      $('key-form').hidden = false;
      $('api-key').focus();
      say(why);
    }
    return keyAsked;
  }

  function keyGiven(event) {
    event.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) return;
    $('key-form').hidden = true;
    $('api-key').value = '';
    useKey(key);
    const answered = keyAnswered;
    keyAsked = keyAnswered = null;
    if (answered) answered();
  }

  // ---- API

  async function api(path, params, init) {
    let url = path;
    if (params) {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) {
        if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
      }
      const text = query.toString();
      if (text) url += '?' + text;
    }
    let response;
    for (;;) {
      const headers = Object.assign({ accept: 'application/json' }, init && init.headers);
      if (apiKey) headers.authorization = 'Bearer ' + apiKey;
      try {
        response = await fetch(url, Object.assign({}, init || {}, { headers }));
      } catch (err) {
        throw new ApiError('NETWORK', 'cannot reach Loupe for ' + url + ' (' + (err && err.message ? err.message : err) + ')');
      }
      if (response.status !== 401) break;
      const refused = Boolean(apiKey);
      useKey('');
      await askForKey(refused ? 'That key was refused: enter another API key.' : 'This Loupe needs an API key (a curator key to review).');
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = null;
      }
    }
    if (!response.ok) {
      // Loupe answers {code, message, status, ...}; a proxy in front may wrap it in {error: ...}.
      const error = body && typeof body === 'object' ? (body.error && typeof body.error === 'object' ? body.error : body) : null;
      if (error && typeof error.code === 'string') throw new ApiError(error.code, error.message || 'no message');
      throw new ApiError('HTTP_' + response.status, url + ' answered ' + response.status + ' ' + response.statusText);
    }
    if (body === null) throw new ApiError('BAD_RESPONSE', url + ' did not answer JSON');
    return body;
  }

  function post(path, body) {
    return api(path, null, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  function filterParams() {
    const out = {};
    for (const name of Object.keys(FILTERS)) if (state.filters[name]) out[name] = state.filters[name];
    return out;
  }

  // ---- Annotations as the page shows them

  function keyOf(id) {
    const path = String(id).split('?')[0].split('#')[0];
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
  }

  function canvasSize() {
    const canvas = state.canvas && state.canvas.canvas;
    const img = $('canvas-image');
    if (canvas && canvas.width > 0 && canvas.height > 0) return { w: canvas.width, h: canvas.height };
    if (img.naturalWidth > 0) return { w: img.naturalWidth, h: img.naturalHeight };
    return { w: 0, h: 0 };
  }

  function parseXywh(fragment) {
    const match = /(?:^|&)xywh=(?:(pixel|percent):)?(-?[\d.]+),(-?[\d.]+),([\d.]+),([\d.]+)/.exec(fragment || '');
    if (!match) return null;
    let [x, y, w, h] = match.slice(2).map(Number);
    if (match[1] === 'percent') {
      const size = canvasSize();
      x = (x * size.w) / 100;
      w = (w * size.w) / 100;
      y = (y * size.h) / 100;
      h = (h * size.h) / 100;
    }
    return [x, y, w, h].every(Number.isFinite) ? { x, y, w, h } : null;
  }

  function parseAnnotation(raw) {
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
      motivation: [].concat(raw.motivation || []).join(', '),
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

  function conceptName(uri, label) {
    if (label) return label;
    if (!uri) return '';
    return state.conceptLabels.get(uri) || uri.replace(/\/+$/, '').split(/[/#]/).pop() || uri;
  }

  function nameOf(a) {
    if (a.label) return a.label;
    if (a.text) return a.text.length > 40 ? a.text.slice(0, 39) + '…' : a.text;
    if (a.concept) return conceptName(a.concept);
    return a.motivation || 'annotation';
  }

  function percent(value) {
    return value === null || value === undefined ? '–' : (value * 100).toFixed(1) + '%';
  }

  function fixed(value) {
    return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(3) : '–';
  }

  function count(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function boxText(box) {
    return box ? [box.x, box.y, box.w, box.h].map((n) => Math.round(n)).join(', ') : 'whole canvas';
  }

  function current() {
    return state.annotations[state.selected] || null;
  }

  // ---- URL: the view can be linked

  function readUrl() {
    const query = new URLSearchParams(location.search);
    for (const [name, param] of Object.entries(FILTERS)) state.filters[name] = query.get(param) || '';
    if (!STATES.includes(state.filters.reviewState)) state.filters.reviewState = '';
    state.view = query.get('view') === 'evaluation' ? 'evaluation' : 'review';
    state.evaluation = { model: query.get('evalModel') || '', dataset: query.get('evalDataset') || '', iou: query.get('iou') || '' };
    return { canvas: query.get('canvas') || '', annotation: query.get('annotation') || '' };
  }

  function writeUrl(push) {
    const query = new URLSearchParams();
    if (state.view === 'evaluation') query.set('view', 'evaluation');
    if (state.canvas) query.set('canvas', state.canvas.canvas.canvasId);
    const a = current();
    if (a) query.set('annotation', a.key);
    for (const [name, param] of Object.entries(FILTERS)) if (state.filters[name]) query.set(param, state.filters[name]);
    if (state.evaluation.model) query.set('evalModel', state.evaluation.model);
    if (state.evaluation.dataset) query.set('evalDataset', state.evaluation.dataset);
    if (state.evaluation.iou) query.set('iou', state.evaluation.iou);
    const search = query.toString();
    const url = location.pathname + (search ? '?' + search : '');
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  // ---- Canvases

  async function loadCanvases(reset) {
    if (reset) {
      state.canvases = [];
      state.canvasesDone = false;
    }
    const page = await api('v1/canvases', Object.assign(filterParams(), { limit: PAGE_SIZE, offset: state.canvases.length }));
    state.canvases.push(...page.items);
    state.canvasesDone = page.items.length < PAGE_SIZE;
    renderCanvasList();
  }

  function canvasIndex() {
    if (!state.canvas) return -1;
    const id = state.canvas.canvas.canvasId;
    return state.canvases.findIndex((item) => item.canvas.canvasId === id);
  }

  function renderCanvasList() {
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

  async function openCanvas(canvasId, annotationKey, push) {
    const token = ++state.loadToken;
    let item = state.canvases.find((c) => c.canvas.canvasId === canvasId);
    if (!item) {
      // A linked canvas may lie outside the loaded page or the filters: ask for it alone.
      const page = await api('v1/canvases', { canvas: canvasId, limit: 1 });
      item = page.items[0];
      if (!item) throw new ApiError('LOUPE_ERR_NOT_FOUND', 'Loupe holds no annotations on canvas ' + canvasId);
    }
    const page = await api('v1/annotations', Object.assign({ canvas: canvasId }, filterParams(), { limit: 10000 }));
    if (token !== state.loadToken) return;
    state.canvas = item;
    state.annotations = page.items.map(parseAnnotation);
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
    const problem = renderCanvas();
    renderAnnotations();
    renderCanvasList();
    writeUrl(push);
    const title = item.canvas.label || keyOf(canvasId);
    const n = state.annotations.length;
    say("Canvas '" + title + "': " + count(n, 'annotation', 'annotations') + (current() ? "; selected '" + nameOf(current()) + "'" : ''));
    if (problem) fail(problem);
  }

  function clearCanvas(message) {
    state.loadToken++;
    state.canvas = null;
    state.annotations = [];
    state.selected = -1;
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

  async function stepCanvas(delta) {
    let next = canvasIndex() + delta;
    if (canvasIndex() < 0) next = delta > 0 ? 0 : -1;
    if (next >= state.canvases.length && !state.canvasesDone) await loadCanvases(false);
    if (next < 0 || next >= state.canvases.length) {
      say(delta > 0 ? 'This is the last canvas' : 'This is the first canvas');
      return;
    }
    await openCanvas(state.canvases[next].canvas.canvasId, '', true);
  }

  /** The canvas whose IIIF image request failed and which is shown from its plain image URL. */
  let plainImageOf = null;

  function renderCanvas() {
    const item = state.canvas;
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

  function drawBoxes() {
    const overlay = $('overlay');
    overlay.replaceChildren();
    const size = canvasSize();
    if (!(size.w > 0 && size.h > 0)) return;
    overlay.setAttribute('viewBox', '0 0 ' + size.w + ' ' + size.h);
    const fontSize = Math.max(size.w, size.h) / 50;
    const groups = [];
    state.annotations.forEach((a, i) => {
      if (!a.box) return;
      const selected = i === state.selected;
      const group = svg('g', { class: 'box state-' + a.state + (selected ? ' selected' : ''), 'data-key': a.key });
      const title = svg('title');
      title.textContent = nameOf(a) + ' (' + a.state + ')';
      const rect = svg('rect', { x: a.box.x, y: a.box.y, width: a.box.w, height: a.box.h });
      const above = a.box.y - fontSize * 0.3;
      const caption = svg('text', {
        x: a.box.x + fontSize * 0.2,
        y: above > fontSize ? above : a.box.y + fontSize * 1.1,
        'font-size': fontSize.toFixed(1),
      });
      caption.textContent = nameOf(a) + (a.confidence === null ? '' : ' ' + percent(a.confidence));
      group.append(title, rect, caption);
      group.addEventListener('click', () => select(i));
      groups.push({ group, selected });
    });
    // The selected box last, so that it is drawn on top.
    groups.sort((a, b) => Number(a.selected) - Number(b.selected)).forEach((g) => overlay.append(g.group));
  }

  // ---- Annotations panel

  function renderAnnotations() {
    const list = $('annotation-list');
    const whole = $('whole-list');
    list.replaceChildren();
    whole.replaceChildren();
    state.annotations.forEach((a, i) => {
      const selected = i === state.selected;
      const pick = el('button', { type: 'button', class: 'pick', id: 'annotation-' + i }, nameOf(a));
      pick.addEventListener('click', () => select(i));
      const details = el('dl', null);
      const row = (term, value) => {
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

  function select(index) {
    if (index < 0 || index >= state.annotations.length) return;
    state.selected = index;
    closeForm(false);
    hideHistory();
    renderAnnotations();
    drawBoxes();
    writeUrl(false);
    const item = $('annotation-list').children[index];
    if (item && item.scrollIntoView) item.scrollIntoView({ block: 'nearest' });
    const a = current();
    say('Annotation ' + (index + 1) + ' of ' + state.annotations.length + ": '" + nameOf(a) + "' (" + a.state + ')');
  }

  function move(delta) {
    if (state.annotations.length === 0) {
      say('No annotation to select on this canvas');
      return;
    }
    const next = state.selected + delta;
    if (next < 0) say('This is the first annotation of the canvas');
    else if (next >= state.annotations.length) say('This is the last annotation of the canvas: n opens the next canvas');
    else select(next);
  }

  function reviewer() {
    if (apiKey) return undefined;
    const name = $('reviewer').value.trim();
    if (!name) throw new ApiError('REVIEWER', 'type your name in the Reviewer field first');
    return name;
  }

  async function review(reviewState, key, correction) {
    const target = key ? state.annotations.find((a) => a.key === key) : current();
    if (!target) {
      say('Select an annotation first');
      return;
    }
    const body = { state: reviewState };
    const name = reviewer();
    if (name) body.reviewer = name;
    if (correction) body.correction = correction;
    const saved = parseAnnotation(await post('v1/annotations/' + encodeURIComponent(target.key) + '/review', body));
    const index = state.annotations.findIndex((a) => a.key === target.key);
    if (index >= 0) state.annotations[index] = saved;
    renderAnnotations();
    drawBoxes();
    say(DONE[reviewState] + " '" + nameOf(saved) + "'" + (saved.revision ? ' (revision ' + saved.revision + ')' : ''));
  }

  // ---- Correction form

  function openForm() {
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

  function closeForm(restoreFocus) {
    const wasOpen = state.editing !== null;
    state.editing = null;
    $('correct-form').hidden = true;
    if (wasOpen && restoreFocus) focusSelected();
  }

  function focusSelected() {
    const pick = $('annotation-' + state.selected);
    if (pick) pick.focus();
  }

  function correctionFromForm() {
    const before = state.editing.before;
    const correction = {};
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
    const raw = ['x', 'y', 'w', 'h'].map((f) => $('correct-' + f).value.trim());
    if (raw.some((v) => v !== '')) {
      const [x, y, w, h] = raw.map(Number);
      if (raw.some((v) => v === '') || ![x, y, w, h].every(Number.isFinite) || x < 0 || y < 0 || w <= 0 || h <= 0) {
        throw new ApiError('VALIDATION', 'the box needs x and y of at least 0 and a width and height above 0');
      }
      const box = { x: Math.round(x), y: Math.round(y), w: Math.round(w), h: Math.round(h) };
      const old = before.box;
      if (!old || box.x !== Math.round(old.x) || box.y !== Math.round(old.y) || box.w !== Math.round(old.w) || box.h !== Math.round(old.h)) correction.box = box;
    }
    return correction;
  }

  async function saveCorrection() {
    if (!state.editing) return;
    const correction = correctionFromForm();
    if (Object.keys(correction).length === 0) throw new ApiError('VALIDATION', 'nothing was changed: press a to accept the annotation as it is');
    await review('corrected', state.editing.key, correction);
    closeForm(true);
  }

  // ---- History

  function hideHistory() {
    state.historyFor = null;
    $('history').hidden = true;
  }

  async function toggleHistory() {
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
    const history = await api('v1/annotations/' + encodeURIComponent(a.key) + '/history');
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

  // ---- Filters, vocabularies, datasets

  function renderModelOptions() {
    const list = $('model-options');
    list.replaceChildren(...[...state.models].sort().map((m) => el('option', { value: m })));
  }

  function renderConceptOptions() {
    const uris = new Set([...state.conceptLabels.keys(), ...state.concepts]);
    const entries = [...uris].map((uri) => [uri, conceptName(uri)]).sort((a, b) => a[1].localeCompare(b[1]));
    $('concept-options').replaceChildren(...entries.map(([uri, label]) => el('option', { value: uri, label })));
  }

  function renderDatasetOptions() {
    const names = state.datasets.map((d) => d.name);
    for (const wanted of [state.filters.dataset, state.evaluation.dataset]) if (wanted && !names.includes(wanted)) names.push(wanted);
    const fill = (select, blank, value) => {
      select.replaceChildren(el('option', { value: '' }, blank), ...names.map((n) => el('option', { value: n }, n)));
      select.value = value;
    };
    fill($('filter-dataset'), 'any', state.filters.dataset);
    fill($('eval-dataset'), 'choose a dataset', state.evaluation.dataset);
  }

  async function loadVocabularies() {
    const list = await api('v1/vocabularies');
    const vocabularies = await Promise.all(list.items.slice(0, 20).map((v) => api('v1/vocabularies/' + encodeURIComponent(v.id))));
    for (const vocabulary of vocabularies) {
      for (const concept of vocabulary.concepts) {
        const labels = concept.prefLabel || {};
        const label = labels.en || labels[''] || Object.values(labels)[0];
        if (label) state.conceptLabels.set(concept.uri, label);
      }
    }
    renderConceptOptions();
  }

  async function loadDatasets() {
    const list = await api('v1/datasets');
    state.datasets = list.items;
    renderDatasetOptions();
  }

  function showFilters() {
    $('filter-concept').value = state.filters.concept;
    $('filter-model').value = state.filters.model;
    $('filter-state').value = state.filters.reviewState;
    renderDatasetOptions();
  }

  async function applyFilters() {
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

  // ---- Evaluation

  function table(id, caption, head, rows, foot) {
    const cells = (row, tag) =>
      el(
        'tr',
        null,
        row.map((cell, i) => (i === 0 ? el('th', { scope: tag === 'thead' ? 'col' : 'row' }, cell) : el(tag === 'thead' ? 'th' : 'td', tag === 'thead' ? { scope: 'col' } : null, cell))),
      );
    const node = el('table', { id, class: 'report' }, el('caption', null, caption), el('thead', null, cells(head, 'thead')), el('tbody', null, rows.map((r) => cells(r, 'tbody'))));
    if (foot && foot.length > 0) node.append(el('tfoot', null, foot.map((r) => cells(r, 'tfoot'))));
    return node;
  }

  function conceptCell(concept, label) {
    const name = conceptName(concept, label);
    return name === concept ? concept : el('span', { title: concept }, name);
  }

  function labelsSection(labels) {
    const section = el('section', { 'aria-labelledby': 'eval-labels-title' }, el('h3', { id: 'eval-labels-title' }, 'Labels (whole canvas)'));
    const classes = labels.classes || [];
    const average = (name, m) => (m ? [name, m.support === undefined ? '' : String(m.support), fixed(m.precision), fixed(m.recall), fixed(m.f1)] : null);
    section.append(
      table(
        'eval-labels',
        'Per class',
        ['Concept', 'Support', 'Precision', 'Recall', 'F1'],
        classes.map((c) => [conceptCell(c.concept, c.label), String(c.support), fixed(c.precision), fixed(c.recall), fixed(c.f1)]),
        [average('Micro average', labels.micro), average('Macro average', labels.macro)].filter(Boolean),
      ),
    );
    if (typeof labels.accuracy === 'number') section.append(el('p', null, 'Accuracy: ' + fixed(labels.accuracy)));
    const confusion = labels.confusion;
    if (confusion && Array.isArray(confusion.labels) && Array.isArray(confusion.matrix)) {
      // A DOM node can sit in one place only: each header cell gets its own.
      const name = (i) => {
        const concept = confusion.labels[i];
        return concept === undefined ? '' : conceptCell(concept, (classes.find((k) => k.concept === concept) || {}).label);
      };
      const node = table(
        'eval-confusion',
        'Confusion matrix',
        ['Truth ↓ · prediction →'].concat(confusion.labels.map((_, i) => name(i))),
        confusion.matrix.map((row, i) => [name(i)].concat(row.map(String))),
      );
      confusion.matrix.forEach((row, i) => {
        const cell = node.tBodies[0].rows[i] && node.tBodies[0].rows[i].cells[i + 1];
        if (cell) cell.classList.add('diagonal');
      });
      section.append(node);
    }
    return section;
  }

  function boxesSection(boxes) {
    const classes = boxes.classes || [];
    return el(
      'section',
      { 'aria-labelledby': 'eval-boxes-title' },
      el('h3', { id: 'eval-boxes-title' }, 'Boxes'),
      table(
        'eval-boxes',
        'Average precision per class',
        ['Concept', 'AP', 'Ground truth boxes'],
        classes.map((c) => [conceptCell(c.concept, c.label), fixed(c.ap), String(c.groundTruth)]),
        [['Mean AP', fixed(boxes.map), '']],
      ),
    );
  }

  function textSection(text) {
    const rows = [['CER', fixed(text.cer)], ['WER', fixed(text.wer)]];
    for (const [name, value] of Object.entries(text)) if (name !== 'cer' && name !== 'wer' && typeof value === 'number') rows.push([name, String(value)]);
    return el('section', { 'aria-labelledby': 'eval-text-title' }, el('h3', { id: 'eval-text-title' }, 'Text'), table('eval-text', 'Error rates (lower is better)', ['Measure', 'Value'], rows));
  }

  function renderReport(report) {
    const out = $('eval-result');
    out.replaceChildren(
      el('p', null, 'Model ', el('strong', null, report.model), ' on dataset ', el('strong', null, report.dataset), ': ' + count(report.canvases, 'canvas', 'canvases') + ' with ground truth.'),
    );
    if (report.labels) out.append(labelsSection(report.labels));
    if (report.boxes) out.append(boxesSection(report.boxes));
    if (report.text) out.append(textSection(report.text));
    if (!report.labels && !report.boxes && !report.text) out.append(el('p', null, 'Nothing to compare: the dataset holds no accepted or corrected annotation of a kind this model produces.'));
  }

  async function evaluate() {
    const model = $('eval-model').value.trim();
    const dataset = $('eval-dataset').value;
    const iou = $('eval-iou').value.trim();
    if (!model || !dataset) throw new ApiError('VALIDATION', 'choose a model and a dataset to evaluate');
    state.evaluation = { model, dataset, iou: iou === '0.5' ? '' : iou };
    writeUrl(false);
    $('eval-result').replaceChildren(el('p', { class: 'muted' }, 'Evaluating…'));
    say('Evaluating ' + model + ' on ' + dataset + '…');
    try {
      const report = await api('v1/evaluations', { model, dataset, iou: state.evaluation.iou });
      renderReport(report);
      say('Evaluated ' + model + ' on ' + dataset + ': ' + count(report.canvases, 'canvas', 'canvases'));
    } catch (err) {
      $('eval-result').replaceChildren();
      throw err;
    }
  }

  // ---- Views, help, keys

  function showView(view, push) {
    state.view = view;
    const review = view === 'review';
    $('view-review').hidden = !review;
    $('view-evaluation').hidden = review;
    $('tab-review').setAttribute('aria-selected', String(review));
    $('tab-evaluation').setAttribute('aria-selected', String(!review));
    if (!review) {
      if (!$('eval-model').value) $('eval-model').value = state.evaluation.model || state.filters.model;
      renderDatasetOptions();
      if (!$('eval-dataset').value && state.filters.dataset) $('eval-dataset').value = state.filters.dataset;
    }
    if (push !== null) writeUrl(push);
  }

  function toggleHelp(open) {
    const help = $('help');
    const show = open === undefined ? help.hidden : open;
    help.hidden = !show;
    $('help-toggle').setAttribute('aria-expanded', String(show));
    if (show) $('help-close').focus();
    else if (document.activeElement === document.body || help.contains(document.activeElement)) $('help-toggle').focus();
  }

  const KEYS = {
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

  function onKey(event) {
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

  function bind() {
    document.addEventListener('keydown', onKey);
    window.addEventListener('unhandledrejection', (event) => fail(event.reason));
    window.addEventListener('popstate', () => run(restore));

    useKey(apiKey);
    $('key-form').addEventListener('submit', keyGiven);
    $('key-change').addEventListener('click', () => {
      useKey('');
      run(restore);
    });

    const reviewerInput = $('reviewer');
    let saved = null;
    try {
      saved = localStorage.getItem(REVIEWER_KEY);
    } catch (_) {
      saved = null;
    }
    reviewerInput.value = saved || 'curator';
    reviewerInput.addEventListener('input', () => {
      try {
        localStorage.setItem(REVIEWER_KEY, reviewerInput.value.trim());
      } catch (_) {
        // Private windows may refuse storage: the name still applies to this page.
      }
    });

    $('tab-review').addEventListener('click', () => showView('review', true));
    $('tab-evaluation').addEventListener('click', () => showView('evaluation', true));
    $('help-toggle').addEventListener('click', () => toggleHelp());
    $('help-close').addEventListener('click', () => toggleHelp(false));

    $('filters').addEventListener('submit', (event) => {
      event.preventDefault();
      run(applyFilters);
    });
    for (const id of ['filter-state', 'filter-dataset']) $(id).addEventListener('change', () => run(applyFilters));
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
      if (plain && plain !== tried) {
        plainImageOf = canvas.canvasId;
        img.src = plain;
        return;
      }
      fail(new ApiError('IMAGE', 'the image did not load from ' + tried));
    });
  }

  async function restore() {
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
    // Vocabularies and datasets only fill the choices: their failure is reported after the main view loaded.
    const failed = side.find((s) => s.status === 'rejected');
    if (failed) fail(failed.reason);
  }

  bind();
  run(restore);
})();
`;
