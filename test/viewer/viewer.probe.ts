// What the Mirador test reads off the page: where OpenSeadragon put the canvas, where Mirador's
// overlay drew a colour, and what the annotation panel lists. Kept out of the page a library
// would copy (mirador.page.ts); the test calls it as window.loupeProbe.
import { SELECTED_HIT_FILL, SELECTED_STROKE, WINDOW_ID } from './mirador.page.js';

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

function viewer(): OsdViewer {
  const osd = Mirador.OSDReferences.get(WINDOW_ID)?.current;
  if (!osd) throw new Error('Mirador has no OpenSeadragon viewer yet');
  return osd;
}

/** Canvas coordinates (Mirador's world, one canvas at 0,0) to pixels of the viewer element. */
function toScreen(osd: OsdViewer, x: number, y: number): OsdPoint {
  // OpenSeadragon's Point class is not exported by the bundle: copy one and move it.
  const point = osd.viewport.getCenter(true).times(0);
  point.x = x;
  point.y = y;
  return osd.viewport.viewportToViewerElementCoordinates(point);
}

/** Where a canvas rectangle lies on the viewer element now. */
export function screenBox(x: number, y: number, w: number, h: number): Box {
  const osd = viewer();
  const a = toScreen(osd, x, y);
  const b = toScreen(osd, x + w, y + h);
  return { left: a.x, top: a.y, right: b.x, bottom: b.y };
}

/** The image OpenSeadragon shows: its world bounds, and whether every tile the view needs is drawn. */
export function image(): { bounds: [number, number, number, number]; loaded: boolean } | undefined {
  const item = viewer().world.getItemAt(0);
  if (!item) return undefined;
  const b = item.getBounds(true);
  return { bounds: [b.x, b.y, b.width, b.height], loaded: item.getFullyLoaded() };
}

const rgb = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

/** The bounding box of the overlay's pixels in `hex` (within 40 per channel), in viewer element pixels. */
function colourBox(hex: string): Box | undefined {
  const osd = viewer();
  const overlay = [...osd.canvas.querySelectorAll('canvas')].find((c) => c !== osd.drawer.canvas);
  const context = overlay?.getContext('2d');
  if (!overlay || !context || overlay.width === 0 || overlay.height === 0) return undefined;
  const { data, width, height } = context.getImageData(0, 0, overlay.width, overlay.height);
  const [r, g, b] = rgb(hex);
  let box: { left: number; top: number; right: number; bottom: number } | undefined;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (data[i + 3]! === 0 || Math.abs(data[i]! - r) > 40 || Math.abs(data[i + 1]! - g) > 40 || Math.abs(data[i + 2]! - b) > 40) continue;
      if (!box) box = { left: x, top: y, right: x + 1, bottom: y + 1 };
      else {
        box.left = Math.min(box.left, x);
        box.top = Math.min(box.top, y);
        box.right = Math.max(box.right, x + 1);
        box.bottom = Math.max(box.bottom, y + 1);
      }
    }
  }
  return box;
}

/** Where the selected annotation's outline is drawn. */
export const selectedBox = (): Box | undefined => colourBox(SELECTED_STROKE);
/** Where the selected search hit is filled. */
export const selectedHitBox = (): Box | undefined => colourBox(SELECTED_HIT_FILL);

/** The annotation panel's entries: text, and the annotation id Mirador keeps on each. */
export function listed(): { id: string; text: string }[] {
  return [...document.querySelectorAll('[annotationid]')].map((item) => ({ id: item.getAttribute('annotationid') ?? '', text: item.textContent ?? '' }));
}

export const selectedAnnotation = (): string | undefined => window.loupeViewer?.store.getState().windows[WINDOW_ID]?.selectedAnnotationId;

const probe = { screenBox, image, selectedBox, selectedHitBox, listed, selectedAnnotation };
export type Probe = typeof probe;

declare global {
  interface Window {
    loupeProbe?: Probe;
  }
}
window.loupeProbe = probe;
