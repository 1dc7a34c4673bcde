// The canvas image and the annotations' boxes drawn over it as SVG, in canvas coordinates.
import { canvasSize, nameOf, percent } from './annotation.model.js';
import { select } from './annotations.view.js';
import { $, svg } from './dom.helpers.js';
import { state } from './review.state.js';

export function drawBoxes(): void {
  const overlay = $('overlay');
  overlay.replaceChildren();
  const size = canvasSize();
  if (!(size.w > 0 && size.h > 0)) return;
  overlay.setAttribute('viewBox', '0 0 ' + size.w + ' ' + size.h);
  const fontSize = Math.max(size.w, size.h) / 50;
  const groups: { group: SVGGElement; selected: boolean }[] = [];
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
