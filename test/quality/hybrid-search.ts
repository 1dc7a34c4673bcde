// Hybrid search against words alone and a picture alone, on a labelled set made from the fixture
// images (../shared/fixtures/images, labels.csv): each image a canvas, embedded with
// mobilenet-v2-features; half of each query's relevant images tagged as a classification head
// would tag them (a partly enriched collection). Each query is its words, its example picture (a
// relevant image without a tag), or both; recall@10 and MRR over the relevant images other than
// the example. Run: npx tsx --conditions=loupe-source test/quality/hybrid-search.ts
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHybridRig } from '../support/hybrid-search-rig.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/images');
const M = 'https://fixtures.loupe.test/manifest';
const canvasOf = (file: string) => `https://fixtures.loupe.test/canvas/${file}`;

/**
 * Relevance, labelled by hand from labels.csv's category and notes: what a reader typing the word
 * wants to see. The first image of each list is the example picture; the tagged ones are every
 * other image from the second on.
 */
const QUERIES: Record<string, string[]> = {
  ship: ['photo-sailing-ship-california.jpg', 'photo-whaling-ship-alfred-gibbs.jpg', 'postcard-whaler-just-arrived-new-bedford.jpg', 'painting-turner-shipwreck-of-the-minotaur.jpg', 'manuscript-ship-logbook-alfred-gibbs-1851.jpg'],
  coin: ['coin-justinian-follis-obverse.jpg', 'coins-greek-pompeii-group-grayscale.png', 'coin-mithridates-ii-obverse-reverse.jpg', 'coin-parthian-drachm-obverse-reverse.jpg', 'coin-theophilus-solidus-museum-display.jpg'],
  painting: [
    'painting-van-gogh-starry-night.jpg',
    'painting-turner-shipwreck-of-the-minotaur.jpg',
    'painting-munch-the-scream.jpg',
    'painting-bruegel-harvesters.jpg',
    'painting-bruegel-harvesters-lossy.webp',
    'painting-signac-la-calanque.jpg',
    'painting-van-gogh-harvest-grayscale-crop.png',
    'thumb-painting-mona-lisa-21x32.jpg',
  ],
  portrait: ['photo-renoir-by-dornac-grayscale-crop.png', 'photo-bedouin-woman-american-colony-grayscale-crop.png', 'photo-espinasse-fonds-trutat-grayscale-crop.png', 'photo-astronaut-eileen-collins-nasa.png', 'thumb-photo-grace-hopper-128.jpg', 'photo-cameraman-bw.png'],
  map: ['map-nypl-insurance-atlas-detail.png', 'map-chesapeake-ohio-canal-with-highlight-box.png'],
  handwriting: ['manuscript-archival-register-handwritten.jpg', 'form-boer-war-attestation-handwritten.jpg', 'handwriting-notes-on-paper.png', 'manuscript-ship-logbook-alfred-gibbs-1851.jpg'],
  'printed page': [
    'book-page-printed-french-18th-century.jpg',
    'book-page-printed-french-binarized.png',
    'incunable-latin-bible-page-775x1024.jpg',
    'thumb-incunable-latin-bible-97x128.jpg',
    'page-printed-text-modern-low-res.png',
    'newspaper-port-gibson-reveille.png',
    'text-line-crop-newspaper-bitonal.png',
  ],
};

if (!existsSync(path.join(FIXTURES, 'labels.csv'))) {
  console.log(`skipped: the fixture images are not at ${FIXTURES} (../shared is absent)`);
  process.exit(0);
}

const files = readFileSync(path.join(FIXTURES, 'labels.csv'), 'utf8')
  .split('\n')
  .slice(1)
  .map((line) => line.split(',')[0]!)
  .filter((file) => file !== '' && existsSync(path.join(FIXTURES, file)));
const tags = new Map<string, [string, string, number][]>();
for (const [word, relevant] of Object.entries(QUERIES)) {
  relevant.forEach((file, i) => {
    if (i % 2 === 1) tags.set(file, [...(tags.get(file) ?? []), [word, `https://vocab.loupe.test/${encodeURIComponent(word)}`, 0.8]]);
  });
}

const rig = await startHybridRig();
try {
  for (const file of files) await rig.add({ manifestId: M, canvasId: canvasOf(file), image: readFileSync(path.join(FIXTURES, file)), ...(tags.has(file) && { tags: tags.get(file)! }) });

  const modes = {
    'text only': (word: string) => ({ q: word }),
    'image only': (_word: string, example: string) => ({ canvas: { id: canvasOf(example) } }),
    hybrid: (word: string, example: string) => ({ q: word, canvas: { id: canvasOf(example) } }),
  };
  const rows: string[] = [];
  const totals: Record<string, { recall: number; mrr: number }> = {};
  for (const [word, relevant] of Object.entries(QUERIES)) {
    const [example, ...wanted] = relevant as [string, ...string[]];
    const cells: string[] = [];
    for (const [mode, body] of Object.entries(modes)) {
      const { status, body: out } = await rig.search({ ...body(word, example), limit: 10 });
      if (status !== 200) throw new Error(`${mode} ${word}: ${status} ${JSON.stringify(out)}`);
      const found = out.hits.map((h) => h.canvasId).filter((id) => id !== canvasOf(example));
      const ranks = wanted.map((file) => found.indexOf(canvasOf(file))).filter((r) => r >= 0 && r < 10);
      const recall = ranks.length / wanted.length;
      const mrr = ranks.length === 0 ? 0 : 1 / (Math.min(...ranks) + 1);
      totals[mode] = { recall: (totals[mode]?.recall ?? 0) + recall, mrr: (totals[mode]?.mrr ?? 0) + mrr };
      cells.push(`${recall.toFixed(2)} / ${mrr.toFixed(2)}`);
    }
    rows.push(`| ${word} | ${wanted.length} | ${cells.join(' | ')} |`);
  }
  const n = Object.keys(QUERIES).length;
  console.log(`${files.length} canvases, ${tags.size} of them tagged; recall@10 / MRR per query (the example picture left out)\n`);
  console.log(`| query | relevant | ${Object.keys(modes).join(' | ')} |`);
  console.log(`|---|---|${Object.keys(modes).map(() => '---').join('|')}|`);
  for (const row of rows) console.log(row);
  console.log(`| **mean** | | ${Object.keys(modes).map((m) => `**${(totals[m]!.recall / n).toFixed(2)} / ${(totals[m]!.mrr / n).toFixed(2)}**`).join(' | ')} |`);
} finally {
  await rig.close();
}
