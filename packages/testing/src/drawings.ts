import sharp from 'sharp';
import { LoupeError } from '@loupe/contracts';
import { seededRandom } from '@loupe/datasets';
import { type PageFont, SAMPLE_TEXTS, renderTextPage } from '@loupe/demo';

/**
 * Pictures of three kinds a classifier must tell apart (line drawings, photograph-like scenes and
 * printed pages), drawn from a seed so that a dataset of any size can be built on a fresh clone
 * and rebuilt byte for byte. Within a kind every sample differs (positions, sizes, counts,
 * colours, lines of text); across kinds they differ the way real collections do: ink lines on
 * bare paper, smooth colour with grain, rows of type. All three share one default size so that
 * the shape of the image says nothing about its class.
 */
export interface DrawingOptions {
  /** Any integer; the same seed gives the same bytes. */
  seed: number;
  /** Pixels (default 512). */
  width?: number;
  /** Pixels (default 384). */
  height?: number;
}

export interface Drawing {
  /** PNG. */
  image: Buffer;
  width: number;
  height: number;
}

export type DrawingKind = 'line drawing' | 'photograph' | 'printed text';

const DEFAULT_WIDTH = 512;
const DEFAULT_HEIGHT = 384;

type Random = () => number;

const random = (seed: number): Random => seededRandom(seed);

const between = (r: Random, lo: number, hi: number) => lo + r() * (hi - lo);
const int = (r: Random, lo: number, hi: number) => Math.floor(between(r, lo, hi + 1));
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const n1 = (v: number) => v.toFixed(1);

function sizeOf(opts: DrawingOptions): { width: number; height: number } {
  const width = opts.width ?? DEFAULT_WIDTH;
  const height = opts.height ?? DEFAULT_HEIGHT;
  if (!Number.isInteger(opts.seed)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `drawing seed must be an integer, got ${opts.seed}`, { details: { seed: opts.seed } });
  }
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    // Below 64 px the strokes and the type no longer fit; above 4096 a fixture is only slow.
    if (!Number.isInteger(v) || v < 64 || v > 4096) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `drawing ${name} must be an integer from 64 to 4096 pixels, got ${v}`, { details: { [name]: v } });
    }
  }
  return { width, height };
}

