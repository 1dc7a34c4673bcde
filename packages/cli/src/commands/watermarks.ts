import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { LoupeError } from '@loupe/contracts';
import { planWatermarkSet, toCsv, WATERMARK_LABELS, watermarkMaskSvg, watermarkStream, watermarkSvg, type PlannedImage, type WatermarkSpec } from '@loupe/datasets';
import { numberOption } from '../options.js';

/** Pictures smaller than this on their short side are thumbnails: a mark on them is a smudge, not a watermark. */
const MIN_SHORT_SIDE = 160;
/** Views are written no larger than this on their long side: the head reads them at 224 px anyway. */
const MAX_SIDE = 1024;
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff']);

/**
 * The picture cut to `crop` (shares of its size), upright, RGB, at most MAX_SIDE on its long
 * side, with the mark laid over it when there is one: a generated mark, or an SVG drawn for the
 * view's size (marks made by hand). JPEG, as a library's derivatives are.
 */
export async function watermarkedView(source: Buffer | string, crop: PlannedImage['crop'], mark: WatermarkSpec | ((width: number, height: number) => string) | undefined): Promise<Buffer> {
  const upright = await sharp(source).rotate().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = upright.info;
  const region = { left: Math.floor(crop.left * w), top: Math.floor(crop.top * h), width: Math.max(1, Math.floor(crop.width * w)), height: Math.max(1, Math.floor(crop.height * h)) };
  const view = await sharp(upright.data)
    .extract(region)
    .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .toBuffer({ resolveWithObject: true });
  const out = sharp(view.data);
  const { width, height } = view.info;
  if (typeof mark === 'function') out.composite([{ input: Buffer.from(mark(width, height)) }]);
  else if (mark) out.composite([{ input: Buffer.from(watermarkSvg(mark, width, height)), blend: mark.blend }]);
  return out.jpeg({ quality: 90 }).toBuffer();
}

/** Decoded pixels of a view; a view's clean twin is decoded once however often its mark is drawn again. */
export const rawPixels = (view: Buffer): Promise<Buffer> => sharp(view).raw().toBuffer();

/** A pixel of the mark's ink is visible when the marked view differs there from the clean one by this much (of 255, in some channel). */
const VISIBLE_LEVELS = 10;
/** A mark is a watermark when at least this share of its ink is visible; under it nobody would see it, and it is drawn again. */
const VISIBLE_SHARE = 0.3;
/** Marks drawn again at most this many times before the view keeps its last one. */
const REDRAWS = 8;

/**
 * Where the mark's ink lies and can be seen on `marked` (white on black, PNG), against its clean
 * twin's decoded pixels (`rawPixels`): the ink drawn at full opacity, kept where the two views differ by VISIBLE_LEVELS. The
 * share of the ink that is visible says whether the mark is one at all: soft light over a mid
 * grey, white screened over white paper, a dark mark multiplied into a dark engraving leave no
 * trace, and a view labelled `watermark` that shows none teaches a head noise.
 */
export async function visibleInk(marked: Buffer, cleanPixels: Buffer, mark: WatermarkSpec): Promise<{ mask: Buffer; share: number }> {
  const m = await sharp(marked).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = m.info;
  const c = cleanPixels;
  const drawn = await sharp({ create: { width, height, channels: 3, background: '#000000' } })
    .composite([{ input: Buffer.from(watermarkMaskSvg(mark, width, height)) }])
    .greyscale()
    .raw()
    .toBuffer();
  const mask = Buffer.alloc(width * height);
  let ink = 0;
  let seen = 0;
  for (let i = 0; i < width * height; i++) {
    if (drawn[i]! < 128) continue;
    ink += 1;
    let most = 0;
    for (let k = 0; k < channels; k++) most = Math.max(most, Math.abs(m.data[i * channels + k]! - c[i * channels + k]!));
    if (most >= VISIBLE_LEVELS) {
      seen += 1;
      mask[i] = 255;
    }
  }
  const png = await sharp(mask, { raw: { width, height, channels: 1 } }).png().toBuffer();
  return { mask: png, share: ink === 0 ? 0 : seen / ink };
}

