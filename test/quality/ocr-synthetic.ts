// Synthetic pages for the OCR quality script: a known text set in a period typeface at scan
// resolution, then degraded a little so that no engine reads pixel-perfect glyphs. The texts are the
// references in test/quality/ocr-references/synthetic-*.json; the images are made at run time.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';

const fontsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/@fontsource');

/** How a reference's text is set: a typeface the root package installs, its size in points. */
export interface SyntheticSetting {
  font: keyof typeof FONTS;
  pt: number;
}

const FONTS = {
  'EB Garamond': 'eb-garamond/files/eb-garamond-latin-400-normal.woff',
  UnifrakturMaguntia: 'unifrakturmaguntia/files/unifrakturmaguntia-latin-400-normal.woff',
} as const;

const DPI = 300;
const TEXT_WIDTH = 1400; // px: a 12 cm text block at 300 dpi
const MARGIN = 120;

/**
 * The sfnt font inside a WOFF 1 file. Pango (through fontconfig and FreeType) is handed the
 * fontsource .woff and silently falls back to DejaVu Sans, so the page is set from this instead.
 * WOFF 1 is the sfnt's tables, each zlib-deflated when that made it smaller, behind a 44-byte
 * header and a 20-byte directory entry per table.
 */
export function woffToSfnt(woff: Buffer): Buffer {
  if (woff.toString('latin1', 0, 4) !== 'wOFF') throw new Error('not a WOFF 1 file');
  const flavor = woff.readUInt32BE(4);
  const count = woff.readUInt16BE(12);
  const tables = Array.from({ length: count }, (_, i) => {
    const at = 44 + i * 20;
    const [tag, offset, compLength, origLength, checksum] = [0, 4, 8, 12, 16].map((o) => woff.readUInt32BE(at + o)) as [number, number, number, number, number];
    const raw = woff.subarray(offset, offset + compLength);
    return { tag, checksum, data: compLength < origLength ? inflateSync(raw) : raw };
  });
  // The sfnt header's binary-search fields: the largest power of two not above the table count.
  const pow = 2 ** Math.floor(Math.log2(count));
  const header = Buffer.alloc(12 + 16 * count);
  header.writeUInt32BE(flavor, 0);
  header.writeUInt16BE(count, 4);
  header.writeUInt16BE(pow * 16, 6);
  header.writeUInt16BE(Math.log2(pow), 8);
  header.writeUInt16BE(count * 16 - pow * 16, 10);
  const parts: Buffer[] = [header];
  let offset = header.length;
  tables.forEach((t, i) => {
    header.writeUInt32BE(t.tag, 12 + i * 16);
    header.writeUInt32BE(t.checksum, 16 + i * 16);
    header.writeUInt32BE(offset, 20 + i * 16);
    header.writeUInt32BE(t.data.length, 24 + i * 16);
    const padded = Buffer.alloc((t.data.length + 3) & ~3);
    t.data.copy(padded);
    parts.push(padded);
    offset += padded.length;
  });
  return Buffer.concat(parts);
}

/** A seeded generator, so that every run degrades a page with the same noise. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const escapeMarkup = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Sets `text` (paragraphs one per line) justified at `setting.pt` points and 300 dpi, then degrades
 * it as a flatbed scan of a clean page would: gaussian blur (sigma 0.7), a 0.3 degree skew,
 * gaussian grain (sd 10 grey levels, seeded) and JPEG at quality 80. Writes `<dir>/<name>.jpg`.
 */
export async function renderSyntheticPage(dir: string, name: string, setting: SyntheticSetting, text: string): Promise<string> {
  const fontDir = path.join(dir, 'fonts');
  await mkdir(fontDir, { recursive: true });
  const fontfile = path.join(fontDir, `${setting.font.replace(/\s+/g, '-')}.ttf`);
  await writeFile(fontfile, woffToSfnt(await readFile(path.join(fontsDir, FONTS[setting.font]))));
  // Text comes out as a one-band mask, ink 255 on 0: negate it to black on white, add margins.
  const set = await sharp({
    text: { text: escapeMarkup(text), font: `${setting.font} ${setting.pt}`, fontfile, width: TEXT_WIDTH, dpi: DPI, justify: true, spacing: 0 },
  })
    .extractChannel(0)
    .negate()
    .png()
    .toBuffer();
  // A second pipeline, since sharp extends and rotates before it negates, whatever the call order.
  const white = { r: 255, g: 255, b: 255 };
  const { data, info } = await sharp(set)
    .extend({ top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN, background: white })
    .rotate(0.3, { background: white })
    .blur(0.7)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const random = mulberry32(name.split('').reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261));
  for (let i = 0; i < data.length; i++) {
    // Box-Muller: a normal deviate from two uniforms.
    const grain = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) * 10;
    data[i] = Math.max(0, Math.min(255, Math.round(data[i]! + grain)));
  }
  const file = path.join(dir, `${name}.jpg`);
  await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).jpeg({ quality: 80 }).toFile(file);
  return file;
}
