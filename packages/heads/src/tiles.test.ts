import t from 'tap';
import { parseHead, serializeHead } from './artefact.js';
import { blobs } from './blobs.test-support.js';
import { fitHead } from './fit.js';
import { checkTileSpec, mostPositiveTile, tileRects, type TileSpec } from './tiles.js';

const spec: TileSpec = { fit: 672, size: 224, overlap: 0.25, corners: 0.5, positive: 'http://ex.org/mark' };

t.test('tiles cover the picture edge to edge, overlapping, with four small corners', async (t) => {
  const rects = tileRects(672, 448, spec);
  const grid = rects.slice(0, -4);
  t.same([...new Set(grid.map((r) => r.x))], [0, 149, 299, 448], 'four columns, steps no longer than 3/4 of a tile');
  t.same([...new Set(grid.map((r) => r.y))], [0, 112, 224], 'three rows');
  t.same(rects.slice(-4), [
    { x: 0, y: 0, w: 112, h: 112 },
    { x: 560, y: 0, w: 112, h: 112 },
    { x: 0, y: 336, w: 112, h: 112 },
    { x: 560, y: 336, w: 112, h: 112 },
  ]);
  t.same(tileRects(300, 150, { ...spec, corners: 0 }), [
    { x: 0, y: 0, w: 224, h: 150 },
    { x: 76, y: 0, w: 224, h: 150 },
  ], 'a picture shorter than a tile: tiles as tall as it');
  t.throws(() => checkTileSpec({ ...spec, size: 1000 }), { code: 'LOUPE_ERR_VALIDATION' }, 'a tile larger than the fit is refused');
  t.equal(mostPositiveTile([Float32Array.of(0.9, 0.1), Float32Array.of(0.2, 0.8), Float32Array.of(0.6, 0.4)], 0), 0);
  t.equal(mostPositiveTile([Float32Array.of(0.9, 0.1), Float32Array.of(0.2, 0.8), Float32Array.of(0.6, 0.4)], 1), 1);
});

t.test('a head says in its artefact that it reads tiles, and names a class of its own as positive', async (t) => {
  const b = blobs({ d: 4, sizes: [10, 10], noise: 0.3, seed: 'tiles' });
  const concepts = ['http://ex.org/clean', 'http://ex.org/mark'];
  const { head } = fitHead(
    { vectors: Array.from({ length: 20 }, (_, i) => b.x.slice(i * 4, (i + 1) * 4)), labels: Array.from(b.y, (c) => [concepts[c]!]) },
    { id: 'marks', version: '1', embedding: { model: 'toy', version: '1', dims: 4 }, folds: 0 },
  );
  const text = serializeHead({ ...head, input: { tiles: spec } });
  t.same(parseHead(text, 'memory').input, { tiles: spec }, 'read back as written');
  t.same(JSON.parse(text).card.input, { tiles: spec }, 'and shown on its card');
  const other = text.replaceAll('"positive": "http://ex.org/mark"', '"positive": "http://ex.org/elsewhere"');
  t.throws(() => parseHead(other, 'memory'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID' }, 'a positive concept the head lacks is refused');
  t.throws(() => parseHead(text.replaceAll('"overlap": 0.25', '"overlap": 0.9'), 'memory'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID' });
});
