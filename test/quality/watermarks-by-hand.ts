// Watermarks made by hand for the held-out check (test/quality/watermarks.ts): each one a mark the
// generator never makes (packages/datasets/src/watermark/marks.ts): other fonts (Liberation Sans
// Narrow, DejaVu Sans Mono, the condensed DejaVu faces, Liberation Mono), other places (bottom
// centre, along an edge, a band across the middle, off-corner) and other marks (a round stamp, a
// signature, an embossed name, a pattern of crosses). The pictures they go on are held out of the
// synthetic set too, so neither the marks nor the pictures were seen in training.
import { escapeXml } from '@loupe/datasets';

export interface HandMadeMark {
  readonly name: string;
  /** The fixture picture (../shared/fixtures/images). */
  readonly base: string;
  readonly svg: (width: number, height: number) => string;
}

/** Pictures kept out of the synthetic training set: one or two of each kind of picture. */
export const HELD_OUT_BASES = [
  'painting-turner-shipwreck-of-the-minotaur.jpg',
  'photo-genthe-chinatown-fishmonger.jpg',
  'photo-sailing-ship-california.jpg',
  'engraving-dalziel-rob-roy-crypt-grayscale-crop.png',
  'book-page-printed-french-18th-century.jpg',
  'map-chesapeake-ohio-canal-with-highlight-box.png',
  'coin-theophilus-solidus-museum-display.jpg',
  'postcard-whaler-just-arrived-new-bedford.jpg',
] as const;

const svg = (w: number, h: number, body: string): string => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${body}</svg>`;

/** A round rubber stamp: two rings and its words set one letter at a time around the circle. */
function stamp(w: number, h: number, cx: number, cy: number, r: number, words: string, colour: string): string {
  const letters = [...words];
  const size = r * 0.22;
  const around = letters
    .map((ch, i) => {
      const a = (i / letters.length) * 360;
      return `<text x="${cx}" y="${cy - r * 0.78}" font-family="DejaVu Sans Mono" font-weight="bold" font-size="${size.toFixed(1)}" text-anchor="middle" transform="rotate(${a.toFixed(1)} ${cx} ${cy})">${escapeXml(ch)}</text>`;
    })
    .join('');
  return svg(
    w,
    h,
    `<g opacity="0.55" fill="${colour}" stroke="none"><circle cx="${cx}" cy="${cy}" r="${r}" fill="none" stroke="${colour}" stroke-width="${r * 0.06}"/><circle cx="${cx}" cy="${cy}" r="${r * 0.55}" fill="none" stroke="${colour}" stroke-width="${r * 0.03}"/>${around}<text x="${cx}" y="${cy + size * 0.35}" font-family="DejaVu Sans Mono" font-size="${(size * 1.1).toFixed(1)}" text-anchor="middle">1907</text></g>`,
  );
}

export const HAND_MADE: readonly HandMadeMark[] = [
  {
    name: 'round stamp, off-corner',
    base: 'painting-turner-shipwreck-of-the-minotaur.jpg',
    svg: (w, h) => stamp(w, h, w * 0.7, h * 0.65, Math.min(w, h) * 0.16, 'MUSEO CIVICO · BOLOGNA · ', '#9b1c1c'),
  },
  {
    name: 'credit line, bottom centre',
    base: 'photo-genthe-chinatown-fishmonger.jpg',
    svg: (w, h) =>
      svg(w, h, `<text x="${w / 2}" y="${h * 0.95}" font-family="Liberation Sans Narrow" font-style="italic" font-size="${(h * 0.05).toFixed(1)}" text-anchor="middle" fill="#ffffff" stroke="#000000" stroke-width="${(h * 0.002).toFixed(2)}" opacity="0.6">Photo: A. Moreau / Studio Lumière, Lyon</text>`),
  },
  {
    name: 'signature, lower right of centre',
    base: 'photo-sailing-ship-california.jpg',
    svg: (w, h) =>
      svg(w, h, `<text x="${w * 0.55}" y="${h * 0.8}" font-family="DejaVu Serif Condensed" font-style="italic" font-size="${(h * 0.09).toFixed(1)}" fill="#1b1b3a" opacity="0.5" transform="skewX(-18) translate(${(h * 0.25).toFixed(1)} 0)">J. Hartley Studio</text>`),
  },
  {
    name: 'vertical text along the left edge',
    base: 'engraving-dalziel-rob-roy-crypt-grayscale-crop.png',
    svg: (w, h) =>
      svg(w, h, `<text x="${w * 0.04}" y="${h / 2}" font-family="Liberation Mono" font-size="${(w * 0.035).toFixed(1)}" text-anchor="middle" fill="#000000" opacity="0.45" transform="rotate(-90 ${w * 0.04} ${h / 2})">ARCHIVIO FOTOGRAFICO · RIPRODUZIONE VIETATA</text>`),
  },
  {
    name: 'band across the middle',
    base: 'book-page-printed-french-18th-century.jpg',
    svg: (w, h) =>
      svg(
        w,
        h,
        `<rect x="0" y="${h * 0.44}" width="${w}" height="${h * 0.1}" fill="#ffffff" opacity="0.5"/><text x="${w / 2}" y="${h * 0.515}" font-family="Liberation Sans Narrow" font-weight="bold" font-size="${(h * 0.06).toFixed(1)}" text-anchor="middle" fill="#444444" opacity="0.6">PREVIEW ONLY · LOW RESOLUTION</text>`,
      ),
  },
  {
    name: 'pattern of crosses',
    base: 'map-chesapeake-ohio-canal-with-highlight-box.png',
    svg: (w, h) => {
      const step = Math.min(w, h) * 0.08;
      const arm = step * 0.2;
      let d = '';
      for (let y = step / 2; y < h; y += step) for (let x = step / 2; x < w; x += step) d += `M${(x - arm).toFixed(1)} ${y.toFixed(1)}h${(2 * arm).toFixed(1)}M${x.toFixed(1)} ${(y - arm).toFixed(1)}v${(2 * arm).toFixed(1)}`;
      return svg(w, h, `<path d="${d}" stroke="#303030" stroke-width="${(step * 0.05).toFixed(2)}" opacity="0.4"/>`);
    },
  },
  {
    name: 'embossed name, centre',
    base: 'coin-theophilus-solidus-museum-display.jpg',
    svg: (w, h) => {
      const size = (w * 0.09).toFixed(1);
      const text = (dx: number, colour: string): string =>
        `<text x="${w / 2 + dx}" y="${h / 2 + dx}" font-family="DejaVu Sans Condensed" font-weight="bold" font-size="${size}" text-anchor="middle" fill="${colour}">ATELIER NOVÁK</text>`;
      return svg(w, h, `<g opacity="0.35">${text(-2, '#ffffff')}${text(2, '#000000')}</g>`);
    },
  },
  {
    name: 'two stamps, top centre and bottom left',
    base: 'postcard-whaler-just-arrived-new-bedford.jpg',
    svg: (w, h) => {
      const r = Math.min(w, h) * 0.12;
      const one = stamp(w, h, w * 0.5, r * 1.2, r, 'COLL. PRIVÉE · ', '#1c3f9b');
      const two = stamp(w, h, r * 1.6, h - r * 1.4, r, 'COLL. PRIVÉE · ', '#1c3f9b');
      return svg(w, h, `${one.replace(/^<svg[^>]*>|<\/svg>$/g, '')}${two.replace(/^<svg[^>]*>|<\/svg>$/g, '')}`);
    },
  },
];
