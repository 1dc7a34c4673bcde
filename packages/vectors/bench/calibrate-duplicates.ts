// Calibrates the duplicates report's thresholds (a script, not a test): the near tier's Hamming
// distance on the 64-bit DCT hash, and the similar tier's cosine on the MobileNetV2 features.
//
//   node --import tsx --conditions=loupe-source packages/vectors/bench/calibrate-duplicates.ts [--out report.json] [--no-fixtures]
//        [--save-items items.json] [--items items.json]
//
// --save-items writes every image's name, family, hash and vector; --items reads them back instead
// of embedding again (the analysis alone takes seconds, the embedding minutes).
//
// The labelled set: base images (the heritage fixtures of ../shared/fixtures/images when present,
// plus images drawn here: shapes, rendered text pages, noise textures, patterns, scenes, so that
// it also runs on a fresh clone) and, for each base, variants a collection really holds: a low
// quality JPEG, 50 % and 25 % downsizes, a 5 % crop, 1 and 3 degree rotations, a hue shift, a
// brightness shift, greyscale, and a smaller, recompressed, brighter derivative. Every pair of
// images of one base is a positive (the same picture); every pair across bases is a negative.
// Each image is embedded with the offline pack's real model and hashed as the services do.
//
// Printed: precision and recall of `hamming <= t1` for t1 = 0..16 and of `cosine >= t2` for
// t2 = 0.800..0.990 (steps of 0.005), overall and per transform (a transform's positives are the
// base against its variant, its negatives every pair holding such a variant), the similar tier's
// own curve (the pairs the near tier left; also on the heritage images alone), the chosen t1
// (largest with precision >= 0.99 that also keeps chance pairs rare in 100,000 images, see below)
// and t2 (best F1 with precision >= 0.95), the hardest
// negatives, what findDuplicates itself then groups, and one JSON line.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { seededRandom } from '@loupe/datasets';
import { createEngine, createImageEmbedder, hammingDistance, openRegistry, perceptualHash, prepareImage } from '@loupe/inference';
import { findDuplicates } from '../src/analysis/duplicates.js';
import type { Random } from '../src/analysis/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixturesDir = path.resolve(here, '../../../../shared/fixtures/images');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = outArg >= 0 ? args[outArg + 1] : undefined;
const useFixtures = !args.includes('--no-fixtures') && existsSync(fixturesDir);
const argValue = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const saveItems = argValue('--save-items');
const loadItems = argValue('--items');
const FIT = 1024;
const MODEL = 'mobilenet-v2-features';

/** Fixture files that show the same picture: one family. */
const SAME_PICTURE: readonly (readonly string[])[] = [
  ['painting-bruegel-harvesters.jpg', 'painting-bruegel-harvesters-lossy.webp'],
  ['incunable-latin-bible-page-775x1024.jpg', 'thumb-incunable-latin-bible-97x128.jpg'],
];
/** Fixture files that are renditions of one another but not the same picture (a page and its binarisation): neither positive nor negative. */
const RELATED: readonly (readonly [string, string])[] = [['book-page-printed-french-18th-century.jpg', 'book-page-printed-french-binarized.png']];

// ---------------------------------------------------------------------------------------------
// Base images drawn here, from a seeded generator: the same set on every run.