export interface WatermarkSetCommandOptions {
  readonly from?: string | undefined;
  readonly out?: string | undefined;
  readonly seed?: string | undefined;
  readonly views?: string | undefined;
}

/**
 * `loupe datasets watermarks --from <pictures> --out <dir>`: a labelled folder for
 * `loupe train --images <dir>`: clean and watermarked views of each picture, and labels.csv
 * (file, concept, label, group: the picture each view is cut from).
 */
export async function watermarkSetCommand(opts: WatermarkSetCommandOptions, say: (line: string) => void): Promise<number> {
  if (!opts.from || !opts.out) throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe datasets watermarks needs --from <folder of pictures> and --out <folder>');
  const views = numberOption('views', opts.views, true, { min: 1, max: 50 });
  const seed = opts.seed ?? 'loupe-watermarks';
  const from = path.resolve(opts.from);
  const sources: string[] = [];
  for (const name of (await readdir(from)).sort()) {
    if (!IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase())) continue;
    const meta = await sharp(path.join(from, name)).metadata().catch(() => undefined);
    if (!meta?.width || !meta.height) {
      say(`skipped ${name}: not an image sharp can read`);
    } else if (Math.min(meta.width, meta.height) < MIN_SHORT_SIDE) {
      say(`skipped ${name}: ${meta.width} x ${meta.height}, under ${MIN_SHORT_SIDE} px on its short side`);
    } else {
      sources.push(name);
    }
  }
  if (sources.length < 2) throw new LoupeError('LOUPE_ERR_VALIDATION', `${from} has ${sources.length} usable picture(s); a watermark set needs two or more`);
  const plan = planWatermarkSet(sources, { seed, ...(views !== undefined && { views }) });
  const out = path.resolve(opts.out);
  await mkdir(out, { recursive: true });
  const maskOf = (file: string): string => file.replace(/\.jpg$/u, '.mask.png');
  const spare = watermarkStream(`${seed}:redrawn`);
  let redrawn = 0;
  let cleanPixels: Buffer | undefined;
  const drawn: Record<string, WatermarkSpec> = {};
  for (const item of plan) {
    const source = path.join(from, item.source);
    if (!item.mark) {
      const clean = await watermarkedView(source, item.crop, undefined);
      await writeFile(path.join(out, item.file), clean);
      cleanPixels = await rawPixels(clean);
      continue;
    }
    // The plan writes each view clean, then marked: `cleanPixels` are this view's twin's.
    let mark = item.mark;
    let view = await watermarkedView(source, item.crop, mark);
    let ink = await visibleInk(view, cleanPixels!, mark);
    for (let tries = 0; ink.share < VISIBLE_SHARE && tries < REDRAWS; tries++) {
      mark = spare();
      redrawn += 1;
      view = await watermarkedView(source, item.crop, mark);
      ink = await visibleInk(view, cleanPixels!, mark);
    }
    await writeFile(path.join(out, item.file), view);
    await writeFile(path.join(out, maskOf(item.file)), ink.mask);
    drawn[item.file] = mark;
  }
  const csv = toCsv(
    ['file', 'concept', 'label', 'group', 'mask'],
    plan.map((p) => [p.file, p.concept, WATERMARK_LABELS[p.concept]!, p.source, p.mark ? maskOf(p.file) : '']),
  );
  await writeFile(path.join(out, 'labels.csv'), csv);
  // The mark each marked view carries (the plan's, or the one drawn again in its place): what a measure by placement or opacity reads.
  await writeFile(path.join(out, 'marks.json'), `${JSON.stringify(drawn, null, 1)}\n`);
  const marked = plan.filter((p) => p.mark).length;
  say(`wrote ${plan.length} images (${marked} watermarked, ${plan.length - marked} clean) from ${sources.length} pictures and ${path.join(out, 'labels.csv')}; marks drawn again because nobody could have seen them: ${redrawn}; train with: loupe train --images ${opts.out} --head watermark`);
  return 0;
}
