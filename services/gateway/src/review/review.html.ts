// The review page (GET /review). Its script and style are separate same-origin documents, so the
// page runs under a Content-Security-Policy without 'unsafe-inline'. Paths are relative: behind a
// proxy that mounts Loupe under a prefix the page still finds its script and the API.
// Kept as a string module because `tsc -b` copies no assets: the page ships inside dist/ like the code.
// String.raw keeps backslashes as written; the text must hold no backtick and no dollar-brace.
export const REVIEW_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Loupe · review</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="review/app.css">
<script src="review/app.js" defer></script>
</head>
<body>
<header class="bar">
  <h1>Loupe review</h1>
  <div role="tablist" aria-label="Views">
    <button type="button" role="tab" id="tab-review" aria-controls="view-review" aria-selected="true">Review</button>
    <button type="button" role="tab" id="tab-evaluation" aria-controls="view-evaluation" aria-selected="false">Evaluation</button>
    <button type="button" role="tab" id="tab-people" aria-controls="view-people" aria-selected="false">People</button>
  </div>
  <label class="reviewer">Reviewer <input id="reviewer" name="reviewer" autocomplete="name" spellcheck="false" maxlength="200"></label>
  <button type="button" id="key-change" hidden>Change API key</button>
  <button type="button" id="help-toggle" aria-controls="help" aria-expanded="false" aria-keyshortcuts="?">Keys <kbd>?</kbd></button>
</header>
<p id="status" class="status" role="status" aria-live="polite" aria-atomic="true">Loading…</p>
<form id="key-form" class="key-form" hidden aria-labelledby="key-why">
  <p id="key-why"></p>
  <label>API key <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false"></label>
  <button type="submit">Use this key</button>
  <span class="muted">Kept for this tab only.</span>
</form>

<section id="help" class="help" hidden aria-labelledby="help-title">
  <h2 id="help-title">Keys</h2>
  <table>
    <caption>Keys work when no text field has the focus.</caption>
    <tbody>
      <tr><th scope="row"><kbd>j</kbd> or <kbd>↓</kbd></th><td>Next annotation</td></tr>
      <tr><th scope="row"><kbd>k</kbd> or <kbd>↑</kbd></th><td>Previous annotation</td></tr>
      <tr><th scope="row"><kbd>n</kbd></th><td>Next canvas</td></tr>
      <tr><th scope="row"><kbd>p</kbd></th><td>Previous canvas</td></tr>
      <tr><th scope="row"><kbd>a</kbd></th><td>Accept the selected annotation</td></tr>
      <tr><th scope="row"><kbd>r</kbd></th><td>Reject it</td></tr>
      <tr><th scope="row"><kbd>c</kbd></th><td>Correct it: edit label, concept, box or text; <kbd>Enter</kbd> saves, <kbd>Esc</kbd> cancels</td></tr>
      <tr><th scope="row"><kbd>u</kbd></th><td>Back to unreviewed</td></tr>
      <tr><th scope="row"><kbd>h</kbd></th><td>Show or hide its history</td></tr>
      <tr><th scope="row"><kbd>?</kbd></th><td>Show or hide this help</td></tr>
      <tr><th scope="row"><kbd>Esc</kbd></th><td>Close this help or the history</td></tr>
    </tbody>
  </table>
  <button type="button" id="help-close">Close</button>
</section>

