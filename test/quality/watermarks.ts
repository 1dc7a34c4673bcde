// How well the watermark head finds watermarks (a script, not a test), and the one command that
// makes the head Loupe ships:
//
//   pnpm run quality:watermarks            # measure
//   pnpm run quality:watermarks -- --ship  # measure, then write packages/heads/pack/watermark/1.json
//   pnpm run quality:watermarks -- --tiles 672  # a head over tiles (loupe train --tiles), same measures
//
// 1. Synthetic set: `loupe datasets watermarks` over the fixture pictures (../shared/fixtures/images)
//    minus the held-out ones, VIEWS views each, clean and marked; `loupe train --images` fits the
//    head over the offline MobileNetV2 features with k-fold cross-validation grouped by picture
//    (a clean view and its marked twin are always in the same fold). Its report is printed.
// 2. Held out: marks made by hand (watermarks-by-hand.ts: other fonts, places and kinds of mark)
//    on pictures the set never used, plus the same pictures clean, classified by that head through
//    the classify service (POST /v1/classify, as a user would): precision and recall of
//    'watermark'.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmbedded, loadConfig, tileVectors, watermarkedView } from '@loupe/cli';
import { tileRects } from '@loupe/heads';
import { openProcessModels } from '@loupe/inference';
import sharp from 'sharp';
import { WATERMARK_CONCEPT, type WatermarkSpec } from '@loupe/datasets';
import { startIiifImageServer } from '@loupe/testing';
import { runLoupe } from '../support/loupe-process.js';
import { HAND_MADE, HELD_OUT_BASES } from './watermarks-by-hand.js';

const VIEWS = 6;
const SEED = 'loupe-watermarks';
const FOLDS = 5;
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const imagesDir = path.resolve(repoRoot, '../shared/fixtures/images');
const packFile = path.join(repoRoot, 'packages/heads/pack/watermark/1.json');
const ship = process.argv.includes('--ship');
const tilesAt = process.argv.indexOf('--tiles');
const tiles = tilesAt > 0 ? process.argv[tilesAt + 1] : undefined;
/** About this many marked views, spread over the pictures, have their feature shift printed (the diagnosis: how far a mark moves what the head reads). */
const SHIFT_PAIRS = 24;

if (!existsSync(imagesDir)) {
  console.log(`watermarks: no ${imagesDir} (../shared/fixtures is not beside this checkout); nothing to measure`);
  process.exit(0);
}

