// What the offline image features manage on real heritage categories (a script, not a test):
// every image of ../shared/fixtures/images whose labels.csv category maps to one of the classes
// below is embedded with the offline pack's MobileNetV2 features, and a classification head
// (@loupe/heads' fitHead: multinomial logistic regression) is cross-validated on the vectors with
// stratified k-fold, k = min(5, smallest class). A leave-one-out nearest-centroid classifier on
// the same vectors is printed beside it as a baseline with nothing to tune.
//
//   node --import tsx --conditions=loupe-source test/quality/classify-fixtures.ts [--with-other]
//
// --with-other keeps the images mapped to 'other' (a micrograph, a sculpture, a stained-glass
// window) as a class of their own; by default they are left out, since three unrelated pictures
// are not a concept a head can learn.
//
// Images are fed as the embed stage feeds a canvas: the request a IIIF server answers for the
// card's fetch size (fitted inside 1.5 x the model input, never enlarged, upright RGB), then the
// card's own input spec. The set is small (a handful of images per class), so the numbers are
// indicative, not a benchmark of the features.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { csvRecords, formatClassification } from '@loupe/datasets';
import { createEngine, createImageEmbedder, openRegistry, prepareImage } from '@loupe/inference';
import { fitHead } from '@loupe/heads';

const MODEL = 'mobilenet-v2-features';
const MIN_PER_CLASS = 3;
const MAX_FOLDS = 5;

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const imagesDir = path.resolve(repoRoot, '../shared/fixtures/images');
const labelsFile = path.join(imagesDir, 'labels.csv');
const withOther = process.argv.includes('--with-other');

if (!existsSync(labelsFile)) {
  console.log(`classify-fixtures: no ${labelsFile} (../shared/fixtures is not beside this checkout); nothing to measure`);
  process.exit(0);
}

type HeritageClass = 'painting' | 'photograph' | 'manuscript' | 'coin' | 'map' | 'print' | 'printed text' | 'other';

/**
 * labels.csv's fine-grained categories, each to the heritage categories plus 'print'
 * (engravings and etchings) and 'printed text' (printed pages). The judgement calls: a
 * photographic postcard is a photograph; a printed form filled in by hand is a manuscript (its
 * content is the handwriting); a one-line crop of a newspaper is printed text; a hand-coloured
 * engraved plate is a print.
 */
const CATEGORY_CLASS: Readonly<Record<string, HeritageClass>> = {
  'archival form (printed form filled in by hand)': 'manuscript',
  'black-and-white photograph': 'photograph',
  'botanical illustration (hand-coloured engraved plate)': 'print',
  'coin in museum display case (with printed label)': 'coin',
  'coin obverse and reverse (side by side)': 'coin',
  'coin obverse': 'coin',
  'coins (group of coins, obverse views)': 'coin',
  'early printed book page (incunable: two-column Latin Bible, rubrication, illuminated initial)': 'printed text',
  'early printed book page, low-resolution thumbnail': 'printed text',
  'etching / engraving (architectural print)': 'print',
  'handwritten archival page (grayscale scan)': 'manuscript',
  'handwritten manuscript page (ship logbook)': 'manuscript',
  'handwritten text (photographed notes)': 'manuscript',
  'historical photograph of a sailing ship (damaged print)': 'photograph',
  'historical photograph of a sailing ship': 'photograph',
  'historical portrait photograph (seated sitter in studio)': 'photograph',
  'historical portrait photograph': 'photograph',
  'historical street photograph': 'photograph',
  'map (park brochure map) with drawn highlight rectangle': 'map',
  'map detail (fire-insurance atlas)': 'map',
  'modern portrait photograph': 'photograph',
  'newspaper page': 'printed text',
  'painting (WebP encoding)': 'painting',
  'painting (grayscale crop)': 'painting',
  'painting (pointillist seascape)': 'painting',
  painting: 'painting',
  'painting, tiny thumbnail': 'painting',
  'portrait photograph, low-resolution thumbnail': 'photograph',
  'postcard (photographic, with printed caption)': 'photograph',
  'printed book page (bitonal)': 'printed text',
  'printed book page': 'printed text',
  'printed text page (modern, uneven lighting)': 'printed text',
  'scientific micrograph (specimen)': 'other',
  'sculpture (Egyptian faience figurine), tiny thumbnail crop': 'other',
  'stained-glass window (decorative art)': 'other',
  'text line crop (bitonal)': 'printed text',
  'wood-engraved book illustration': 'print',
};

/**
 * Files that are another file's picture in a second rendition: with both in the set, a fold could
 * test on a picture it trained on and flatter the features.
 */
const RENDITIONS: Readonly<Record<string, string>> = {
  'painting-bruegel-harvesters-lossy.webp': 'painting-bruegel-harvesters.jpg (the same painting as lossy WebP)',
  'thumb-incunable-latin-bible-97x128.jpg': 'incunable-latin-bible-page-775x1024.jpg (its thumbnail)',
  'book-page-printed-french-binarized.png': 'book-page-printed-french-18th-century.jpg (the same page binarised)',
};

const started = performance.now();
const { records } = csvRecords(await readFile(labelsFile, 'utf8'), { required: ['file', 'category'], source: labelsFile });

console.log(`labels.csv: ${records.length} images, categories as mapped:`);
const byCategory = new Map<string, string[]>();
for (const r of records) byCategory.set(r['category']!, [...(byCategory.get(r['category']!) ?? []), r['file']!]);
for (const [category, files] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
  const mapped = CATEGORY_CLASS[category];
  console.log(`  ${String(files.length).padStart(2)}  ${category}  ->  ${mapped ?? 'other (not in the table)'}`);
}

