// The review page's style (GET /review/app.css).
// Kept as a string module because `tsc -b` copies no assets: the page ships inside dist/ like the code.
// String.raw keeps backslashes as written; the text must hold no backtick and no dollar-brace.
export const REVIEW_STYLE = String.raw`:root {
  color-scheme: light dark;
  --bg: #fafafa;
  --fg: #1d1d1f;
  --muted: #5f6368;
  --line: #d0d4da;
  --panel: #ffffff;
  --accent: #0b57d0;
  --accepted: #137333;
  --rejected: #b3261e;
  --corrected: #7a4cc2;
  --unreviewed: #b06000;
  --error-bg: #fce8e6;
  font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  font-size: 15px;
}

@media (prefers-color-scheme: dark) {
  :root {
    --bg: #151515;
    --fg: #e8eaed;
    --muted: #9aa0a6;
    --line: #3c4043;
    --panel: #202124;
    --accent: #8ab4f8;
    --accepted: #81c995;
    --rejected: #f28b82;
    --corrected: #c58af9;
    --unreviewed: #fdd663;
    --error-bg: #5c2b29;
  }
}

* { box-sizing: border-box; }
/* Layout rules below set display; hidden must still hide. */
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 0.75rem 0 0.4rem; }
h3 { font-size: 0.95rem; margin: 0.75rem 0 0.4rem; }
.muted { color: var(--muted); }
kbd {
  font: 0.8em ui-monospace, monospace;
  border: 1px solid var(--line);
  border-radius: 3px;
  padding: 0 0.25em;
}
button {
  font: inherit;
  padding: 0.3rem 0.6rem;
  border: 1px solid var(--line);
  border-radius: 4px;
  background: var(--panel);
  color: inherit;
  cursor: pointer;
}
button:focus-visible, input:focus-visible, select:focus-visible, a:focus-visible {
  outline: 3px solid var(--accent);
  outline-offset: 1px;
}
input, select { font: inherit; padding: 0.25rem; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); color: inherit; }
label { display: block; margin: 0.3rem 0; }
label > input, label > select { display: block; width: 100%; }

.bar {
  display: flex;
  gap: 1rem;
  align-items: center;
  padding: 0.5rem 1rem;
  border-bottom: 1px solid var(--line);
  background: var(--panel);
}
.bar [role='tablist'] { display: flex; gap: 0.25rem; }
.bar [role='tab'][aria-selected='true'] { border-color: var(--accent); box-shadow: inset 0 -3px 0 var(--accent); }
.bar .reviewer { display: flex; gap: 0.4rem; align-items: center; margin: 0 0 0 auto; }
.bar .reviewer input { width: 10rem; }

.status { margin: 0; padding: 0.35rem 1rem; min-height: 2rem; border-bottom: 1px solid var(--line); }
.status.error { background: var(--error-bg); color: var(--rejected); font-weight: 600; }
.key-form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; padding: 0.5rem 1rem; border-bottom: 1px solid var(--line); }
.key-form p { margin: 0; flex-basis: 100%; font-weight: 600; }
.key-form input { width: 24rem; max-width: 100%; }

.help { position: fixed; top: 4rem; right: 1rem; z-index: 10; max-width: 30rem; padding: 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; box-shadow: 0 4px 24px rgb(0 0 0 / 25%); }
.help th { text-align: left; padding-right: 1rem; white-space: nowrap; }
.help caption { text-align: left; color: var(--muted); padding-bottom: 0.5rem; }

.review {
  display: grid;
  grid-template-columns: 17rem minmax(0, 1fr) 21rem;
  gap: 1rem;
  padding: 0 1rem 1rem;
  align-items: start;
}
.left, .right { max-height: calc(100vh - 6.5rem); overflow-y: auto; position: sticky; top: 0.5rem; }

.canvas-list { list-style: none; margin: 0; padding: 0; }
.canvas-item { display: grid; grid-template-columns: 64px 1fr; grid-template-rows: auto auto; column-gap: 0.5rem; width: 100%; text-align: left; margin-bottom: 0.3rem; }
.canvas-item img { grid-row: 1 / span 2; width: 64px; height: 64px; object-fit: contain; background: var(--bg); }
.canvas-item[aria-current='true'] { border-color: var(--accent); box-shadow: inset 4px 0 0 var(--accent); }
.canvas-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }

.canvas-head { display: flex; gap: 0.5rem; align-items: center; justify-content: space-between; }
.canvas-head h2 { margin: 0.5rem 0; text-align: center; flex: 1; }
.canvas-id { font-size: 0.8rem; margin: 0 0 0.5rem; word-break: break-all; }
.stage { position: relative; display: block; width: fit-content; max-width: 100%; margin: 0 auto; background: var(--panel); }
.stage img { display: block; max-width: 100%; max-height: calc(100vh - 12rem); height: auto; }
.overlay { position: absolute; inset: 0; width: 100%; height: 100%; overflow: visible; pointer-events: none; }
.overlay .box { pointer-events: auto; cursor: pointer; }
.overlay rect { fill: transparent; stroke: var(--unreviewed); stroke-width: 2px; vector-effect: non-scaling-stroke; }
.overlay text { fill: #fff; stroke: #000; stroke-width: 3px; paint-order: stroke; vector-effect: non-scaling-stroke; font-family: system-ui, sans-serif; }
.overlay .state-accepted rect { stroke: var(--accepted); }
.overlay .state-rejected rect { stroke: var(--rejected); stroke-dasharray: 6 4; }
.overlay .state-corrected rect { stroke: var(--corrected); }
.overlay .selected rect { stroke: var(--accent); stroke-width: 4px; fill: rgb(11 87 208 / 12%); }
.overlay .selected text { fill: #ffeb3b; }

.whole-list, .annotation-list { list-style: none; margin: 0; padding: 0; }
.whole-list li { margin-bottom: 0.25rem; }
.whole-list li.selected .pick, .annotation.selected { border-color: var(--accent); box-shadow: inset 4px 0 0 var(--accent); }
.annotation { border: 1px solid var(--line); border-radius: 4px; padding: 0.4rem 0.5rem; margin-bottom: 0.4rem; background: var(--panel); }
.annotation .pick { width: 100%; text-align: left; font-weight: 600; }
.annotation dl { display: grid; grid-template-columns: auto 1fr; gap: 0.1rem 0.6rem; margin: 0.4rem 0 0; font-size: 0.9rem; }
.annotation dt { color: var(--muted); }
.annotation dd { margin: 0; word-break: break-word; }
.state { font-weight: 600; }
.state-accepted { color: var(--accepted); }
.state-rejected { color: var(--rejected); }
.state-corrected { color: var(--corrected); }
.state-unreviewed { color: var(--unreviewed); }

.actions { display: flex; flex-wrap: wrap; gap: 0.3rem; margin: 0.5rem 0; }
.actions .accept { border-color: var(--accepted); }
.actions .reject { border-color: var(--rejected); }
.correct { border: 2px solid var(--accent); border-radius: 6px; padding: 0.5rem; margin: 0.5rem 0; background: var(--panel); }
.correct fieldset { display: grid; grid-template-columns: repeat(4, 1fr); gap: 0.3rem; border: 1px solid var(--line); margin: 0.3rem 0; }
.correct fieldset label { margin: 0; }
.form-actions { display: flex; gap: 0.4rem; margin-top: 0.4rem; }
.history ol { padding-left: 1.2rem; }
.history li { margin-bottom: 0.4rem; }

.evaluation { padding: 1rem; }
.eval-form { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; }
.eval-form label { margin: 0; }
table.report { border-collapse: collapse; margin: 0.5rem 0 1rem; }
table.report caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; white-space: nowrap; }
table.report th, table.report td { border: 1px solid var(--line); padding: 0.25rem 0.6rem; text-align: right; font-variant-numeric: tabular-nums; }
table.report th[scope='row'], table.report thead th:first-child { text-align: left; }
table.report tfoot { font-weight: 600; }
table.report td.diagonal { background: rgb(19 115 51 / 15%); }

.people { padding: 1rem; }
.people-list { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: 0.6rem; }
.people-list li { border: 1px solid var(--line); border-radius: 4px; padding: 0.4rem; }
.people-list label { display: flex; gap: 0.4rem; align-items: center; margin: 0; }
.people-list img { width: 4rem; height: 4rem; object-fit: cover; background: var(--line); }
.name-form { max-width: 32rem; margin-top: 1rem; }

@media (max-width: 1000px) {
  .review { grid-template-columns: 1fr; }
  .left, .right { position: static; max-height: none; }
}
`;
