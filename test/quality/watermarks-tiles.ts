// Would a head over TILES find the marks? (a script, not a test; docs/watermarks.md "Why it is
// near chance"). The synthetic set of `loupe datasets watermarks` (fixture pictures minus the
// held-out ones), every view fitted to FIT px and cut into tiles (tileVectors, as the classify
// service cuts them), tiles labelled from the marks' masks (tileLabel, as `loupe train --tiles`
// labels them). 5 folds grouped by picture: a head fitted on the other folds' tiles scores each
// view as its most positive tile. Printed: image-level AUC, the best precision any threshold
// reaches, and AUC by placement and by opacity band (that placement's marked views against every
// clean view).
//
//   node --import tsx --conditions=loupe-source test/quality/watermarks-tiles.ts [--views 3] [--fit 672]
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { tileLabel, tileVectors } from '@loupe/cli';
import { groupedKFold, NO_WATERMARK_CONCEPT, planWatermarkSet, WATERMARK_CONCEPT } from '@loupe/datasets';
import { fitHead, predict } from '@loupe/heads';
import { openProcessModels } from '@loupe/inference';
import { runLoupe } from '../support/loupe-process.js';
import { HELD_OUT_BASES } from './watermarks-by-hand.js';

const arg = (name: string, fallback: number): number => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const VIEWS = arg('--views', 3);
const FIT = arg('--fit', 672);
const SEED = 'loupe-watermarks';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const imagesDir = path.resolve(repoRoot, '../shared/fixtures/images');
if (!existsSync(imagesDir)) {
  console.log(`watermarks-tiles: no ${imagesDir}; nothing to measure`);
  process.exit(0);
}

const work = await mkdtemp(path.join(os.tmpdir(), 'loupe-watermark-tiles-'));
const models = openProcessModels({ modelsDir: path.join(work, 'models'), executionProvider: 'cpu' });
try {
  const bases = path.join(work, 'pictures');
  await mkdir(bases);
  for (const file of await readdir(imagesDir)) if (file !== 'labels.csv' && !(HELD_OUT_BASES as readonly string[]).includes(file)) await symlink(path.join(imagesDir, file), path.join(bases, file));
  const set = path.join(work, 'set');
  const made = await runLoupe(['datasets', 'watermarks', '--from', bases, '--out', set, '--views', String(VIEWS), '--seed', SEED], { env: { LOUPE_DATA_DIR: path.join(work, 'data') } });
  if (made.code !== 0) throw new Error(made.stderr);
  const rows = (await readFile(path.join(set, 'labels.csv'), 'utf8')).trim().split(/\r?\n/u).slice(1).map((l) => l.split(','));
  const plan = new Map(planWatermarkSet([...new Set(rows.map((r) => r[3]!))], { seed: SEED, views: VIEWS }).map((p) => [p.file, p]));

  const spec = { fit: FIT, size: 224, overlap: 0.25, corners: 0.5, positive: WATERMARK_CONCEPT };
  const embedder = await models.imageEmbedder('mobilenet-v2-features');
  const views: { file: string; group: string; marked: boolean; vectors: Float32Array[]; labels: ('positive' | 'negative' | 'skip')[] }[] = [];
  const started = performance.now();
  for (const [file, , , group, mask] of rows) {
    const { data, info } = await sharp(path.join(set, file!)).resize({ width: FIT, height: FIT, fit: 'inside' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const { rects, vectors } = await tileVectors({ data, width: info.width, height: info.height }, spec, embedder);
    let labels = rects.map(() => 'negative' as const as 'positive' | 'negative' | 'skip');
    if (mask) {
      const grey = await sharp(path.join(set, mask)).resize(info.width, info.height, { fit: 'fill' }).greyscale().raw().toBuffer();
      const ink = Float32Array.from(grey, (v) => v / 255);
      const total = ink.reduce((s, v) => s + v, 0);
      labels = rects.map((r) => tileLabel(ink, info.width, r, total));
    }
    views.push({ file: file!, group: group!, marked: !!mask, vectors, labels });
  }
  console.log(`${views.length} views, ${views.reduce((s, v) => s + v.vectors.length, 0)} tiles, embedded in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const folds = groupedKFold(views.map((v) => ({ id: v.file, labels: [v.marked ? WATERMARK_CONCEPT : NO_WATERMARK_CONCEPT] })), (item) => views.find((v) => v.file === item.id)!.group, { seed: SEED, k: 5 });
  const score = new Map<string, number>();
  for (let k = 0; k < 5; k++) {
    const train = views.filter((v) => folds.get(v.file) !== k);
    const vectors: Float32Array[] = [];
    const labels: string[][] = [];
    const groups: string[] = [];
    for (const v of train) v.vectors.forEach((x, i) => v.labels[i] !== 'skip' && (vectors.push(x), labels.push([v.labels[i] === 'positive' ? WATERMARK_CONCEPT : NO_WATERMARK_CONCEPT]), groups.push(v.group)));
    const classes = [{ concept: NO_WATERMARK_CONCEPT }, { concept: WATERMARK_CONCEPT }];
    const { head } = fitHead({ vectors, labels, groups, classes }, { id: 'tiles', version: '1', embedding: { model: 'mobilenet-v2-features', version: embedder.model.version, dims: vectors[0]!.length }, folds: 0, seed: SEED });
    for (const v of views.filter((v) => folds.get(v.file) === k)) score.set(v.file, Math.max(...v.vectors.map((x) => predict(head, x)[1]!)));
  }

  const clean = views.filter((v) => !v.marked).map((v) => score.get(v.file)!);
  const auc = (marked: number[]): number => marked.reduce((s, p) => s + clean.reduce((c, n) => c + (p > n ? 1 : p === n ? 0.5 : 0), 0), 0) / (marked.length * clean.length);
  const marked = views.filter((v) => v.marked);
  console.log(`image level (most positive tile, out of fold): AUC ${auc(marked.map((v) => score.get(v.file)!)).toFixed(3)}`);
  let best = { p: 0, r: 0, t: 1 };
  for (const t of [...score.values()]) {
    const tp = marked.filter((v) => score.get(v.file)! >= t).length;
    const fp = clean.filter((s) => s >= t).length;
    const p = tp / (tp + fp);
    if (p > best.p || (p === best.p && tp / marked.length > best.r)) best = { p, r: tp / marked.length, t };
  }
  console.log(`highest precision any threshold reaches: ${best.p.toFixed(3)} at recall ${best.r.toFixed(3)} (threshold ${best.t.toFixed(3)})`);
  const band = (o: number): string => (o < 0.3 ? 'opacity 0.15-0.3' : o < 0.45 ? 'opacity 0.3-0.45' : 'opacity 0.45-0.6');
  const place = (p: string): string => (p.includes('-') ? 'corner' : p);
  const by = new Map<string, number[]>();
  for (const v of marked) {
    const mark = plan.get(v.file)!.mark!;
    for (const key of [place(mark.placement), band(mark.opacity)]) by.set(key, [...(by.get(key) ?? []), score.get(v.file)!]);
  }
  for (const [key, scores] of [...by].sort()) console.log(`  ${key.padEnd(18)} AUC ${auc(scores).toFixed(3)} (${scores.length} marked views against ${clean.length} clean)`);
} finally {
  await models.close();
  await rm(work, { recursive: true, force: true });
}
