/**
 * Synthetic watermarks: what an image library, a stock agency or a photographer puts over a
 * picture, drawn from a seed. A mark is a plain description (WatermarkSpec); watermark-svg.ts draws
 * it as an SVG overlay that a compositor (sharp) lays on the image. Nothing here touches pixels, so
 * the same seed gives the same marks on every machine.
 *
 * The generator's vocabulary is deliberately closed (these fonts, these placements, these shapes):
 * a held-out set made by hand with other fonts, placements and marks (test/quality/watermarks.ts)
 * measures whether a head learned "a watermark" or only "this generator".
 */
import { seededRandom } from '../random.js';

/** Fonts the generator draws with (installed with DejaVu and Liberation). Held-out marks use others. */
export const GENERATOR_FONTS = ['DejaVu Sans', 'DejaVu Serif', 'Liberation Sans', 'Liberation Serif'] as const;

export const PLACEMENTS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'centre', 'diagonal', 'tiled'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const LOGO_SHAPES = ['ring', 'shield', 'star', 'square', 'diamond'] as const;
export type LogoShape = (typeof LOGO_SHAPES)[number];

/** How the overlay meets the image (sharp's blend modes). */
export const BLENDS = ['over', 'multiply', 'screen', 'soft-light'] as const;
export type Blend = (typeof BLENDS)[number];

export interface WatermarkSpec {
  readonly kind: 'text' | 'logo';
  /** The words (text marks), or the initials inside the shape (logo marks). */
  readonly text: string;
  readonly logo?: LogoShape;
  readonly font: string;
  readonly bold: boolean;
  readonly placement: Placement;
  /** The mark's height (text: the font size) as a share of the image's short side. */
  readonly size: number;
  /** 0.15 to 0.6. */
  readonly opacity: number;
  readonly colour: string;
  readonly blend: Blend;
  /** A thin contrasting outline, as many marks have to stay legible on any background. */
  readonly outline: boolean;
  /** Degrees, for 'diagonal' and 'tiled'. */
  readonly angle: number;
}

const PLACES = ['Aldermoor', 'Saint-Vaast', 'Krellingen', 'Port Avel', 'Marrowby', 'Ostrava Nova', 'Bellacqua', 'Hensworth', 'Vireux', 'Lindqvist'];
const INSTITUTIONS = ['Museum', 'Library', 'Archives', 'Gallery', 'Picture Library', 'Historical Society', 'Collection', 'Photo Agency'];
const WORDS = ['SAMPLE', 'PROOF', 'COPY', 'PREVIEW', 'DO NOT COPY', 'NOT FOR REPRODUCTION'];
const LIGHT = ['#ffffff', '#d0d0d0'];
const DARK = ['#000000', '#3a3a3a', '#b01e1e', '#1e3cb0'];
const COLOURS = [...LIGHT, '#808080', ...DARK];

/** Screen can only lighten and multiply only darken: each gets the colours it shows. */
function colourFor(blend: Blend, random: () => number): string {
  return pick(random, blend === 'screen' ? LIGHT : blend === 'multiply' ? DARK : COLOURS);
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const between = (random: () => number, lo: number, hi: number): number => lo + random() * (hi - lo);

function words(random: () => number): string {
  const place = pick(random, PLACES);
  const institution = pick(random, INSTITUTIONS);
  const year = 1990 + Math.floor(random() * 36);
  const slug = place.toLowerCase().replace(/[^a-z]+/g, '');
  switch (Math.floor(random() * 6)) {
    case 0:
      return `${place} ${institution}`;
    case 1:
      return `© ${place} ${institution} ${year}`;
    case 2:
      return `© ${year}`;
    case 3:
      return pick(random, WORDS);
    case 4:
      return `www.${slug}-${institution.toLowerCase().split(' ')[0]}.org`;
    default:
      return `© ${place} ${institution} · ${pick(random, WORDS).toLowerCase()}`;
  }
}

const initials = (random: () => number): string => `${pick(random, PLACES)[0]}${pick(random, INSTITUTIONS)[0]}`;

/** One mark drawn from `random` (a seededRandom stream). */
export function sampleWatermark(random: () => number): WatermarkSpec {
  const kind = random() < 0.65 ? 'text' : 'logo';
  const placement = pick(random, PLACEMENTS);
  const large = placement === 'centre' || placement === 'diagonal';
  const blend = pick(random, BLENDS);
  return {
    kind,
    text: kind === 'text' ? words(random) : initials(random),
    ...(kind === 'logo' && { logo: pick(random, LOGO_SHAPES) }),
    font: pick(random, GENERATOR_FONTS),
    bold: random() < 0.5,
    placement,
    size: kind === 'logo' ? between(random, large ? 0.25 : 0.12, large ? 0.5 : 0.22) : between(random, large ? 0.07 : 0.035, large ? 0.14 : 0.07),
    opacity: between(random, 0.15, 0.6),
    colour: colourFor(blend, random),
    blend,
    outline: random() < 0.3,
    angle: placement === 'diagonal' || placement === 'tiled' ? -between(random, 20, 50) : 0,
  };
}

/** The marks of a whole set: one stream per seed, so mark i does not depend on the images. */
export function watermarkStream(seed: string | number): () => WatermarkSpec {
  const random = seededRandom(`watermark:${seed}`);
  return () => sampleWatermark(random);
}
