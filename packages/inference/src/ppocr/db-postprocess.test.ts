import t from 'tap';
import { componentHulls, convexHull, dbBoxes, minAreaRect, rectCorners, unclip } from './db-postprocess.js';

/** A probability map with `value` inside each given predicate. */
function map(width: number, height: number, regions: { inside: (x: number, y: number) => boolean; value: number }[]): Float32Array {
  const prob = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (const r of regions) if (r.inside(x, y)) prob[y * width + x] = r.value;
    }
  }
  return prob;
}
const rectRegion = (x0: number, y0: number, x1: number, y1: number, value = 0.9) => ({
  inside: (x: number, y: number) => x >= x0 && x <= x1 && y >= y0 && y <= y1,
  value,
});

t.test('convexHull drops interior and collinear points', async (t) => {
  const hull = convexHull([[0, 0], [2, 0], [4, 0], [4, 3], [2, 1], [0, 3]]);
  t.same(new Set(hull.map((p) => p.join())), new Set(['0,0', '4,0', '4,3', '0,3']));
});

t.test('minAreaRect finds a tilted rectangle and orients it along the text', async (t) => {
  // A 10 x 2 rectangle turned 30 degrees.
  const a = (30 * Math.PI) / 180;
  const pts: [number, number][] = [[-5, -1], [5, -1], [5, 1], [-5, 1]].map(([u, v]) => [
    u! * Math.cos(a) - v! * Math.sin(a) + 20,
    u! * Math.sin(a) + v! * Math.cos(a) + 10,
  ]);
  const r = minAreaRect(convexHull(pts))!;
  t.ok(Math.abs(r.width - 10) < 1e-9 && Math.abs(r.height - 2) < 1e-9, `10 x 2, got ${r.width} x ${r.height}`);
  t.ok(Math.abs(r.cx - 20) < 1e-9 && Math.abs(r.cy - 10) < 1e-9, 'centred');
  t.ok(Math.abs(Math.atan2(r.uy, r.ux) - a) < 1e-9, 'u runs along the long side, pointing right');
  const [tl, tr, br, bl] = rectCorners(r);
  t.ok(tl[0] < tr[0] && bl[0] < br[0] && tl[1] < bl[1], 'corners in reading order');
});

t.test('componentHulls separates 8-connected regions', async (t) => {
  const prob = map(20, 10, [rectRegion(1, 1, 5, 3), rectRegion(6, 4, 8, 6), rectRegion(12, 1, 18, 8)]);
  const hulls = componentHulls(prob, 20, 10, 0.3);
  t.equal(hulls.length, 2, 'the diagonal neighbours join; the far block stays apart');
});

t.test('dbBoxes grows each confident region by area x ratio / perimeter', async (t) => {
  // Pixels 10..49 x 10..19: centres span 39 x 9 map pixels.
  const prob = map(64, 32, [rectRegion(10, 10, 49, 19, 0.8), rectRegion(55, 25, 60, 29, 0.4)]);
  const boxes = dbBoxes(prob, 64, 32);
  t.equal(boxes.length, 1, 'the faint region is below box_thresh');
  const { rect, score } = boxes[0]!;
  t.ok(Math.abs(score - 0.8) < 1e-6);
  const d = (39 * 9 * 1.5) / (2 * (39 + 9));
  t.ok(Math.abs(rect.width - (39 + 2 * d)) < 1e-6 && Math.abs(rect.height - (9 + 2 * d)) < 1e-6, `grown by ${d}`);
  t.ok(Math.abs(rect.cx - 30) < 1e-9 && Math.abs(rect.cy - 15) < 1e-9);
});

t.test('dbBoxes ignores specks thinner than min_size', async (t) => {
  const prob = map(32, 32, [rectRegion(2, 2, 30, 3)]);
  t.same(dbBoxes(prob, 32, 32), [], 'a two-pixel-high streak is noise');
});

t.test('unclip with ratio 0 is the identity', async (t) => {
  const r = { cx: 1, cy: 2, ux: 1, uy: 0, width: 4, height: 2 };
  t.same(unclip(r, 0), r);
});