const colour = (r: Random, lo = 0, hi = 255) => `rgb(${[0, 1, 2].map(() => Math.round(lo + r() * (hi - lo))).join(',')})`;
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const svg = (w: number, h: number, body: string) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`);

function shapes(r: Random): Buffer {
  const w = 800;
  const h = 600;
  let body = `<defs><linearGradient id="g" x1="0" y1="0" x2="${r().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour(r)}"/><stop offset="1" stop-color="${colour(r)}"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)"/>`;
  const count = 6 + Math.floor(r() * 7);
  for (let i = 0; i < count; i++) {
    const x = r() * w;
    const y = r() * h;
    const s = 40 + r() * 200;
    const fill = `fill="${colour(r)}" fill-opacity="${(0.5 + r() * 0.5).toFixed(2)}"`;
    const kind = pick(r, ['circle', 'rect', 'ellipse', 'polygon']);
    if (kind === 'circle') body += `<circle cx="${x}" cy="${y}" r="${s / 2}" ${fill}/>`;
    else if (kind === 'rect') body += `<rect x="${x - s / 2}" y="${y - s / 3}" width="${s}" height="${(s * 2) / 3}" transform="rotate(${Math.round(r() * 90)} ${x} ${y})" ${fill}/>`;
    else if (kind === 'ellipse') body += `<ellipse cx="${x}" cy="${y}" rx="${s / 2}" ry="${s / 4}" ${fill}/>`;
    else body += `<polygon points="${[0, 1, 2].map(() => `${x + (r() - 0.5) * s * 1.5},${y + (r() - 0.5) * s * 1.5}`).join(' ')}" ${fill}/>`;
  }
  return svg(w, h, body);
}