const chosen: { file: string; cls: HeritageClass }[] = [];
for (const r of records) {
  const file = r['file']!;
  if (RENDITIONS[file] !== undefined) {
    console.log(`left out ${file}: a rendition of ${RENDITIONS[file]}`);
    continue;
  }
  chosen.push({ file, cls: CATEGORY_CLASS[r['category']!] ?? 'other' });
}
const countOf = (cls: string) => chosen.filter((c) => c.cls === cls).length;
const classes = [...new Set(chosen.map((c) => c.cls))].sort().filter((cls) => {
  if (cls === 'other' && !withOther) {
    console.log(`left out class other (${countOf(cls)} images): unrelated pictures, not a concept (--with-other keeps them)`);
    return false;
  }
  if (countOf(cls) < MIN_PER_CLASS) {
    console.log(`left out class ${cls}: ${countOf(cls)} image(s), fewer than ${MIN_PER_CLASS}`);
    return false;
  }
  return true;
});
const items = chosen.filter((c) => classes.includes(c.cls));

const registry = openRegistry({ modelsDir: process.env['LOUPE_MODELS_DIR'] ?? path.join(os.homedir(), '.local', 'share', 'loupe', 'models') });
const engine = createEngine({ executionProvider: 'cpu' });
const { card, files } = await registry.resolve(MODEL);
const embedder = createImageEmbedder(await engine.load(card, files));
// The embed service's fetch size for a card (services/embed/src/embed.service.ts, fetchSize).
const fit = { width: Math.max(64, Math.ceil((card.input.width ?? 224) * 1.5)), height: Math.max(64, Math.ceil((card.input.height ?? 224) * 1.5)) };

const embedStarted = performance.now();
const vectors: Float32Array[] = [];
for (const item of items) {
  const bytes = await readFile(path.join(imagesDir, item.file));
  const fetched = await sharp(bytes).rotate().resize({ ...fit, fit: 'inside', withoutEnlargement: true }).png().toBuffer();
  vectors.push(await embedder.embed(await prepareImage(fetched)));
}
const embedSeconds = (performance.now() - embedStarted) / 1000;
await engine.close();
const dims = vectors[0]!.length;

console.log(`\n${MODEL} ${card.version} (${dims} dims), ${items.length} images in ${classes.length} classes:`);
for (const cls of classes) console.log(`  ${cls.padEnd(13)} ${countOf(cls)}`);

// --- The head, cross-validated.
const folds = Math.min(MAX_FOLDS, ...classes.map(countOf));
const fitStarted = performance.now();
const { report } = fitHead(
  // Ids are the file names, so that each image keeps its fold whatever the order of labels.csv.
  { vectors, labels: items.map((it) => [it.cls]), ids: items.map((it) => it.file) },
  { id: 'heritage-categories', version: 'fixtures', embedding: { model: card.id, version: card.version, dims }, folds },
);
const fitSeconds = (performance.now() - fitStarted) / 1000;
const hp = report.hyperParameters;
console.log(`\nfitHead (${report.kind}), stratified ${report.folds}-fold cross-validation, ${report.examples} examples, decision ${report.decision}`);
console.log(`  l2 ${hp.l2}, ${hp.epochs} epochs, batch ${hp.batchSize}, learning rate ${hp.learningRate}, class weights ${hp.classWeights}, seed ${hp.seed}`);
console.log(formatClassification(report));
const cal = report.calibration;
console.log(
  `Calibration on ${cal.examples} held-out examples: temperature ${cal.temperature.toFixed(3)}, NLL ${cal.nllBefore.toFixed(3)} -> ${cal.nllAfter.toFixed(3)}, ` +
    `ECE ${cal.eceBefore.toFixed(3)} -> ${cal.eceAfter.toFixed(3)}`,
);

// --- Baseline: leave-one-out nearest centroid (cosine to each class's mean vector).
const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const sums = new Map(classes.map((cls) => [cls, new Float64Array(dims)]));
items.forEach((it, i) => {
  const sum = sums.get(it.cls)!;
  for (let d = 0; d < dims; d++) sum[d]! += vectors[i]![d]!;
});
let correct = 0;
const misses: string[] = [];
items.forEach((it, i) => {
  let best: { cls: string; score: number } | undefined;
  for (const cls of classes) {
    const n = countOf(cls) - (cls === it.cls ? 1 : 0);
    const centroid = new Float32Array(dims);
    const sum = sums.get(cls)!;
    for (let d = 0; d < dims; d++) centroid[d] = (sum[d]! - (cls === it.cls ? vectors[i]![d]! : 0)) / n;
    const score = dot(centroid, vectors[i]!) / Math.sqrt(dot(centroid, centroid));
    if (best === undefined || score > best.score) best = { cls, score };
  }
  if (best!.cls === it.cls) correct++;
  else misses.push(`${it.file} (${it.cls}) -> ${best!.cls}`);
});
console.log(`Leave-one-out nearest centroid: accuracy ${(correct / items.length).toFixed(3)} (${correct}/${items.length})`);
for (const miss of misses) console.log(`  missed ${miss}`);

console.log(
  `\nwall time: ${((performance.now() - started) / 1000).toFixed(1)} s (embedding ${embedSeconds.toFixed(1)} s, ${((embedSeconds * 1000) / items.length).toFixed(0)} ms/image; ` +
    `fitHead ${fitSeconds.toFixed(2)} s: cross-validation ${report.seconds.crossValidation} s, calibration ${report.seconds.calibration} s, final head ${report.seconds.final} s)`,
);