<main>
<div id="view-review" class="review" role="tabpanel" aria-labelledby="tab-review">
  <aside class="left" aria-label="Filters and canvases">
    <form id="filters" class="filters">
      <h2>Filters</h2>
      <label>Concept <input id="filter-concept" name="concept" list="concept-options" placeholder="URI or label" autocomplete="off"></label>
      <datalist id="concept-options"></datalist>
      <label>Model <input id="filter-model" name="model" list="model-options" autocomplete="off"></label>
      <datalist id="model-options"></datalist>
      <label>Review state
        <select id="filter-state" name="state">
          <option value="">any</option>
          <option value="unreviewed">unreviewed</option>
          <option value="accepted">accepted</option>
          <option value="rejected">rejected</option>
          <option value="corrected">corrected</option>
        </select>
      </label>
      <label>Dataset <select id="filter-dataset" name="dataset"><option value="">any</option></select></label>
      <button type="submit">Apply filters</button>
    </form>
    <h2 id="canvases-title">Canvases</h2>
    <p id="canvas-count" class="muted"></p>
    <ol id="canvas-list" class="canvas-list" aria-labelledby="canvases-title"></ol>
    <button type="button" id="more-canvases" hidden>Load more canvases</button>
  </aside>

  <section class="centre" aria-labelledby="canvas-title">
    <div class="canvas-head">
      <button type="button" id="prev-canvas" aria-keyshortcuts="p">Previous canvas <kbd>p</kbd></button>
      <h2 id="canvas-title">No canvas</h2>
      <button type="button" id="next-canvas" aria-keyshortcuts="n">Next canvas <kbd>n</kbd></button>
    </div>
    <p id="canvas-id" class="muted canvas-id"></p>
    <div id="stage" class="stage">
      <img id="canvas-image" alt="">
      <svg id="overlay" class="overlay" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none" aria-hidden="true"></svg>
    </div>
    <h3>Whole canvas</h3>
    <ul id="whole-list" class="whole-list"></ul>
  </section>

  <aside class="right" aria-label="Annotations">
    <div class="actions" role="toolbar" aria-label="Review the selected annotation">
      <button type="button" id="action-prev" aria-keyshortcuts="k">Previous <kbd>k</kbd></button>
      <button type="button" id="action-next" aria-keyshortcuts="j">Next <kbd>j</kbd></button>
      <button type="button" id="action-accept" class="accept" aria-keyshortcuts="a">Accept <kbd>a</kbd></button>
      <button type="button" id="action-reject" class="reject" aria-keyshortcuts="r">Reject <kbd>r</kbd></button>
      <button type="button" id="action-correct" aria-keyshortcuts="c">Correct <kbd>c</kbd></button>
      <button type="button" id="action-unreview" aria-keyshortcuts="u">Unreview <kbd>u</kbd></button>
      <button type="button" id="action-history" aria-keyshortcuts="h">History <kbd>h</kbd></button>
    </div>

    <form id="correct-form" class="correct" hidden aria-labelledby="correct-title">
      <h3 id="correct-title">Correct</h3>
      <label>Label <input id="correct-label" name="label" autocomplete="off"></label>
      <label>Concept URI <input id="correct-concept" name="concept" list="concept-options" autocomplete="off"></label>
      <fieldset>
        <legend>Box (canvas coordinates)</legend>
        <label>x <input id="correct-x" name="x" type="number" min="0" step="1" inputmode="numeric"></label>
        <label>y <input id="correct-y" name="y" type="number" min="0" step="1" inputmode="numeric"></label>
        <label>w <input id="correct-w" name="w" type="number" min="1" step="1" inputmode="numeric"></label>
        <label>h <input id="correct-h" name="h" type="number" min="1" step="1" inputmode="numeric"></label>
      </fieldset>
      <label>Text <input id="correct-text" name="text" autocomplete="off"></label>
      <div class="form-actions">
        <button type="submit">Save <kbd>Enter</kbd></button>
        <button type="button" id="correct-cancel">Cancel <kbd>Esc</kbd></button>
      </div>
    </form>

    <h2 id="annotations-title">Annotations</h2>
    <p id="annotation-count" class="muted"></p>
    <ol id="annotation-list" class="annotation-list" aria-labelledby="annotations-title"></ol>

    <section id="history" class="history" hidden aria-labelledby="history-title">
      <h3 id="history-title">History</h3>
      <ol id="history-list"></ol>
    </section>
  </aside>
</div>

<div id="view-evaluation" class="evaluation" role="tabpanel" aria-labelledby="tab-evaluation" hidden>
  <form id="eval-form" class="eval-form">
    <label>Model <input id="eval-model" name="model" list="model-options" autocomplete="off"></label>
    <label>Dataset <select id="eval-dataset" name="dataset"><option value="">choose a dataset</option></select></label>
    <label>IoU threshold <input id="eval-iou" name="iou" type="number" min="0.05" max="1" step="0.05" value="0.5"></label>
    <button type="submit">Evaluate</button>
  </form>
  <div id="eval-result" class="eval-result"></div>
</div>

<div id="view-people" class="people" role="tabpanel" aria-labelledby="tab-people" hidden>
  <form id="people-form" class="eval-form">
    <label>Manifest <input id="people-manifest" name="manifest" autocomplete="off" spellcheck="false" placeholder="Manifest URI"></label>
    <button type="submit">List people</button>
  </form>
  <h2 id="people-title">People</h2>
  <p id="people-count" class="muted"></p>
  <ol id="people-list" class="people-list" aria-labelledby="people-title"></ol>
  <button type="button" id="people-merge">Merge the selected people</button>
  <form id="name-form" class="name-form" aria-labelledby="name-title">
    <h3 id="name-title">Name a person</h3>
    <label>Person <select id="name-person" name="person"></select></label>
    <label>Name <input id="name-label" name="label" maxlength="500" autocomplete="off"></label>
    <label>Authority URI <input id="name-uri" name="uri" type="url" maxlength="2000" autocomplete="off" spellcheck="false" placeholder="a Wikidata entity or other record"></label>
    <button type="submit">Save the name</button>
  </form>
</div>
</main>
</body>
</html>
`;