const work = await mkdtemp(path.join(os.tmpdir(), 'loupe-watermarks-'));
try {
  const env = { LOUPE_DATA_DIR: path.join(work, 'data'), LOUPE_LOG_LEVEL: 'warn' };
  const loupe = async (args: string[]): Promise<string> => {
    const ran = await runLoupe(args, { env, cwd: work });
    if (ran.code !== 0) throw new Error(`loupe ${args.join(' ')}: exit ${ran.code}\n${ran.stderr}\n${ran.stdout}`);
    return `${ran.stderr}${ran.stdout}`;
  };

  // 1. The synthetic set and the head, through the CLI.
  const bases = path.join(work, 'pictures');
  await mkdir(bases);
  for (const file of await readdir(imagesDir)) {
    if (file === 'labels.csv' || (HELD_OUT_BASES as readonly string[]).includes(file)) continue;
    await symlink(path.join(imagesDir, file), path.join(bases, file));
  }
  // The folder's name is the dataset named in the head's card.
  const set = path.join(work, 'watermarks-synthetic-fixtures');
  console.log(await loupe(['datasets', 'watermarks', '--from', bases, '--out', set, '--views', String(VIEWS), '--seed', SEED]));
  await printShifts(set);
  console.log(await loupe(['train', '--images', set, '--head', 'watermark', '--embedding', 'mobilenet-v2-features', '--folds', String(FOLDS), '--seed', SEED, ...(tiles ? ['--tiles', tiles] : [])]));

  // 2. The held-out pictures, marked by hand and clean, classified through the API.
  const server = await startIiifImageServer();
  const embedded = await createEmbedded({ ...loadConfig({ ...env, LOUPE_FETCH_ALLOW: '127.0.0.1' }), services: ['classify', 'embed'] });
  try {
    await embedded.app.start();
    const cases: { name: string; marked: boolean; image: Buffer }[] = [];
    const whole = { left: 0, top: 0, width: 1, height: 1 };
    for (const mark of HAND_MADE) {
      const source = path.join(imagesDir, mark.base);
      cases.push({ name: `${mark.base} + ${mark.name}`, marked: true, image: await watermarkedView(source, whole, mark.svg) });
      cases.push({ name: `${mark.base} (clean)`, marked: false, image: await watermarkedView(source, whole, undefined) });
    }
    let tp = 0;
    let fp = 0;
    let fn = 0;
    console.log('held out (marks made by hand on pictures the set never used):');
    for (const [i, c] of cases.entries()) {
      const serviceId = await server.addImage(`held-${i}`, c.image, { version: 3, level: 2 });
      const res = await embedded.app.inject({
        method: 'POST',
        url: '/v1/classify',
        payload: { head: 'watermark', image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } } },
      });
      if (res.statusCode !== 200) throw new Error(`POST /v1/classify: ${res.statusCode} ${res.body}`);
      const top = (res.json() as { predictions: { concept: string; probability: number }[] }).predictions[0]!;
      const flagged = top.concept === WATERMARK_CONCEPT;
      const pWatermark = flagged ? top.probability : 1 - top.probability;
      if (flagged && c.marked) tp += 1;
      else if (flagged) fp += 1;
      else if (c.marked) fn += 1;
      console.log(`  ${flagged === c.marked ? 'right' : 'WRONG'}  p(watermark) ${pWatermark.toFixed(3)}  ${c.name}`);
    }
    const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
    const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
    console.log(`held out: ${cases.length} images (${HAND_MADE.length} marked by hand, ${HAND_MADE.length} clean): precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (tp ${tp}, fp ${fp}, fn ${fn})`);
  } finally {
    await embedded.close();
    await server.close();
  }

  if (ship) {
    await mkdir(path.dirname(packFile), { recursive: true });
    await cp(path.join(work, 'data/models/heads/watermark/1.json'), packFile);
    console.log(`shipped: ${packFile} (${(await readFile(packFile)).length} bytes)`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

/**
 * For SHIFT_PAIRS marked views spread over the set: the cosine distance between the marked view's features
 * and its clean twin's, for the whole picture and for the tile holding most of the mark's ink,
 * by placement; and, for scale, the distance between tiles of different pictures.
 */
async function printShifts(set: string): Promise<void> {
  const spec = { fit: Number(tiles ?? 672), size: 224, overlap: 0.25, corners: 0.5, positive: WATERMARK_CONCEPT };
  const models = openProcessModels({ modelsDir: path.join(work, 'data/models'), executionProvider: 'cpu' });
  try {
    const embedder = await models.imageEmbedder('mobilenet-v2-features');
    const fitted = async (file: string) => {
      const { data, info } = await sharp(path.join(set, file)).resize({ width: spec.fit, height: spec.fit, fit: 'inside' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height };
    };
    const cosine = (a: Float32Array, b: Float32Array): number => 1 - a.reduce((s, v, i) => s + v * b[i]!, 0);
    const shifts = new Map<string, { whole: number[]; tile: number[] }>();
    const between: { picture: string; vector: Float32Array }[] = [];
    const placements = await placementsOf(set);
    const marked = (await readdir(set)).filter((f) => f.endsWith('.marked.jpg')).sort().filter((_, i, all) => i % Math.ceil(all.length / SHIFT_PAIRS) === 0);
    for (const file of marked) {
      const [m, c] = [await fitted(file), await fitted(file.replace('.marked.', '.clean.'))];
      const mask = await sharp(path.join(set, file.replace(/\.jpg$/u, '.mask.png'))).resize(m.width, m.height, { fit: 'fill' }).greyscale().raw().toBuffer();
      const inkiest = tileRects(m.width, m.height, spec).map((r, i) => {
        let ink = 0;
        for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) ink += mask[y * m.width + x]!;
        return { i, ink };
      }).sort((a, b) => b.ink - a.ink)[0]!.i;
      const [tm, tc] = [await tileVectors(m, spec, embedder), await tileVectors(c, spec, embedder)];
      const placement = placements.get(file) ?? 'unknown';
      const row = shifts.get(placement) ?? { whole: [], tile: [] };
      row.whole.push(cosine(await embedder.embed(m), await embedder.embed(c)));
      row.tile.push(cosine(tm.vectors[inkiest]!, tc.vectors[inkiest]!));
      shifts.set(placement, row);
      between.push({ picture: file.replace(/\.v\d+\.marked\.jpg$/u, ''), vector: tc.vectors[0]! });
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    console.log(`feature shift under a mark (cosine distance to the clean twin, median, ${marked.length} views, ${spec.fit} px tiles of 224):`);
    for (const [placement, row] of [...shifts].sort()) console.log(`  ${placement.padEnd(12)} n ${String(row.whole.length).padStart(2)}  whole picture ${median(row.whole).toFixed(4)}  inkiest tile ${median(row.tile).toFixed(4)}`);
    const pairs = between.flatMap((a, i) => between.slice(i + 1).filter((b) => b.picture !== a.picture).map((b) => cosine(a.vector, b.vector)));
    console.log(`  for scale: top-left tiles of two different pictures ${median(pairs).toFixed(4)}`);
  } finally {
    await models.close();
  }
}

/** Each marked view's placement (corners as one), from the marks the set says it drew (marks.json). */
async function placementsOf(set: string): Promise<Map<string, string>> {
  const drawn = JSON.parse(await readFile(path.join(set, 'marks.json'), 'utf8')) as Record<string, WatermarkSpec>;
  return new Map(Object.entries(drawn).map(([file, mark]) => [file, mark.placement.includes('-') ? 'corner' : mark.placement]));
}
