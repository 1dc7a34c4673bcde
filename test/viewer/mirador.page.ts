// A library's page showing a Loupe-enriched manifest in Mirador 4, as docs/viewers.md describes it:
// Mirador's configuration, and a layer switch over the AnnotationCollections Loupe's pages are
// `partOf` (Mirador lists annotation pages but has no control to toggle them). Opened as
// mirador.html?manifest=<url>.

/** Loupe's motivations besides the ones Mirador shows by default (which are the rest of this list). */
export const SHOWN_MOTIVATIONS = [
  'oa:commenting',
  'oa:tagging',
  'sc:painting',
  'commenting',
  'tagging',
  'supplementing',
  'describing',
  'classifying',
  'identifying',
] as const;

export const WINDOW_ID = 'loupe';

/** Colours the test can find on the overlay: nothing else Mirador draws uses them. */
export const SELECTED_STROKE = '#ff00ff';
export const SELECTED_HIT_FILL = '#00ff00';

export function miradorConfig(manifestId: string): object {
  return {
    id: 'viewer',
    annotations: { filteredMotivations: [...SHOWN_MOTIVATIONS] },
    window: {
      allowClose: false,
      allowMaximize: false,
      sideBarOpen: true,
      sideBarPanel: 'annotations',
      panels: { info: true, attribution: true, canvas: true, annotations: true, search: true, layers: true },
    },
    windows: [{ id: WINDOW_ID, manifestId, canvasIndex: 0 }],
    workspaceControlPanel: { enabled: false },
    theme: {
      palette: {
        annotations: { selected: { strokeStyle: SELECTED_STROKE, globalAlpha: 1 } },
        search: { selected: { fillStyle: SELECTED_HIT_FILL, globalAlpha: 0.3 } },
      },
    },
    // No animation: a view that has settled is the one the test measures.
    osdConfig: { animationTime: 0, blendTime: 0, immediateRender: true },
  };
}

interface Layer {
  readonly id: string;
  readonly label: string;
}

const labelOf = (ref: LayerRef): string => Object.values(ref.label ?? {})[0]?.[0] ?? ref.id;
const layersOf = (page: AnnotationPageJson, a: PageAnnotation): readonly LayerRef[] => [...(page.partOf ?? []), ...(a.partOf ?? [])];

/**
 * Shows and hides layers by giving Mirador each loaded page again with the hidden layers' items
 * left out; the page as Loupe served it is kept to give back when the layer is shown again.
 */
export class LayerSwitch {
  readonly #store: MiradorStore;
  readonly #hidden = new Set<string>();
  readonly #served = new Map<string, { canvas: string; page: AnnotationPageJson }>();
  readonly #given = new WeakSet<AnnotationPageJson>();
  readonly #onChange: (layers: readonly Layer[]) => void;
  #known = '';

  constructor(store: MiradorStore, onChange: (layers: readonly Layer[]) => void) {
    this.#store = store;
    this.#onChange = onChange;
    store.subscribe(() => this.#update());
  }

  layers(): Layer[] {
    const found = new Map<string, Layer>();
    const note = (ref: LayerRef) => found.has(ref.id) || found.set(ref.id, { id: ref.id, label: labelOf(ref) });
    const state = this.#store.getState();
    for (const manifest of Object.values(state.manifests)) {
      for (const canvas of manifest.json?.items ?? []) for (const page of canvas.annotations ?? []) page.partOf?.forEach(note);
    }
    for (const { page } of this.#served.values()) for (const a of page.items ?? []) layersOf(page, a).forEach(note);
    return [...found.values()];
  }

  setShown(layer: string, shown: boolean): void {
    if (shown) this.#hidden.delete(layer);
    else this.#hidden.add(layer);
    for (const { canvas, page } of this.#served.values()) this.#give(canvas, page);
  }

  #update(): void {
    for (const [canvas, pages] of Object.entries(this.#store.getState().annotations)) {
      for (const [id, entry] of Object.entries(pages)) {
        const key = `${canvas}\n${id}`;
        if (!entry.json || this.#given.has(entry.json)) continue;
        // A page Mirador took from the manifest or fetched: as Loupe served it.
        this.#served.set(key, { canvas, page: entry.json });
        if (this.#hidden.size > 0) this.#give(canvas, entry.json);
      }
    }
    const layers = this.layers();
    const known = JSON.stringify(layers);
    if (known !== this.#known) {
      this.#known = known;
      this.#onChange(layers);
    }
  }

  #give(canvas: string, page: AnnotationPageJson): void {
    const items = (page.items ?? []).filter((a) => !layersOf(page, a).some((ref) => this.#hidden.has(ref.id)));
    const given: AnnotationPageJson = { ...page, items };
    this.#given.add(given);
    this.#store.dispatch(Mirador.receiveAnnotation(canvas, page.id, given));
  }
}

function renderLayerSwitch(fieldset: HTMLElement, layers: readonly Layer[], layerSwitch: LayerSwitch): void {
  fieldset.hidden = layers.length === 0;
  const legend = document.createElement('legend');
  legend.textContent = 'Layers';
  const boxes = layers.map((layer) => {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.dataset.layer = layer.id;
    box.addEventListener('change', () => layerSwitch.setShown(layer.id, box.checked));
    label.append(box, ` ${layer.label}`);
    return label;
  });
  fieldset.replaceChildren(legend, ...boxes);
}

const manifestId = new URLSearchParams(location.search).get('manifest');
if (!manifestId) throw new Error('open this page as mirador.html?manifest=<url of the manifest>');
const instance = Mirador.viewer(miradorConfig(manifestId));
const fieldset = document.getElementById('layers')!;
const layerSwitch: LayerSwitch = new LayerSwitch(instance.store, (layers) => renderLayerSwitch(fieldset, layers, layerSwitch));

declare global {
  interface Window {
    loupeViewer?: { readonly store: MiradorStore; readonly layers: LayerSwitch };
  }
}
window.loupeViewer = { store: instance.store, layers: layerSwitch };