function textPage(r: Random): Buffer {
  const w = 700;
  const h = 1000;
  const paper = `rgb(${235 + Math.floor(r() * 20)},${225 + Math.floor(r() * 20)},${200 + Math.floor(r() * 30)})`;
  const ink = pick(r, ['#222', '#2b1d0e', '#1a2540', '#3a2a1a']);
  const size = 16 + Math.floor(r() * 10);
  const margin = 50 + Math.floor(r() * 60);
  const columns = r() < 0.3 ? 2 : 1;
  const word = () => Array.from({ length: 2 + Math.floor(r() * 8) }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
  let body = `<rect width="${w}" height="${h}" fill="${paper}"/>`;
  const top = margin + (r() < 0.5 ? 80 : 0);
  if (top > margin) body += `<text x="${w / 2}" y="${margin + 40}" font-family="serif" font-size="${size * 2}" text-anchor="middle" fill="${ink}">${word()} ${word()}</text>`;
  const colWidth = (w - 2 * margin - (columns - 1) * 30) / columns;
  for (let c = 0; c < columns; c++) {
    for (let y = top + size; y < h - margin; y += size * 1.5) {
      if (r() < 0.08) continue; // a paragraph break
      let line = '';
      while (line.length * size * 0.5 < colWidth - 60) line += `${word()} `;
      body += `<text x="${margin + c * (colWidth + 30)}" y="${y}" font-family="serif" font-size="${size}" fill="${ink}">${line.trim()}</text>`;
    }
  }
  return svg(w, h, body);
}

async function noiseTexture(r: Random): Promise<Buffer> {
  // Random pixels on a coarse grid, smoothly enlarged, with a finer grid laid over: a mottled texture.
  const layer = async (cells: number) => {
    const data = Buffer.alloc(cells * cells * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
    return sharp(data, { raw: { width: cells, height: cells, channels: 3 } }).resize(640, 640, { kernel: 'cubic' }).raw().toBuffer();
  };
  const coarse = await layer(4 + Math.floor(r() * 8));
  const fine = await layer(24 + Math.floor(r() * 40));
  const mix = Buffer.alloc(coarse.length);
  for (let i = 0; i < mix.length; i++) mix[i] = Math.round(coarse[i]! * 0.75 + fine[i]! * 0.25);
  return sharp(mix, { raw: { width: 640, height: 640, channels: 3 } }).png().toBuffer();
}

function pattern(r: Random): Buffer {
  const w = 700;
  const h = 700;
  const p = 12 + Math.floor(r() * 50);
  const a = colour(r);
  const b = colour(r);
  const inner =
    r() < 0.5
      ? `<rect width="${p}" height="${p}" fill="${a}"/><rect width="${p / 2}" height="${p}" fill="${b}"/>`
      : `<rect width="${p}" height="${p}" fill="${a}"/><rect width="${p / 2}" height="${p / 2}" fill="${b}"/><rect x="${p / 2}" y="${p / 2}" width="${p / 2}" height="${p / 2}" fill="${b}"/>`;
  return svg(
    w,
    h,
    `<defs><pattern id="p" width="${p}" height="${p}" patternUnits="userSpaceOnUse" patternTransform="rotate(${Math.round(r() * 180)})">${inner}</pattern></defs>` +
      `<rect width="${w}" height="${h}" fill="url(#p)"/><circle cx="${200 + r() * 300}" cy="${200 + r() * 300}" r="${80 + r() * 120}" fill="${colour(r)}"/>`,
  );
}

function scene(r: Random): Buffer {
  const w = 900;
  const h = 600;
  const horizon = 250 + r() * 150;
  let body = `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${colour(r, 40, 200)}"/><stop offset="1" stop-color="${colour(r, 150, 255)}"/></linearGradient></defs>`;
  body += `<rect width="${w}" height="${h}" fill="url(#sky)"/><circle cx="${r() * w}" cy="${60 + r() * 120}" r="${25 + r() * 40}" fill="${colour(r, 200, 255)}"/>`;
  const ridge = Array.from({ length: 8 }, (_, i) => `${(i * w) / 7},${horizon - 40 - r() * 160}`).join(' ');
  body += `<polygon points="0,${horizon} ${ridge} ${w},${horizon}" fill="${colour(r, 40, 140)}"/>`;
  body += `<rect y="${horizon}" width="${w}" height="${h - horizon}" fill="${colour(r, 30, 160)}"/>`;
  for (let i = 0; i < 3 + Math.floor(r() * 6); i++) {
    const x = r() * w;
    const y = horizon + 20 + r() * (h - horizon - 40);
    const s = 20 + r() * 60;
    body += `<rect x="${x - s / 8}" y="${y - s}" width="${s / 4}" height="${s}" fill="#4a3520"/><circle cx="${x}" cy="${y - s}" r="${s / 2}" fill="${colour(r, 20, 120)}"/>`;
  }
  return svg(w, h, body);
}

async function generatedBases(): Promise<{ name: string; bytes: Buffer }[]> {
  const kinds: [string, number, (r: Random) => Buffer | Promise<Buffer>][] = [
    ['shapes', 10, shapes],
    ['text', 10, textPage],
    ['noise', 8, noiseTexture],
    ['pattern', 6, pattern],
    ['scene', 6, scene],
  ];
  const out: { name: string; bytes: Buffer }[] = [];
  for (const [kind, count, draw] of kinds) {
    for (let i = 0; i < count; i++) {
      const r = seededRandom(1000 * kinds.findIndex((k) => k[0] === kind) + i);
      out.push({ name: `generated-${kind}-${i}`, bytes: await sharp(await draw(r)).png().toBuffer() });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Variants: what a collection holds of one picture.

type Transform = (img: Buffer, w: number, h: number) => Promise<Buffer>;
const TRANSFORMS: Record<string, Transform> = {
  'jpeg-q15': (img) => sharp(img).jpeg({ quality: 15 }).toBuffer(),
  'resize-50': (img, w) => sharp(img).resize({ width: Math.max(1, Math.round(w * 0.5)) }).png().toBuffer(),
  'resize-25': (img, w) => sharp(img).resize({ width: Math.max(1, Math.round(w * 0.25)) }).png().toBuffer(),
  'crop-5': (img, w, h) => {
    const left = Math.round(w * 0.05);
    const top = Math.round(h * 0.05);
    return sharp(img).extract({ left, top, width: Math.max(1, w - left), height: Math.max(1, h - top) }).png().toBuffer();
  },
  'rotate-1': (img, w, h) => rotate(img, w, h, 1),
  'rotate-3': (img, w, h) => rotate(img, w, h, -3),
  'hue-30': (img) => sharp(img).modulate({ hue: 30 }).png().toBuffer(),
  'bright-120': (img) => sharp(img).modulate({ brightness: 1.2 }).png().toBuffer(),
  grayscale: (img) => sharp(img).grayscale().png().toBuffer(),
  'derivative': (img, w) => sharp(img).resize({ width: Math.max(1, Math.round(w * 0.4)) }).modulate({ brightness: 1.1 }).jpeg({ quality: 40 }).toBuffer(),
};

/** Rotated about the centre, as a slightly skewed scan: the canvas keeps its size, the corners filled white. */
async function rotate(img: Buffer, w: number, h: number, degrees: number): Promise<Buffer> {
  const turned = await sharp(img).rotate(degrees, { background: '#ffffff' }).png().toBuffer({ resolveWithObject: true });
  const left = Math.max(0, Math.floor((turned.info.width - w) / 2));
  const top = Math.max(0, Math.floor((turned.info.height - h) / 2));
  return sharp(turned.data).extract({ left, top, width: Math.min(w, turned.info.width), height: Math.min(h, turned.info.height) }).png().toBuffer();
}

// ---------------------------------------------------------------------------------------------

interface Item {
  readonly name: string;
  readonly family: number;
  /** 'base' or the transform's name. */
  readonly kind: string;
  readonly source: 'fixture' | 'generated';
  readonly phash: string;
  readonly vector: Float32Array;
}

const started = performance.now();
let modelVersion = '';
const items: Item[] = [];
const bases: { name: string; source: 'fixture' | 'generated' }[] = [];
const familyOfName = new Map<string, number>();
if (loadItems) {
  const saved = JSON.parse(await readFile(loadItems, 'utf8')) as { modelVersion: string; items: (Omit<Item, 'vector'> & { vector: number[] })[] };
  modelVersion = saved.modelVersion;
  for (const it of saved.items) {
    items.push({ ...it, vector: Float32Array.from(it.vector) });
    if (it.kind === 'base' || it.kind === 'natural') {
      bases.push({ name: it.name, source: it.source });
      familyOfName.set(it.name, it.family);
    }
  }
} else {
  const registry = openRegistry({ modelsDir: process.env.LOUPE_MODELS_DIR ?? path.join(os.homedir(), '.local', 'share', 'loupe', 'models') });
  const engine = createEngine({ executionProvider: 'cpu' });
  const { card, files } = await registry.resolve(MODEL);
  modelVersion = card.version;
  const embedder = createImageEmbedder(await engine.load(card, files));

  const sources: { name: string; bytes: Buffer; source: 'fixture' | 'generated' }[] = [];
  if (useFixtures) {
    for (const file of (await readdir(fixturesDir)).sort()) {
      if (!/\.(jpe?g|png|webp|tiff?)$/i.test(file)) continue;
      sources.push({ name: file, bytes: await readFile(path.join(fixturesDir, file)), source: 'fixture' });
    }
  } else {
    console.error(`calibrate-duplicates: no fixture images at ${fixturesDir}; generated images only`);
  }
  for (const g of await generatedBases()) sources.push({ ...g, source: 'generated' });

  const embedAndHash = async (bytes: Buffer) => ({ phash: await perceptualHash(bytes), vector: await embedder.embed(await prepareImage(bytes)) });
  let families = 0;
  for (const base of sources) {
    bases.push({ name: base.name, source: base.source });
    // A fixture showing the same picture as one already read joins its family, as a 'natural' duplicate.
    const merged = SAME_PICTURE.find((g) => g.includes(base.name));
    const joined = merged?.map((name) => familyOfName.get(name)).find((f) => f !== undefined);
    const family = joined ?? families++;
    familyOfName.set(base.name, family);
    // The base as the services would see it: fitted inside 1024 x 1024, upright RGB.
    const fitted = await sharp(base.bytes).rotate().resize({ width: FIT, height: FIT, fit: 'inside', withoutEnlargement: true }).toColourspace('srgb').png().toBuffer({ resolveWithObject: true });
    items.push({ name: base.name, family, kind: joined === undefined ? 'base' : 'natural', source: base.source, ...(await embedAndHash(fitted.data)) });
    for (const [kind, transform] of Object.entries(TRANSFORMS)) {
      const bytes = await transform(fitted.data, fitted.info.width, fitted.info.height);
      items.push({ name: `${base.name}~${kind}`, family, kind, source: base.source, ...(await embedAndHash(bytes)) });
    }
  }
  await engine.close();
  if (saveItems) await writeFile(saveItems, JSON.stringify({ model: MODEL, modelVersion, items: items.map((it) => ({ ...it, vector: Array.from(it.vector) })) }));
}
const embedSeconds = (performance.now() - started) / 1000;

// ---------------------------------------------------------------------------------------------
// Pairs and their labels.

const ignoredPairs = new Set(RELATED.flatMap(([a, b]) => [`${familyOfName.get(a)}:${familyOfName.get(b)}`, `${familyOfName.get(b)}:${familyOfName.get(a)}`]));
interface Pair {
  /** Indices into items. */
  readonly a: number;
  readonly b: number;
  readonly positive: boolean;
  readonly hamming: number;
  readonly cosine: number;
  /** The transforms the pair involves: for a positive, the variant's kind when the other is the base ('base-variant' pairs); for a negative, the kinds of both images. */
  readonly kinds: readonly string[];
  readonly baseVariant: boolean;
}
const pairs: Pair[] = [];
for (let i = 0; i < items.length; i++) {
  for (let j = i + 1; j < items.length; j++) {
    const a = items[i]!;
    const b = items[j]!;
    if (ignoredPairs.has(`${a.family}:${b.family}`)) continue;
    let dot = 0;
    for (let d = 0; d < a.vector.length; d++) dot += a.vector[d]! * b.vector[d]!;
    const positive = a.family === b.family;
    const baseVariant = positive && (a.kind === 'base' || b.kind === 'base');
    pairs.push({ a: i, b: j, positive, hamming: hammingDistance(a.phash, b.phash), cosine: dot, kinds: [...new Set([a.kind, b.kind])].filter((k) => k !== 'base'), baseVariant });
  }
}

interface Score {
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}
function score(selected: (p: Pair) => boolean, among: (p: Pair) => boolean, positives: (p: Pair) => boolean = (p) => p.positive): Score {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const p of pairs) {
    if (!among(p)) continue;
    const pos = positives(p);
    const sel = selected(p);
    if (sel && pos) tp++;
    else if (sel && !p.positive) fp++;
    else if (!sel && pos) fn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : null;
  return { tp, fp, fn, precision, recall, f1 };
}
/** Per transform T: positives are (base, T-variant) pairs; negatives, pairs that hold a T-variant. */
function perTransform(selected: (p: Pair) => boolean, among: (p: Pair) => boolean = () => true): Record<string, Score> {
  const out: Record<string, Score> = {};
  for (const kind of [...Object.keys(TRANSFORMS), 'natural']) {
    out[kind] = score(
      selected,
      (p) => among(p) && p.kinds.includes(kind) && (!p.positive || (p.baseVariant && p.kinds.length === 1)),
      (p) => p.positive && p.baseVariant && p.kinds.length === 1,
    );
  }
  return out;
}

const nearCurve = Array.from({ length: 17 }, (_, t1) => ({ t1, all: score((p) => p.hamming <= t1, () => true), perTransform: perTransform((p) => p.hamming <= t1) }));
// 0.800 to 0.990 in steps of 0.005: the useful range of this model is narrow and high.
const cosines = Array.from({ length: 39 }, (_, i) => Math.round((0.8 + i * 0.005) * 1000) / 1000);
const cosineCurve = cosines.map((t2) => ({ t2, all: score((p) => p.cosine >= t2, () => true), perTransform: perTransform((p) => p.cosine >= t2) }));

// t1: precision on this set is not enough. 913 images make 416,207 pairs; 100,000 images make
// 5e9, and unrelated images meet within t1 bits by chance at a rate this set cannot measure below
// about 1e-5. So t1 must also pass a chance model: the hash has its DC bit and 31 of its 63 other
// bits set (those above the median), so two hashes differ in 2j bits, j the set bits of one that
// the other lacks; were the set bits of unrelated images random, P(j) = C(31, j) C(32, j) / C(63, 31).
// (Real hashes are less spread than random ones: on this set the measured rate at 12 bits is
// about three times the model's, so the model is a floor.)
const NEAR_PRECISION = 0.99;
const COLLECTION = 100_000;
const MAX_CHANCE_PAIRS_PER_IMAGE = 0.01;
const binomial = (n: number, k: number) => {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c;
};
const chanceRate = (t: number) => {
  let p = 0;
  for (let j = 0; 2 * j <= t; j++) p += binomial(31, j) * binomial(32, j);
  return p / binomial(63, 31);
};
const chancePairsPerImage = (t: number) => (chanceRate(t) * (COLLECTION - 1)) / 2;
const nearOk = (r: (typeof nearCurve)[number]) => (r.all.precision ?? 1) >= NEAR_PRECISION && chancePairsPerImage(r.t1) <= MAX_CHANCE_PAIRS_PER_IMAGE;
const largest = [...nearCurve].reverse().find(nearOk) ?? nearCurve[0]!;
// Hashes always have 32 bits set, so distances are even: of two thresholds with the same counts the smaller is given.
const t1 = nearCurve.find((r) => r.all.tp === largest.all.tp && r.all.fp === largest.all.fp)!.t1;
// The similar tier only sees pairs the near tier left (hamming > t1): its own curve, and t2 from it.
const beyondNear = (p: Pair) => p.hamming > t1;
const similarCurve = cosines.map((t2) => ({ t2, all: score((p) => p.cosine >= t2, beyondNear), perTransform: perTransform((p) => p.cosine >= t2, beyondNear) }));
// The same on real images only (pairs of two fixture-based images), when there are fixtures.
const realOnly = (p: Pair) => beyondNear(p) && items[p.a]!.source === 'fixture' && items[p.b]!.source === 'fixture';
const realCurve = useFixturesInItems() ? cosines.map((t2) => ({ t2, all: score((p) => p.cosine >= t2, realOnly) })) : [];
const SIMILAR_PRECISION = 0.95;
const eligible = similarCurve.filter((r) => (r.all.precision ?? 0) >= SIMILAR_PRECISION && r.all.f1 !== null);
const t2 = eligible.length > 0 ? eligible.reduce((x, y) => (y.all.f1! > x.all.f1! ? y : x)).t2 : 0.99;
const bestF1 = similarCurve.filter((r) => r.all.f1 !== null).reduce((x, y) => (y.all.f1! > x.all.f1! ? y : x));
const combined = score((p) => p.hamming <= t1 || p.cosine >= t2, () => true);
const combinedPer = perTransform((p) => p.hamming <= t1 || p.cosine >= t2);

function useFixturesInItems(): boolean {
  return items.some((it) => it.source === 'fixture');
}

// ---------------------------------------------------------------------------------------------
// Report.

const f = (x: number | null, digits = 3) => (x === null ? '  -  ' : x.toFixed(digits));
const kinds = [...Object.keys(TRANSFORMS), 'natural'];
const header = (label: string) => `${label.padEnd(5)} ${'TP'.padStart(5)} ${'FP'.padStart(6)}  prec   rec    F1   | recall per transform: ${kinds.map((k) => k.slice(0, 9).padStart(9)).join(' ')}`;
const line = (label: string, s: Score, per?: Record<string, Score>) =>
  `${label.padEnd(5)} ${String(s.tp).padStart(5)} ${String(s.fp).padStart(6)}  ${f(s.precision)} ${f(s.recall)} ${f(s.f1)} |${per ? ` ${' '.repeat(21)}${kinds.map((k) => f(per[k]!.recall).padStart(9)).join(' ')}` : ''}`;
const positives = pairs.filter((p) => p.positive).length;
console.log(
  `${items.length} images (${bases.length} bases: ${bases.filter((b) => b.source === 'fixture').length} fixtures, ${bases.filter((b) => b.source === 'generated').length} generated; ${Object.keys(TRANSFORMS).length} variants each), ` +
    `${pairs.length} pairs (${positives} positive), ${loadItems ? `read from ${loadItems}` : `embedded`} with ${MODEL} ${modelVersion} in ${embedSeconds.toFixed(0)} s`,
);
console.log(`\nnear: hamming <= t1 (all pairs)\n${header('t1')}`);
for (const r of nearCurve) console.log(line(String(r.t1), r.all, r.perTransform));
console.log(
  `\nchance pairs of unrelated images within t1 bits (model): ${nearCurve
    .filter((r) => r.t1 % 2 === 0 && r.t1 >= 6)
    .map((r) => `${r.t1}: ${chanceRate(r.t1).toExponential(1)} per pair, ${Math.round(chanceRate(r.t1) * ((COLLECTION * (COLLECTION - 1)) / 2))} in ${COLLECTION} images`)
    .join('; ')}` + `; measured on this set at ${t1}: ${nearCurve[t1]!.all.fp} of ${pairs.filter((p) => !p.positive).length}`,
);
console.log(`\ncosine >= t2 (all pairs)\n${header('t2')}`);
for (const r of cosineCurve) console.log(line(r.t2.toFixed(3), r.all, r.perTransform));
console.log(`\nsimilar tier: cosine >= t2 among pairs with hamming > ${t1}\n${header('t2')}`);
for (const r of similarCurve) console.log(line(r.t2.toFixed(3), r.all, r.perTransform));
if (realCurve.length > 0) {
  console.log(`\nsimilar tier on real images only (both images from fixtures): cosine >= t2 among pairs with hamming > ${t1}`);
  for (const r of realCurve) console.log(line(r.t2.toFixed(3), r.all));
}
const chosenNear = nearCurve[t1]!;
const chosenSimilar = similarCurve.find((r) => r.t2 === t2)!;
console.log(
  `\nchosen: t1 = ${t1} (precision ${f(chosenNear.all.precision)}, recall ${f(chosenNear.all.recall)}); ` +
    `t2 = ${t2} (similar tier precision ${f(chosenSimilar.all.precision)}, recall ${f(chosenSimilar.all.recall)} of the pairs near left; best F1 at ${bestF1.t2}); ` +
    `either tier: precision ${f(combined.precision)}, recall ${f(combined.recall)}`,
);
console.log(`either tier, recall per transform: ${kinds.map((k) => `${k} ${f(combinedPer[k]!.recall)}`).join(', ')}`);

// The hardest negatives: what the thresholds are up against.
const category = (i: number) => {
  const name = items[i]!.name;
  return name.startsWith('generated-') ? name.split('-').slice(0, 2).join('-') : name.split('-')[0]!;
};
const negatives = pairs.filter((p) => !p.positive);
const describePair = (p: Pair) => `hamming ${String(p.hamming).padStart(2)}  cosine ${p.cosine.toFixed(3)}  ${items[p.a]!.name}  |  ${items[p.b]!.name}`;
console.log(`\nclosest negatives by hash:\n${[...negatives].sort((x, y) => x.hamming - y.hamming || y.cosine - x.cosine).slice(0, 8).map(describePair).join('\n')}`);
console.log(`\nclosest negatives by embedding:\n${[...negatives].sort((x, y) => y.cosine - x.cosine).slice(0, 8).map(describePair).join('\n')}`);
const byCategory = new Map<string, number>();
for (const p of negatives) {
  if (p.cosine < 0.95) continue;
  const key = [category(p.a), category(p.b)].sort().join(' ~ ');
  byCategory.set(key, (byCategory.get(key) ?? 0) + 1);
}
console.log(`\nnegatives with cosine >= 0.95, by kind of image: ${[...byCategory].sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);

// End to end: the report at the chosen thresholds, its groups (connected components, so chains
// count) against the families, pair by pair: same group versus same picture.
const duplicates = await findDuplicates(
  items.map((it, i) => ({ id: String(i), payload: { canvasId: it.name, imageIndex: 0, manifestId: String(it.family), phash: it.phash }, vector: it.vector })),
  { nearHamming: t1, similarCosine: t2 },
);
const groupOf = new Int32Array(items.length).fill(-1);
duplicates.groups.filter((g) => g.parent === null).forEach((g, at) => g.members.forEach((id) => (groupOf[Number(id)] = at)));
const sameGroup = score((p) => groupOf[p.a]! >= 0 && groupOf[p.a] === groupOf[p.b], () => true);
const familyGroups = new Map<number, Set<number>>();
items.forEach((it, i) => familyGroups.set(it.family, (familyGroups.get(it.family) ?? new Set()).add(groupOf[i]! >= 0 ? groupOf[i]! : -1 - i)));
const whole = [...familyGroups.values()].filter((g) => g.size === 1).length;
const mixedGroups = duplicates.groups.filter((g) => g.parent === null && new Set(g.members.map((id) => items[Number(id)]!.family)).size > 1);
const mixed = mixedGroups.length;
console.log(
  `\nfindDuplicates at t1 = ${t1}, t2 = ${t2} (k = ${duplicates.thresholds.k}): ${duplicates.counts.groups.exact} exact, ${duplicates.counts.groups.near} near, ${duplicates.counts.groups.similar} similar groups; ` +
    `same group as same picture: precision ${f(sameGroup.precision)}, recall ${f(sameGroup.recall)}; ` +
    `${whole} of ${familyGroups.size} pictures wholly in one group; ${mixed} top-level groups mix pictures`,
);
for (const g of mixedGroups) {
  const names = [...new Set(g.members.map((id) => items[Number(id)]!.name.split('~')[0]!))];
  console.log(`  ${g.id} (${g.size} images) joins ${names.join(', ')}`);
}

const round = (s: Score) => ({ ...s, precision: s.precision === null ? null : +s.precision.toFixed(4), recall: s.recall === null ? null : +s.recall.toFixed(4), f1: s.f1 === null ? null : +s.f1.toFixed(4) });
const roundPer = (per: Record<string, Score>) => Object.fromEntries(Object.entries(per).map(([k, s]) => [k, round(s)]));
const report = {
  model: { id: MODEL, version: modelVersion },
  images: items.length,
  bases: { fixtures: bases.filter((b) => b.source === 'fixture').length, generated: bases.filter((b) => b.source === 'generated').length },
  transforms: Object.keys(TRANSFORMS),
  pairs: { total: pairs.length, positive: positives },
  rule: {
    near: `largest t1 with precision >= ${NEAR_PRECISION} and at most ${MAX_CHANCE_PAIRS_PER_IMAGE} chance pairs per image in ${COLLECTION} images`, similar: `best F1 with precision >= ${SIMILAR_PRECISION} among pairs with hamming > t1` },
  chosen: {
    t1,
    near: { ...round(chosenNear.all), perTransform: roundPer(chosenNear.perTransform) },
    t2,
    similar: { ...round(chosenSimilar.all), perTransform: roundPer(chosenSimilar.perTransform) },
    combined: { ...round(combined), perTransform: roundPer(combinedPer) },
    bestF1T2: bestF1.t2,
  },
  nearCurve: nearCurve.map((r) => ({ t1: r.t1, ...round(r.all), chancePerPair: +chanceRate(r.t1).toExponential(2), chancePairsIn100k: Math.round(chancePairsPerImage(r.t1) * COLLECTION) })),
  cosineCurve: cosineCurve.map((r) => ({ t2: r.t2, ...round(r.all) })),
  similarCurve: similarCurve.map((r) => ({ t2: r.t2, ...round(r.all) })),
  similarCurveRealImages: realCurve.map((r) => ({ t2: r.t2, ...round(r.all) })),
  report: { groups: duplicates.counts.groups, sameGroup: round(sameGroup), picturesWhole: whole, pictures: familyGroups.size, mixedGroups: mixed },
  negativesPerPair: { nearFpRate: +(chosenNear.all.fp / negatives.length).toExponential(2) },
  seconds: Math.round((performance.now() - started) / 1000),
};
console.log(JSON.stringify({ t1, t2, near: round(chosenNear.all), similar: round(chosenSimilar.all), combined: round(combined), images: items.length, pairs: pairs.length, positives }));
if (out) await writeFile(out, JSON.stringify(report, null, 2) + '\n');