const svg = (w: number, h: number, body: string) =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${body}</svg>`);

// ---------------------------------------------------------------------------------------------
// Line drawings: an engraver's vocabulary of outlines, curves, hatching and cross-hatching.

function hatching(r: Random, id: string, cx: number, cy: number, radius: number, ink: string, cross: boolean): string {
  let clip = `<circle cx="${n1(cx)}" cy="${n1(cy)}" r="${n1(radius)}"/>`;
  if (r() < 0.5) {
    const corners = int(r, 3, 6);
    const points = Array.from({ length: corners }, (_, i) => {
      const a = (i / corners) * 2 * Math.PI + between(r, -0.3, 0.3);
      const d = radius * between(r, 0.6, 1.2);
      return `${n1(cx + Math.cos(a) * d)},${n1(cy + Math.sin(a) * d)}`;
    });
    clip = `<polygon points="${points.join(' ')}"/>`;
  }
  const spacing = between(r, 3, 8);
  const width = between(r, 0.6, 1.6);
  const lines = (angle: number) => {
    let out = '';
    for (let o = -radius * 1.3; o <= radius * 1.3; o += spacing) {
      const dx = Math.cos(angle);
      const dy = Math.sin(angle);
      // A line through the centre shifted by o along the normal, long enough to cross the clip.
      const x = cx - dy * o;
      const y = cy + dx * o;
      out += `<line x1="${n1(x - dx * radius * 1.5)}" y1="${n1(y - dy * radius * 1.5)}" x2="${n1(x + dx * radius * 1.5)}" y2="${n1(y + dy * radius * 1.5)}"/>`;
    }
    return out;
  };
  const angle = between(r, 0, Math.PI);
  return (
    `<clipPath id="${id}">${clip}</clipPath>` +
    `<g clip-path="url(#${id})" stroke="${ink}" stroke-width="${n1(width)}">${lines(angle)}${cross ? lines(angle + between(r, 0.5, 1.2)) : ''}</g>`
  );
}

function curve(r: Random, w: number, h: number, ink: string): string {
  let x = between(r, 0, w);
  let y = between(r, 0, h);
  let d = `M${n1(x)} ${n1(y)}`;
  const step = Math.min(w, h) * between(r, 0.1, 0.35);
  for (let i = int(r, 2, 6); i > 0; i--) {
    const c1 = [x + between(r, -step, step), y + between(r, -step, step)];
    x = Math.min(w, Math.max(0, x + between(r, -step, step) * 1.5));
    y = Math.min(h, Math.max(0, y + between(r, -step, step) * 1.5));
    d += ` Q${n1(c1[0]!)} ${n1(c1[1]!)} ${n1(x)} ${n1(y)}`;
  }
  return `<path d="${d}" fill="none" stroke="${ink}" stroke-width="${n1(between(r, 0.8, 3))}" stroke-linecap="round"/>`;
}

function lineDrawingSvg(r: Random, w: number, h: number): Buffer {
  const paper = `rgb(${int(r, 248, 255)},${int(r, 246, 255)},${int(r, 240, 252)})`;
  const ink = pick(r, ['#000', '#111', '#1b140c', '#161a22']);
  const s = Math.min(w, h);
  let body = `<rect width="${w}" height="${h}" fill="${paper}"/>`;
  if (r() < 0.6) {
    // The plate mark of an engraving, or a drawn frame.
    const inset = between(r, 6, s * 0.08);
    body += `<rect x="${n1(inset)}" y="${n1(inset)}" width="${n1(w - 2 * inset)}" height="${n1(h - 2 * inset)}" fill="none" stroke="${ink}" stroke-width="${n1(between(r, 0.8, 2.5))}"/>`;
  }
  if (r() < 0.5) {
    // A ground line with short strokes below it, as in a landscape sketch.
    const y = between(r, h * 0.55, h * 0.85);
    body += `<path d="M0 ${n1(y)} Q${n1(w / 2)} ${n1(y + between(r, -40, 40))} ${w} ${n1(y + between(r, -20, 20))}" fill="none" stroke="${ink}" stroke-width="1.5"/>`;
    for (let i = int(r, 10, 40); i > 0; i--) {
      const x = between(r, 0, w);
      const yy = between(r, y + 4, h);
      body += `<line x1="${n1(x)}" y1="${n1(yy)}" x2="${n1(x + between(r, 4, 18))}" y2="${n1(yy + between(r, -2, 2))}" stroke="${ink}" stroke-width="1"/>`;
    }
  }
  const marks = int(r, 4, 10);
  for (let i = 0; i < marks; i++) {
    const cx = between(r, 0.1 * w, 0.9 * w);
    const cy = between(r, 0.1 * h, 0.9 * h);
    const radius = between(r, s * 0.06, s * 0.25);
    const kind = pick(r, ['hatch', 'crosshatch', 'circle', 'ellipse', 'curve', 'curve'] as const);
    if (kind === 'hatch' || kind === 'crosshatch') body += hatching(r, `h${i}`, cx, cy, radius, ink, kind === 'crosshatch');
    else if (kind === 'curve') body += curve(r, w, h, ink);
    else {
      const rings = kind === 'circle' ? int(r, 1, 3) : 1;
      for (let k = 0; k < rings; k++) {
        const rr = radius * (1 - k * 0.25);
        body += kind === 'circle'
          ? `<circle cx="${n1(cx)}" cy="${n1(cy)}" r="${n1(rr)}" fill="none" stroke="${ink}" stroke-width="${n1(between(r, 0.8, 2.5))}"/>`
          : `<ellipse cx="${n1(cx)}" cy="${n1(cy)}" rx="${n1(rr)}" ry="${n1(rr * between(r, 0.3, 0.8))}" transform="rotate(${int(r, 0, 179)} ${n1(cx)} ${n1(cy)})" fill="none" stroke="${ink}" stroke-width="${n1(between(r, 0.8, 2.5))}"/>`;
      }
    }
  }
  return svg(w, h, body);
}

/** Black ink strokes, hatching and circles on white paper, like an engraving or a pen drawing. */
export async function renderLineDrawing(opts: DrawingOptions): Promise<Drawing> {
  const { width, height } = sizeOf(opts);
  const image = await sharp(lineDrawingSvg(random(opts.seed), width, height)).flatten({ background: '#ffffff' }).png().toBuffer();
  return { image, width, height };
}

// ---------------------------------------------------------------------------------------------
// Photograph-like scenes: smooth gradients, soft out-of-focus shapes and sensor grain.

function hsl(h: number, s: number, l: number): string {
  return `hsl(${Math.round(((h % 360) + 360) % 360)},${Math.round(s)}%,${Math.round(l)}%)`;
}

function photoSvg(r: Random, w: number, h: number): Buffer {
  const hue = between(r, 0, 360);
  const s = Math.min(w, h);
  const angle = between(r, 0, Math.PI);
  const [x2, y2] = [0.5 + Math.cos(angle) / 2, 0.5 + Math.sin(angle) / 2];
  let defs =
    `<linearGradient id="bg" x1="${(1 - x2).toFixed(3)}" y1="${(1 - y2).toFixed(3)}" x2="${x2.toFixed(3)}" y2="${y2.toFixed(3)}">` +
    `<stop offset="0" stop-color="${hsl(hue, between(r, 20, 70), between(r, 45, 80))}"/>` +
    `<stop offset="${between(r, 0.35, 0.65).toFixed(2)}" stop-color="${hsl(hue + between(r, -40, 40), between(r, 15, 60), between(r, 30, 65))}"/>` +
    `<stop offset="1" stop-color="${hsl(hue + between(r, -90, 90), between(r, 10, 50), between(r, 12, 45))}"/>` +
    '</linearGradient>';
  let body = `<rect width="${w}" height="${h}" fill="url(#bg)"/>`;
  const blobs = int(r, 4, 10);
  for (let i = 0; i < blobs; i++) {
    const blur = between(r, s * 0.02, s * 0.08);
    defs += `<filter id="b${i}" x="-50%" y="-50%" width="200%" height="200%"><feGaussianBlur stdDeviation="${n1(blur)}"/></filter>`;
    defs +=
      `<radialGradient id="g${i}"><stop offset="0" stop-color="${hsl(hue + between(r, -120, 120), between(r, 20, 80), between(r, 25, 85))}"/>` +
      `<stop offset="1" stop-color="${hsl(hue + between(r, -120, 120), between(r, 10, 60), between(r, 15, 60))}"/></radialGradient>`;
    const cx = between(r, 0, w);
    const cy = between(r, 0, h);
    const rx = between(r, s * 0.08, s * 0.4);
    body += `<ellipse cx="${n1(cx)}" cy="${n1(cy)}" rx="${n1(rx)}" ry="${n1(rx * between(r, 0.4, 1.2))}" fill="url(#g${i})" fill-opacity="${between(r, 0.5, 0.95).toFixed(2)}" filter="url(#b${i})"/>`;
  }
  return svg(w, h, `<defs>${defs}</defs>${body}`);
}

/** Smooth colour gradients, soft blurred blobs and grain, like an out-of-focus photograph. */
export async function renderPhotoLike(opts: DrawingOptions): Promise<Drawing> {
  const { width, height } = sizeOf(opts);
  const r = random(opts.seed);
  const rgb = await sharp(photoSvg(r, width, height)).flatten({ background: '#808080' }).removeAlpha().raw().toBuffer();
  const grain = between(r, 6, 18);
  // A vignette darkens the corners as a lens does.
  const vignette = between(r, 0, 0.35);
  const out = Buffer.alloc(rgb.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x / width - 0.5;
      const dy = y / height - 0.5;
      const fall = 1 - vignette * (dx * dx + dy * dy) * 2;
      const luma = (r() + r() + r() - 1.5) * grain;
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        // Mostly luminance grain with a little colour noise, as a sensor gives.
        out[i] = Math.max(0, Math.min(255, Math.round(rgb[i]! * fall + luma + (r() - 0.5) * grain * 0.4)));
      }
    }
  }
  const image = await sharp(out, { raw: { width, height, channels: 3 } }).blur(0.5).png().toBuffer();
  return { image, width, height };
}

// ---------------------------------------------------------------------------------------------
// Printed pages: rows of type from SAMPLE_TEXTS, in a seeded font, size and order.

const FONTS: readonly PageFont[] = ['sans', 'serif', 'mono', 'serif-italic'];
// Wide enough for the longest sample line in any font at the largest size drawn here.
const PAGE_WIDTH = 1000;

/**
 * A printed page through renderTextPage: lines of the sample passages in seeded order, font, size
 * and spacing, filling the page, sometimes on yellowed, noisy paper. The page is set at a
 * width where every line fits and then scaled to the size asked for.
 */
export async function renderPrintedPage(opts: DrawingOptions): Promise<Drawing> {
  const { width, height } = sizeOf(opts);
  const r = random(opts.seed);
  const pageHeight = Math.round((PAGE_WIDTH * height) / width);
  const sizePt = int(r, 12, 20);
  const dpi = 96;
  const lineSpacing = between(r, 1.2, 2);
  const margin = int(r, 24, 90);
  const pitch = Math.max(1, Math.round(lineSpacing * ((sizePt * dpi) / 72)));
  // Room for one more line than the pitch suggests is wrong by a descender; keep a line spare.
  const count = Math.max(1, Math.floor((pageHeight - 2 * margin) / pitch) - 1);
  const passages = Object.values(SAMPLE_TEXTS);
  const lines: string[] = [];
  while (lines.length < count) {
    const passage = pick(r, passages);
    lines.push(...passage.slice(int(r, 0, passage.length - 1)));
  }
  const page = await renderTextPage({
    lines: lines.slice(0, count),
    font: pick(r, FONTS),
    sizePt,
    dpi,
    lineSpacing,
    width: PAGE_WIDTH,
    height: pageHeight,
    margin,
    noise: r() < 0.5,
    format: 'png',
  });
  // A clean page comes back with an alpha channel; the other kinds have none, and a channel count must not tell the kinds apart.
  const image = await sharp(page.image).flatten({ background: '#ffffff' }).removeAlpha().resize(width, height, { fit: 'fill' }).png().toBuffer();
  return { image, width, height };
}

/** The three kinds by name, for building a labelled set: `DRAWINGS[kind]({ seed })`. */
export const DRAWINGS: Readonly<Record<DrawingKind, (opts: DrawingOptions) => Promise<Drawing>>> = {
  'line drawing': renderLineDrawing,
  photograph: renderPhotoLike,
  'printed text': renderPrintedPage,
};
