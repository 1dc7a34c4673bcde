/**
 * A WatermarkSpec as an SVG the size of the image, transparent where there is no mark, for a
 * compositor to lay over the picture (librsvg, through sharp, renders it with the system's fonts).
 */
import type { LogoShape, WatermarkSpec } from './marks.js';

export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Text marks are measured without a font engine: wide enough for the broadest of the generator's fonts. */
const CHAR_WIDTH = 0.62;

function textElement(spec: WatermarkSpec, x: number, y: number, fontSize: number, anchor: 'start' | 'middle' | 'end', transform = ''): string {
  const stroke = spec.outline ? ` stroke="${spec.colour === '#000000' ? '#ffffff' : '#000000'}" stroke-width="${(fontSize / 28).toFixed(2)}"` : '';
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${escapeXml(spec.font)}" font-size="${fontSize.toFixed(1)}" font-weight="${spec.bold ? 'bold' : 'normal'}" text-anchor="${anchor}" dominant-baseline="middle" fill="${spec.colour}"${stroke}${transform}>${escapeXml(spec.text)}</text>`;
}

function shapePath(shape: LogoShape, cx: number, cy: number, r: number): string {
  const pts = (list: [number, number][]): string => list.map(([x, y]) => `${(cx + x * r).toFixed(1)},${(cy + y * r).toFixed(1)}`).join(' ');
  switch (shape) {
    case 'ring':
      return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r.toFixed(1)}"/><circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${(r * 0.82).toFixed(1)}"/>`;
    case 'shield':
      return `<path d="M ${pts([[-0.8, -0.9]])} L ${pts([[0.8, -0.9]])} L ${pts([[0.8, 0.1]])} Q ${pts([[0.8, 0.7]])} ${pts([[0, 1]])} Q ${pts([[-0.8, 0.7]])} ${pts([[-0.8, 0.1]])} Z"/>`;
    case 'star': {
      const star: [number, number][] = [];
      for (let i = 0; i < 10; i++) {
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        const k = i % 2 === 0 ? 1 : 0.45;
        star.push([Math.cos(a) * k, Math.sin(a) * k]);
      }
      return `<polygon points="${pts(star)}"/>`;
    }
    case 'square':
      return `<rect x="${(cx - r * 0.85).toFixed(1)}" y="${(cy - r * 0.85).toFixed(1)}" width="${(r * 1.7).toFixed(1)}" height="${(r * 1.7).toFixed(1)}" rx="${(r * 0.15).toFixed(1)}"/>`;
    case 'diamond':
      return `<polygon points="${pts([[0, -1], [1, 0], [0, 1], [-1, 0]])}"/>`;
  }
}

function logoElement(spec: WatermarkSpec, cx: number, cy: number, height: number, transform = ''): string {
  const r = height / 2;
  const line = Math.max(1, r / 12);
  const letters = textElement({ ...spec, outline: false }, cx, cy + r * 0.04, r * 0.7, 'middle');
  return `<g${transform}><g fill="none" stroke="${spec.colour}" stroke-width="${line.toFixed(1)}">${shapePath(spec.logo ?? 'ring', cx, cy, r)}</g>${letters}</g>`;
}

/** Where a mark of this size sits, and how its text is anchored, for each placement. */
function anchorFor(spec: WatermarkSpec, width: number, height: number, markW: number, markH: number): { x: number; y: number; anchor: 'start' | 'middle' | 'end' } {
  const margin = Math.min(width, height) * 0.03;
  const logo = spec.kind === 'logo';
  const left = logo ? margin + markW / 2 : margin;
  const right = logo ? width - margin - markW / 2 : width - margin;
  const top = margin + markH / 2;
  const bottom = height - margin - markH / 2;
  switch (spec.placement) {
    case 'top-left':
      return { x: left, y: top, anchor: logo ? 'middle' : 'start' };
    case 'top-right':
      return { x: right, y: top, anchor: logo ? 'middle' : 'end' };
    case 'bottom-left':
      return { x: left, y: bottom, anchor: logo ? 'middle' : 'start' };
    case 'bottom-right':
      return { x: right, y: bottom, anchor: logo ? 'middle' : 'end' };
    default:
      return { x: width / 2, y: height / 2, anchor: 'middle' };
  }
}

/** The overlay for one mark on a width x height image. */
export function watermarkSvg(spec: WatermarkSpec, width: number, height: number): string {
  const short = Math.min(width, height);
  let markH = spec.size * short;
  let markW = spec.kind === 'logo' ? markH : markH * CHAR_WIDTH * spec.text.length;
  // A corner or centre mark stays inside the picture: shrink long text rather than crop it.
  const room = spec.placement === 'diagonal' ? Math.hypot(width, height) * 0.85 : width * 0.9;
  if (spec.placement !== 'tiled' && markW > room) {
    markH *= room / markW;
    markW = room;
  }
  const draw = (x: number, y: number, anchor: 'start' | 'middle' | 'end', transform = ''): string =>
    spec.kind === 'logo' ? logoElement(spec, x, y, markH, transform) : textElement(spec, x, y, markH, anchor, transform);

  let body: string;
  if (spec.placement === 'tiled') {
    const stepX = Math.max(markW * 1.4, short * 0.2);
    const stepY = Math.max(markH * 3.5, short * 0.15);
    const parts: string[] = [];
    // The grid covers the rotated picture's corners as well.
    for (let row = -1, y = -stepY; y < height + stepY; row++, y += stepY) {
      for (let x = -stepX + (row % 2 === 0 ? 0 : stepX / 2); x < width + stepX; x += stepX) {
        parts.push(draw(x, y, 'middle', ` transform="rotate(${spec.angle.toFixed(1)} ${x.toFixed(1)} ${y.toFixed(1)})"`));
      }
    }
    body = parts.join('');
  } else {
    const { x, y, anchor } = anchorFor(spec, width, height, markW, markH);
    body = draw(x, y, anchor, spec.angle === 0 ? '' : ` transform="rotate(${spec.angle.toFixed(1)} ${x.toFixed(1)} ${y.toFixed(1)})"`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><g opacity="${spec.opacity.toFixed(3)}">${body}</g></svg>`;
}

/**
 * Where the mark's ink lies: the same overlay drawn white at full opacity, for a compositor to lay
 * on black. Training labels the tiles of a marked image by how much of this mask they hold.
 */
export function watermarkMaskSvg(spec: WatermarkSpec, width: number, height: number): string {
  return watermarkSvg({ ...spec, opacity: 1 }, width, height).replace(/(fill|stroke)="#[0-9a-fA-F]{6}"/g, '$1="#ffffff"');
}
