// DOM helpers: data from the API goes in as text nodes and attributes, never as markup.

/** Every element the page's HTML (review.html.ts) gives an id, with its type: a typo fails tsc. */
export interface PageElements {
  'tab-review': HTMLButtonElement;
  'tab-evaluation': HTMLButtonElement;
  'tab-people': HTMLButtonElement;
  reviewer: HTMLInputElement;
  'key-change': HTMLButtonElement;
  'help-toggle': HTMLButtonElement;
  status: HTMLParagraphElement;
  'key-form': HTMLFormElement;
  'key-why': HTMLParagraphElement;
  'api-key': HTMLInputElement;
  help: HTMLElement;
  'help-close': HTMLButtonElement;
  'view-review': HTMLDivElement;
  filters: HTMLFormElement;
  'filter-concept': HTMLInputElement;
  'concept-options': HTMLDataListElement;
  'filter-model': HTMLInputElement;
  'model-options': HTMLDataListElement;
  'filter-state': HTMLSelectElement;
  'filter-dataset': HTMLSelectElement;
  'canvas-count': HTMLParagraphElement;
  'canvas-list': HTMLOListElement;
  'more-canvases': HTMLButtonElement;
  'prev-canvas': HTMLButtonElement;
  'canvas-title': HTMLHeadingElement;
  'next-canvas': HTMLButtonElement;
  'canvas-id': HTMLParagraphElement;
  stage: HTMLDivElement;
  'canvas-image': HTMLImageElement;
  overlay: SVGSVGElement;
  'whole-list': HTMLUListElement;
  'action-prev': HTMLButtonElement;
  'action-next': HTMLButtonElement;
  'action-accept': HTMLButtonElement;
  'action-reject': HTMLButtonElement;
  'action-correct': HTMLButtonElement;
  'action-unreview': HTMLButtonElement;
  'action-history': HTMLButtonElement;
  'correct-form': HTMLFormElement;
  'correct-title': HTMLHeadingElement;
  'correct-label': HTMLInputElement;
  'correct-concept': HTMLInputElement;
  'correct-x': HTMLInputElement;
  'correct-y': HTMLInputElement;
  'correct-w': HTMLInputElement;
  'correct-h': HTMLInputElement;
  'correct-text': HTMLInputElement;
  'correct-cancel': HTMLButtonElement;
  'annotation-count': HTMLParagraphElement;
  'annotation-list': HTMLOListElement;
  history: HTMLElement;
  'history-title': HTMLHeadingElement;
  'history-list': HTMLOListElement;
  'view-evaluation': HTMLDivElement;
  'eval-form': HTMLFormElement;
  'eval-model': HTMLInputElement;
  'eval-dataset': HTMLSelectElement;
  'eval-iou': HTMLInputElement;
  'eval-result': HTMLDivElement;
  'view-people': HTMLDivElement;
  'people-form': HTMLFormElement;
  'people-manifest': HTMLInputElement;
  'people-count': HTMLParagraphElement;
  'people-list': HTMLOListElement;
  'people-merge': HTMLButtonElement;
  'name-form': HTMLFormElement;
  'name-person': HTMLSelectElement;
  'name-label': HTMLInputElement;
  'name-uri': HTMLInputElement;
}

/** An element of the static page; review.pages.test.ts checks that each id looked up exists there. */
export function $<K extends keyof PageElements>(id: K): PageElements[K] {
  return document.getElementById(id) as unknown as PageElements[K];
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export type Attrs = Record<string, string | number | boolean | null | undefined> | null | undefined;
export type Child = Node | string | number | null | undefined | false | readonly Child[];

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const child of children) appendChild(node, child);
  return node;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Attrs): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return node;
}

function setAttrs(node: Element, attrs: Attrs): void {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
}

function appendChild(node: Element, child: Child): void {
  if (child === undefined || child === null || child === false) return;
  if (Array.isArray(child)) (child as readonly Child[]).forEach((c) => appendChild(node, c));
  else node.append(child instanceof Node ? child : String(child));
}

/** Only http(s) URLs reach src and href: a javascript: URL in the data must not run. */
export function safeUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const url = new URL(value, document.baseURI);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

export function isTyping(target: EventTarget | null): boolean {
  return target instanceof Element && target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}
