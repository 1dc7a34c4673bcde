import t from 'tap';
import { fitHead } from '@loupe/heads';
import { createEngine, createImageEmbedder, openRegistry, type RawImage } from '@loupe/inference';
import { explainClassification } from './classification.explainer.js';

const SIZE = 224;
const MARKED = 'http://example.org/concept/marked';
const PLAIN = 'http://example.org/concept/plain';
const SQUARE = { x: 12, y: 12, side: 48 };

const engine = createEngine({ executionProvider: 'cpu' });
t.teardown(() => engine.close());

/** A small seeded generator, so the pictures are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * A scene of soft greens, blues and greys with a few blocks in them; `marked` adds a red square in
 * the top-left corner, the only thing that tells the two classes apart.
 */
function scene(seed: number, marked: boolean): RawImage {
  const r = seeded(seed);
  const data = new Uint8Array(SIZE * SIZE * 3);
  const a = [40 + r() * 80, 90 + r() * 100, 90 + r() * 120];
  const b = [60 + r() * 60, 80 + r() * 80, 120 + r() * 120];
  const blocks = Array.from({ length: 4 }, () => ({ x: r() * SIZE, y: r() * SIZE, w: 20 + r() * 60, h: 20 + r() * 60, c: [r() * 90, 80 + r() * 120, 80 + r() * 150] }));
  if (marked) blocks.push({ ...SQUARE, w: SQUARE.side, h: SQUARE.side, c: [220, 30, 30] });
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const f = (x + y) / (2 * SIZE);
      const inBlock = blocks.findLast((k) => x >= k.x && x < k.x + k.w && y >= k.y && y < k.y + k.h);
      for (let c = 0; c < 3; c++) data[(y * SIZE + x) * 3 + c] = Math.round(inBlock ? inBlock.c[c]! : a[c]! * (1 - f) + b[c]! * f);
    }
  }
  return { data, width: SIZE, height: SIZE };
}

t.test('a head that learnt a red square in the corner is explained by that corner', async (t) => {
  const registry = openRegistry({ modelsDir: t.testdir() });
  const { card, files } = await registry.resolve('mobilenet-v2-features');
  const embedder = createImageEmbedder(await engine.load(card, files));
  const vectors: Float32Array[] = [];
  const labels: string[][] = [];
  // Each scene both with and without the square: the square is all that tells the classes apart.
  for (let i = 0; i < 32; i++) {
    for (const marked of [true, false]) {
      vectors.push(await embedder.embed(scene(i, marked)));
      labels.push([marked ? MARKED : PLAIN]);
    }
  }
  const { head } = fitHead(
    { vectors, labels, classes: [{ concept: MARKED, label: 'marked' }, { concept: PLAIN, label: 'plain' }] },
    { id: 'red-corner', version: '1', embedding: { model: card.id, version: card.version, dims: vectors[0]!.length }, folds: 0 },
  );

  const map = await explainClassification(scene(1000, true), { embedder, head, concept: MARKED });
  t.ok(map.score > 0.5, `the head says "marked" (${map.score.toFixed(3)})`);
  const { x, y } = map.peak;
  t.ok(x >= SQUARE.x && x <= SQUARE.x + SQUARE.side && y >= SQUARE.y && y <= SQUARE.y + SQUARE.side, `peak (${x}, ${y}) on the red square ${JSON.stringify(SQUARE)}`);
  t.ok(map.peak.value > 0, `hiding it lowers the probability (by ${map.peak.value.toFixed(3)})`);
  t.ok(engine.metrics()[card.id]!.meanBatch > 1, `masked images were embedded in shared runs (mean batch ${engine.metrics()[card.id]!.meanBatch})`);

  t.throws(() => explainClassification(scene(1, true), { embedder, head, concept: 'http://example.org/concept/other' }), { code: 'LOUPE_ERR_NOT_FOUND' });
});
