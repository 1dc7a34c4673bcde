// Detection quality on real heritage photographs (a script, not a test): runs the offline pack's
// object detectors and face detector over the images of ../shared/fixtures/images that
// test/quality/detect-ground-truth.json annotates by hand, and reports AP@0.5 for persons and
// faces (Pascal VOC rules, packages/datasets/src/metrics/box-metrics.ts), precision and recall at each
// card's own threshold, and latency per model on this machine (the embedding models' too).
//
//   pnpm run quality:detect [--out report.json]
//
// Images are fed as the detect service feeds them: fitted inside 1024 x 1024, then the card's
// input spec; boxes are scaled back to the original pixels. AP uses every box down to score 0.05,
// so the whole precision/recall curve counts, not one threshold.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { evaluateDetections, parseGroundTruth, type ApResult, type ScoredDetection } from '@loupe/datasets';
import { createDetector, createEngine, createImageEmbedder, openRegistry, prepareImage, type Detector } from '@loupe/inference';

const here = path.dirname(fileURLToPath(import.meta.url));
const imagesDir = path.resolve(here, '../../../shared/fixtures/images');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? process.argv[outArg + 1] : undefined;
if (!existsSync(imagesDir)) {
  console.error(`detect-quality: no fixture images at ${imagesDir} (../shared is absent); nothing to measure`);
  process.exit(2);
}

const truth = parseGroundTruth(JSON.parse(await readFile(path.join(here, 'detect-ground-truth.json'), 'utf8')));
const registry = openRegistry({ modelsDir: process.env.LOUPE_MODELS_DIR ?? path.join(os.homedir(), '.local', 'share', 'loupe', 'models') });
const engine = createEngine({ executionProvider: 'cpu' });
const FIT = 1024;
const MIN_SCORE = 0.05;

const images = await Promise.all(
  truth.map(async (t) => {
    const bytes = await readFile(path.join(imagesDir, t.file));
    const fitted = await sharp(bytes).resize({ width: FIT, height: FIT, fit: 'inside', withoutEnlargement: true }).png().toBuffer();
    const raw = await prepareImage(fitted);
    return { ...t, raw, scale: t.width / raw.width };
  }),
);

async function run(id: string, cls: (label: string) => string | undefined) {
  const { card, files } = await registry.resolve(id);
  const detector: Detector = createDetector(await engine.load(card, files));
  const threshold = typeof card.output.options?.['minScore'] === 'number' ? (card.output.options['minScore'] as number) : 0.5;
  const dets: Record<string, ScoredDetection[]> = {};
  const ms: number[] = [];
  for (const img of images) {
    await detector.detect(img.raw, { minScore: MIN_SCORE }); // warm the shapes of this image size
    const t0 = performance.now();
    const found = await detector.detect(img.raw, { minScore: MIN_SCORE });
    ms.push(performance.now() - t0);
    dets[img.file] = found.flatMap((d) => {
      const c = cls(d.label);
      const b = d.box;
      return c ? [{ class: c, score: d.score, box: { x: b.x * img.scale, y: b.y * img.scale, w: b.w * img.scale, h: b.h * img.scale } }] : [];
    });
  }
  ms.sort((a, b) => a - b);
  return { id, version: card.version, threshold, dets, p50: ms[Math.floor(ms.length / 2)]!, max: ms.at(-1)! };
}

/** Precision and recall counting only boxes at or above the card's own threshold. */
function atThreshold(r: ApResult, threshold: number) {
  let i = -1;
  r.scores.forEach((s, k) => {
    if (s >= threshold) i = k;
  });
  return i < 0 ? { precision: null, recall: 0 } : { precision: r.precision[i]!, recall: r.recall[i]! };
}

const gt = Object.fromEntries(images.map((i) => [i.file, i.objects]));
const report: Record<string, unknown> = { images: images.length, minScore: MIN_SCORE, fit: FIT, cpu: os.cpus()[0]?.model, cores: os.cpus().length, models: {} };
const rows: string[] = [];
for (const [id, className, cls] of [
  ['centernet-coco', 'person', (l: string) => (l === 'person' ? 'person' : undefined)],
  ['nanodet-coco', 'person', (l: string) => (l === 'person' ? 'person' : undefined)],
  ['blazeface-back', 'face', (l: string) => (l === 'face' ? 'face' : undefined)],
] as const) {
  const r = await run(id, cls);
  const evaluation = evaluateDetections(gt, r.dets, { classes: [className], iouThreshold: 0.5 });
  const c = evaluation.byClass[className]!;
  // The same boxes at a looser overlap: how much of the gap is where box edges are drawn, not what is found.
  const loose = evaluateDetections(gt, r.dets, { classes: [className], iouThreshold: 0.3 }).byClass[className]!;
  const at = atThreshold(c, r.threshold);
  (report.models as Record<string, unknown>)[id] = {
    version: r.version,
    class: className,
    ap50: c.ap,
    ap30: loose.ap,
    positives: c.positives,
    atCardThreshold: { threshold: r.threshold, ...at },
    latencyMs: { p50: Math.round(r.p50 * 10) / 10, max: Math.round(r.max * 10) / 10 },
  };
  rows.push(
    `${id.padEnd(16)} ${className.padEnd(7)} AP@0.5 ${c.ap === null ? ' n/a ' : c.ap.toFixed(3)} (AP@0.3 ${loose.ap?.toFixed(3) ?? 'n/a'})  (${c.positives} ${className}s)  at ${r.threshold}: precision ${at.precision === null ? 'n/a' : at.precision.toFixed(2)} recall ${at.recall.toFixed(2)}  ${r.p50.toFixed(1)} ms p50`,
  );
}
// The embedding models' latency on the same images (vector only; quality is measured by search and duplicates).
for (const id of ['mobilenet-v2-features', 'faceres-embedding']) {
  const { card, files } = await registry.resolve(id);
  const embedder = createImageEmbedder(await engine.load(card, files));
  const ms: number[] = [];
  for (const img of images) {
    await embedder.embed(img.raw);
    const t0 = performance.now();
    await embedder.embed(img.raw);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const p50 = ms[Math.floor(ms.length / 2)]!;
  (report.models as Record<string, unknown>)[id] = { version: card.version, dims: embedder.dims, latencyMs: { p50: Math.round(p50 * 10) / 10, max: Math.round(ms.at(-1)! * 10) / 10 } };
  rows.push(`${id.padEnd(16)} ${String(embedder.dims).padStart(4)}-d embedding  ${p50.toFixed(1)} ms p50 (resize included)`);
}
await engine.close();
console.log(rows.join('\n'));
console.log(JSON.stringify(report));
if (out) await writeFile(out, JSON.stringify(report, null, 2) + '\n');
