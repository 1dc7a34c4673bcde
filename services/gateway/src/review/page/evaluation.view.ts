// The evaluation tab: a model scored against a dataset's reviewed annotations.
import { conceptName, count, fixed } from './annotation.model.js';
import { api } from './api.client.js';
import { $, el, type Child } from './dom.helpers.js';
import { state, writeUrl } from './review.state.js';
import { ApiError, say } from './status.view.js';

type Cell = Child;
interface Measures {
  support?: number;
  precision?: number;
  recall?: number;
  f1?: number;
}
interface LabelReport {
  classes?: ({ concept: string; label?: string; support: number } & Measures)[];
  micro?: Measures;
  macro?: Measures;
  accuracy?: number;
  confusion?: { labels?: string[]; matrix?: number[][] };
}
interface BoxReport {
  classes?: { concept: string; label?: string; ap?: number; groundTruth: number }[];
  map?: number;
}
interface EvaluationReport {
  model: string;
  dataset: string;
  canvases: number;
  labels?: LabelReport;
  boxes?: BoxReport;
  text?: Record<string, unknown> & { cer?: number; wer?: number };
}

function table(id: string, caption: string, head: Cell[], rows: Cell[][], foot?: Cell[][]): HTMLTableElement {
  const cells = (row: Cell[], tag: 'thead' | 'tbody' | 'tfoot') =>
    el(
      'tr',
      null,
      row.map((cell, i) => (i === 0 ? el('th', { scope: tag === 'thead' ? 'col' : 'row' }, cell) : el(tag === 'thead' ? 'th' : 'td', tag === 'thead' ? { scope: 'col' } : null, cell))),
    );
  const node = el('table', { id, class: 'report' }, el('caption', null, caption), el('thead', null, cells(head, 'thead')), el('tbody', null, rows.map((r) => cells(r, 'tbody'))));
  if (foot && foot.length > 0) node.append(el('tfoot', null, foot.map((r) => cells(r, 'tfoot'))));
  return node;
}

function conceptCell(concept: string, label?: string): Cell {
  const name = conceptName(concept, label);
  return name === concept ? concept : el('span', { title: concept }, name);
}

function labelsSection(labels: LabelReport): HTMLElement {
  const section = el('section', { 'aria-labelledby': 'eval-labels-title' }, el('h3', { id: 'eval-labels-title' }, 'Labels (whole canvas)'));
  const classes = labels.classes || [];
  const average = (name: string, m: Measures | undefined): Cell[] | null =>
    m ? [name, m.support === undefined ? '' : String(m.support), fixed(m.precision), fixed(m.recall), fixed(m.f1)] : null;
  section.append(
    table(
      'eval-labels',
      'Per class',
      ['Concept', 'Support', 'Precision', 'Recall', 'F1'],
      classes.map((c) => [conceptCell(c.concept, c.label), String(c.support), fixed(c.precision), fixed(c.recall), fixed(c.f1)]),
      [average('Micro average', labels.micro), average('Macro average', labels.macro)].filter((row): row is Cell[] => Boolean(row)),
    ),
  );
  if (typeof labels.accuracy === 'number') section.append(el('p', null, 'Accuracy: ' + fixed(labels.accuracy)));
  const confusion = labels.confusion;
  if (confusion && Array.isArray(confusion.labels) && Array.isArray(confusion.matrix)) {
    const conceptLabels = confusion.labels;
    // A DOM node can sit in one place only: each header cell gets its own.
    const name = (i: number): Cell => {
      const concept = conceptLabels[i];
      return concept === undefined ? '' : conceptCell(concept, (classes.find((k) => k.concept === concept) || { label: undefined }).label);
    };
    const node = table(
      'eval-confusion',
      'Confusion matrix',
      (['Truth ↓ · prediction →'] as Cell[]).concat(conceptLabels.map((_, i) => name(i))),
      confusion.matrix.map((row, i) => [name(i)].concat(row.map(String))),
    );
    confusion.matrix.forEach((_row, i) => {
      const cell = node.tBodies[0]!.rows[i] && node.tBodies[0]!.rows[i]!.cells[i + 1];
      if (cell) cell.classList.add('diagonal');
    });
    section.append(node);
  }
  return section;
}

function boxesSection(boxes: BoxReport): HTMLElement {
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

function textSection(text: NonNullable<EvaluationReport['text']>): HTMLElement {
  const rows: Cell[][] = [
    ['CER', fixed(text.cer)],
    ['WER', fixed(text.wer)],
  ];
  for (const [name, value] of Object.entries(text)) if (name !== 'cer' && name !== 'wer' && typeof value === 'number') rows.push([name, String(value)]);
  return el('section', { 'aria-labelledby': 'eval-text-title' }, el('h3', { id: 'eval-text-title' }, 'Text'), table('eval-text', 'Error rates (lower is better)', ['Measure', 'Value'], rows));
}

function renderReport(report: EvaluationReport): void {
  const out = $('eval-result');
  out.replaceChildren(
    el('p', null, 'Model ', el('strong', null, report.model), ' on dataset ', el('strong', null, report.dataset), ': ' + count(report.canvases, 'canvas', 'canvases') + ' with ground truth.'),
  );
  if (report.labels) out.append(labelsSection(report.labels));
  if (report.boxes) out.append(boxesSection(report.boxes));
  if (report.text) out.append(textSection(report.text));
  if (!report.labels && !report.boxes && !report.text) out.append(el('p', null, 'Nothing to compare: the dataset holds no accepted or corrected annotation of a kind this model produces.'));
}

export async function evaluate(): Promise<void> {
  const model = $('eval-model').value.trim();
  const dataset = $('eval-dataset').value;
  const iou = $('eval-iou').value.trim();
  if (!model || !dataset) throw new ApiError('VALIDATION', 'choose a model and a dataset to evaluate');
  state.evaluation = { model, dataset, iou: iou === '0.5' ? '' : iou };
  writeUrl(false);
  $('eval-result').replaceChildren(el('p', { class: 'muted' }, 'Evaluating…'));
  say('Evaluating ' + model + ' on ' + dataset + '…');
  try {
    const report = await api<EvaluationReport>('v1/evaluations', { model, dataset, iou: state.evaluation.iou });
    renderReport(report);
    say('Evaluated ' + model + ' on ' + dataset + ': ' + count(report.canvases, 'canvas', 'canvases'));
  } catch (err) {
    $('eval-result').replaceChildren();
    throw err;
  }
}
