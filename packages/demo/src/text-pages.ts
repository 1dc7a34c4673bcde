import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';

/**
 * Printed text pages with known ground truth, for OCR tests and the demo. Fonts
 * come from the dejavu-fonts-ttf package, never the system: a fresh machine or a
 * slim container may have no fonts at all.
 */
export type PageFont = 'sans' | 'serif' | 'mono' | 'serif-italic';

export interface TextPageOptions {
  lines: readonly string[];
  font: PageFont;
  /** Font size in points at `dpi` (default 18). */
  sizePt?: number;
  /** Resolution the points are rendered at (default 96, so 18 pt is 24 px). */
  dpi?: number;
  /** Distance between baselines as a multiple of the font size (default 1.5). */
  lineSpacing?: number;
  /** Page width in pixels (default 1000). */
  width?: number;
  /** Page height in pixels (default: just tall enough for the lines). */
  height?: number;
  /** Blank border in pixels (default 48). */
  margin?: number;
  /** Turn the finished page half a turn, as a page scanned upside down. */
  rotate180?: boolean;
  /** Yellowed paper, sensor noise and a slight blur, as a real scan (deterministic). */
  noise?: boolean;
  /** Default png, or jpeg (quality 85) for a noisy page, as scans are usually delivered. */
  format?: 'jpeg' | 'png';
}

export interface TextPageLine {
  text: string;
  /** The ink's bounding box in page pixels (after rotate180, where the line ended up). */
  box: { x: number; y: number; w: number; h: number };
}

export interface TextPage {
  image: Buffer;
  width: number;
  height: number;
  /** In reading order. */
  lines: TextPageLine[];
}

const FONTS: Record<PageFont, { file: string; family: string }> = {
  sans: { file: 'DejaVuSans.ttf', family: 'DejaVu Sans' },
  serif: { file: 'DejaVuSerif.ttf', family: 'DejaVu Serif' },
  mono: { file: 'DejaVuSansMono.ttf', family: 'DejaVu Sans Mono' },
  'serif-italic': { file: 'DejaVuSerif-Italic.ttf', family: 'DejaVu Serif Italic' },
};

function fontFile(font: PageFont): string {
  const pkg = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json');
  return join(dirname(pkg), 'ttf', FONTS[font].file);
}

/** Pango reads the text as markup. */
function escapeMarkup(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface RenderedLine {
  png: Buffer;
  width: number;
  height: number;
  /** Ink bounds inside the rendered line image. */
  ink: { x: number; y: number; w: number; h: number } | undefined;
}

async function renderLine(text: string, font: PageFont, sizePt: number, dpi: number): Promise<RenderedLine> {
  const { data, info } = await sharp({
    text: {
      text: escapeMarkup(text === '' ? ' ' : text),
      fontfile: fontFile(font),
      font: `${FONTS[font].family} ${sizePt}`,
      dpi,
      rgba: true,
    },
  })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Faint antialiasing fringes do not count as ink.
      if (data[(y * width + x) * channels + channels - 1]! > 64) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const png = await sharp(data, { raw: { width, height, channels } }).png().toBuffer();
  return { png, width, height, ink: x1 < 0 ? undefined : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 } };
}

export async function renderTextPage(opts: TextPageOptions): Promise<TextPage> {
  const sizePt = opts.sizePt ?? 18;
  const dpi = opts.dpi ?? 96;
  const width = opts.width ?? 1000;
  const margin = opts.margin ?? 48;
  const rendered = await Promise.all(opts.lines.map((line) => renderLine(line, opts.font, sizePt, dpi)));
  const pitch = Math.max(1, Math.round((opts.lineSpacing ?? 1.5) * ((sizePt * dpi) / 72)));
  const lineHeight = Math.max(1, ...rendered.map((r) => r.height));
  const height = opts.height ?? margin * 2 + pitch * Math.max(0, rendered.length - 1) + lineHeight;

  const composites: sharp.OverlayOptions[] = [];
  const lines: TextPageLine[] = [];
  rendered.forEach((r, i) => {
    const left = margin;
    const top = margin + i * pitch;
    if (left + r.width > width - margin || top + r.height > height - margin + 1) {
      throw new RangeError(`Line ${i + 1} (${r.width}x${r.height} px) does not fit on a ${width}x${height} page: "${opts.lines[i]}"`);
    }
    composites.push({ input: r.png, left, top });
    if (r.ink) lines.push({ text: opts.lines[i]!, box: { x: left + r.ink.x, y: top + r.ink.y, w: r.ink.w, h: r.ink.h } });
  });

  const paper = opts.noise ? { r: 246, g: 240, b: 226 } : { r: 255, g: 255, b: 255 };
  let page = sharp({ create: { width, height, channels: 3, background: paper } }).composite(composites);
  if (opts.noise) page = sharp(await addNoise(await page.removeAlpha().raw().toBuffer(), width, height)).blur(0.6);
  if (opts.rotate180) page = sharp(await page.png().toBuffer()).rotate(180);
  const image = opts.format === 'jpeg' || (opts.format === undefined && opts.noise)
    ? await page.jpeg({ quality: 85 }).toBuffer()
    : await page.png().toBuffer();

  const boxes = opts.rotate180
    ? lines.map((l) => ({ ...l, box: { x: width - l.box.x - l.box.w, y: height - l.box.y - l.box.h, w: l.box.w, h: l.box.h } }))
    : lines;
  return { image, width, height, lines: boxes };
}

/** Gaussian-ish grain from a fixed seed, so a failing test fails the same way every time. */
async function addNoise(rgb: Buffer, width: number, height: number): Promise<Buffer> {
  let seed = 0x9e3779b9;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const out = Buffer.from(rgb);
  for (let i = 0; i < width * height; i++) {
    const grain = (next() + next() + next() - 1.5) * 24;
    for (let c = 0; c < 3; c++) {
      const o = i * 3 + c;
      out[o] = Math.max(0, Math.min(255, Math.round(out[o]! + grain)));
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * Short passages in the spirit of what digital libraries hold, written for
 * Loupe. Plain ASCII letters and punctuation: the built-in recogniser's
 * dictionary (Chinese + Latin) lacks most accented letters (no c-cedilla, no
 * circumflexes), which would make a French passage measure the dictionary, not
 * the pipeline.
 */
export const SAMPLE_TEXTS = {
  catalogueNote: [
    'Catalogue of Manuscripts, Shelf 14, Item 203.',
    'Book of hours on vellum, 212 leaves, two columns.',
    'Bound in brown calf over wooden boards, c. 1480.',
    'Gift of the Abbey library, received March 1897.',
  ],
  letter: [
    'Dear Sir, I write to thank you for the loan',
    'of the two atlases, which reached us safely',
    'on Tuesday last. The maps are in fine order.',
    'Yours faithfully, the Keeper of Printed Books.',
  ],
  titlePage: [
    'A NEW HISTORY OF THE CITY AND ITS PORT',
    'In Three Volumes, with Plates and a Map',
    'Printed for the Author by J. Smith and Sons',
    'London, 1782',
  ],
  latin: [
    'Incipit liber de natura rerum et de moribus',
    'hominum, scriptus anno domini millesimo',
    'quingentesimo vicesimo tertio in monasterio.',
  ],
  french: [
    'Registre des entrees de la bibliotheque,',
    'annee 1854, tome second, feuillets 1 a 96.',
    'Don de la famille Martin, le 3 mai 1902.',
  ],
} as const satisfies Record<string, readonly string[]>;
