import t from 'tap';
import {
  averagePrecision,
  boxIou,
  evaluateDetections,
  parseGroundTruth,
  type Box,
  type GroundTruthObject,
  type PerImage,
  type ScoredDetection,
} from './box-metrics.js';

const box = (x: number, y: number, w: number, h: number): Box => ({ x, y, w, h });
const person = (b: Box, difficult = false): GroundTruthObject => ({ class: 'person', box: b, ...(difficult ? { difficult } : {}) });
const det = (b: Box, score: number, cls = 'person'): ScoredDetection => ({ class: cls, box: b, score });
const AP = { className: 'person' } as const;
/** Sums of fractions need not come out bit-exact; 1e-12 is far below any difference that matters. */
const near = (got: number | null, want: number): boolean => got !== null && Math.abs(got - want) < 1e-12;

t.test('boxIou is intersection over union', async (t) => {
  t.equal(boxIou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1, 'identical');
  t.equal(boxIou(box(0, 0, 10, 10), box(5, 0, 10, 10)), 50 / 150, 'half shifted: 50 shared of 150');
  t.equal(boxIou(box(0, 0, 10, 10), box(2, 2, 5, 5)), 25 / 100, 'contained: the small area over the large');
  t.equal(boxIou(box(2, 2, 5, 5), box(0, 0, 10, 10)), 25 / 100, 'symmetric');
  t.equal(boxIou(box(0, 0, 10, 10), box(10, 0, 10, 10)), 0, 'touching edges share no area');
  t.equal(boxIou(box(0, 0, 10, 10), box(30, 30, 5, 5)), 0, 'disjoint');
  t.equal(boxIou(box(0, 0, 0, 0), box(0, 0, 0, 0)), 0, 'two empty boxes: 0, not NaN');
  t.equal(boxIou(box(0.5, 0.5, 1, 1), box(1, 1, 1, 1)), 0.25 / 1.75, 'fractional coordinates are continuous, no +1 pixel');
});

t.test('a perfect detector has AP 1', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10)), person(box(50, 50, 20, 30))], b: [person(box(5, 5, 5, 5))] };
  const dets = { a: [det(box(0, 0, 10, 10), 0.9), det(box(50, 50, 20, 30), 0.8)], b: [det(box(5, 5, 5, 5), 0.7)] };
  const r = averagePrecision(gt, dets, AP);
  t.equal(r.ap, 1);
  t.same(r.precision, [1, 1, 1]);
  t.same(r.recall, [1 / 3, 2 / 3, 1]);
  t.same(r.scores, [0.9, 0.8, 0.7]);
  t.same([r.tp, r.fp, r.ignored, r.positives], [3, 0, 0, 3]);
});

t.test('interleaved hits and misses, worked out by hand', async (t) => {
  // 3 objects, 5 detections over two images; ranked by score they are TP FP FP TP TP:
  //   rank  score  result  tp fp  precision  recall
  //   1     0.9    TP (g1) 1  0   1          1/3
  //   2     0.8    FP      1  1   1/2        1/3
  //   3     0.7    FP      1  2   1/3        1/3
  //   4     0.6    TP (g3) 2  2   2/4        2/3
  //   5     0.5    TP (g2) 3  2   3/5        1
  // Made non-increasing from the right, precision is 1, 3/5, 3/5, 3/5, 3/5 (rank 4 takes rank 5's
  // 3/5). Recall rises at ranks 1, 4 and 5, by 1/3 each:
  //   AP = 1/3 * 1 + 1/3 * 3/5 + 1/3 * 3/5 = 11/15 ≈ 0.7333
  // (without the interpolation it would be 1/3 * (1 + 1/2 + 3/5) = 0.7).
  const gt = { a: [person(box(0, 0, 10, 10)), person(box(20, 0, 10, 10))], b: [person(box(0, 0, 10, 10))] };
  const dets = {
    // Given out of order on purpose: ranking is by score across all images.
    a: [det(box(20, 0, 10, 10), 0.5), det(box(100, 100, 5, 5), 0.7), det(box(0, 0, 10, 10), 0.9)],
    b: [det(box(0, 0, 10, 10), 0.6), det(box(50, 50, 10, 10), 0.8)],
  };
  const r = averagePrecision(gt, dets, AP);
  t.ok(near(r.ap, 11 / 15), `AP ${r.ap} ≈ 11 / 15`);
  t.same(r.precision, [1, 1 / 2, 1 / 3, 2 / 4, 3 / 5]);
  t.same(r.recall, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 1]);
  t.same(r.scores, [0.9, 0.8, 0.7, 0.6, 0.5]);
  t.same([r.tp, r.fp, r.positives], [3, 2, 3]);
});

t.test('a second pattern: TP FP TP FP TP gives 34/45', async (t) => {
  // precision 1, 1/2, 2/3, 2/4, 3/5 at recall 1/3, 1/3, 2/3, 2/3, 1; non-increasing: 1, 2/3, 2/3, 3/5, 3/5.
  // AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5 = 15/45 + 10/45 + 9/45 = 34/45.
  const g = [box(0, 0, 10, 10), box(20, 0, 10, 10), box(40, 0, 10, 10)];
  const miss = box(200, 200, 10, 10);
  const gt = { a: g.map((b) => person(b)) };
  const dets = { a: [det(g[0]!, 5), det(miss, 4), det(g[1]!, 3), det(miss, 2), det(g[2]!, 1)] };
  const { ap } = averagePrecision(gt, dets, AP);
  t.ok(near(ap, 34 / 45), `AP ${ap} ≈ 34 / 45`);
});

t.test('objects never found cap recall, and AP with it', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10)), person(box(20, 0, 10, 10))] };
  const r = averagePrecision(gt, { a: [det(box(0, 0, 10, 10), 0.9)] }, AP);
  t.equal(r.ap, 1 / 2, 'precision 1 up to recall 1/2, nothing beyond');
  t.same(r.recall, [1 / 2]);
  const none = averagePrecision(gt, { a: [] }, AP);
  t.same([none.ap, none.tp, none.fp, none.precision, none.recall], [0, 0, 0, [], []], 'no detections: AP 0');
  t.equal(averagePrecision(gt, {}, AP).ap, 0, 'an image missing from the detections has none');
});

t.test('a second detection of one object is a false positive', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10))] };
  const twice = averagePrecision(gt, { a: [det(box(0, 0, 10, 10), 0.9), det(box(0, 0, 10, 10), 0.8)] }, AP);
  t.same([twice.tp, twice.fp], [1, 1]);
  t.same(twice.precision, [1, 1 / 2]);
  t.equal(twice.ap, 1, 'the duplicate comes after full recall, so AP is still 1');

  // Greedy by score, not by overlap: the better-placed but lower-scored box is the duplicate.
  const loose = box(0, 0, 10, 16); // IoU 100/160 = 0.625
  const r = averagePrecision(gt, { a: [det(box(0, 0, 10, 10), 0.6), det(loose, 0.9)] }, AP);
  t.same([r.tp, r.fp], [1, 1]);
  t.same(r.scores, [0.9, 0.6], 'the 0.9 box took the object');
  t.same(r.precision, [1, 1 / 2]);

  // A duplicate ranked before the next hit lowers AP: TP, FP(dup), TP on 2 objects.
  const gt2 = { a: [person(box(0, 0, 10, 10)), person(box(20, 0, 10, 10))] };
  const r2 = averagePrecision(gt2, { a: [det(box(0, 0, 10, 10), 0.9), det(box(0, 0, 10, 10), 0.8), det(box(20, 0, 10, 10), 0.7)] }, AP);
  // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
  t.ok(near(r2.ap, 5 / 6), `AP ${r2.ap} ≈ 5 / 6`);
});

t.test('a detection goes with the object it overlaps most, even when that one is taken (VOC rule)', async (t) => {
  // g1 [0,10) and g2 [4,14). d2 = [1,11) overlaps g1 by 90/110 ≈ 0.82 and g2 by 70/130 ≈ 0.54;
  // g1 is already taken by d1, so d2 is a duplicate, although g2 is free and over the threshold.
  const gt = { a: [person(box(0, 0, 10, 10)), person(box(4, 0, 10, 10))] };
  const r = averagePrecision(gt, { a: [det(box(0, 0, 10, 10), 0.9), det(box(1, 0, 10, 10), 0.8)] }, AP);
  t.same([r.tp, r.fp, r.positives], [1, 1, 2]);
  t.equal(r.ap, 1 / 2);
});

t.test('difficult objects are neither positives nor false positives', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10)), person(box(50, 0, 10, 10), true)] };
  const r = averagePrecision(
    gt,
    { a: [det(box(50, 0, 10, 10), 0.95), det(box(0, 0, 10, 10), 0.9), det(box(50, 0, 10, 10), 0.85)] },
    AP,
  );
  t.same([r.tp, r.fp, r.ignored, r.positives], [1, 0, 2, 1], 'both detections of the difficult one are ignored, even the second');
  t.same(r.precision, [1], 'ignored detections make no point on the curve');
  t.same(r.scores, [0.9]);
  t.equal(r.ap, 1, 'the top-scored detection hit a difficult object and costs nothing');

  const missed = averagePrecision(gt, { a: [det(box(0, 0, 10, 10), 0.9)] }, AP);
  t.equal(missed.ap, 1, 'missing a difficult object costs nothing either');

  const near = averagePrecision(gt, { a: [det(box(55, 0, 10, 10), 0.9)] }, AP);
  t.same([near.tp, near.fp, near.ignored], [0, 1, 0], 'overlapping a difficult object by less than the threshold is a false positive');

  // The best overlap decides: a box closer to a difficult object than to a plain one is ignored.
  const gt2 = { a: [person(box(0, 0, 10, 10)), person(box(2, 0, 10, 10), true)] };
  const best = averagePrecision(gt2, { a: [det(box(2, 0, 10, 10), 0.9)] }, AP);
  t.same([best.tp, best.fp, best.ignored], [0, 0, 1]);

  const onlyDifficult = averagePrecision({ a: [person(box(0, 0, 10, 10), true)] }, { a: [det(box(0, 0, 10, 10), 0.9)] }, AP);
  t.same([onlyDifficult.ap, onlyDifficult.positives, onlyDifficult.ignored], [null, 0, 1], 'only difficult objects: no positives');
});

t.test('an overlap exactly at the threshold matches (>=, as the VOC devkit)', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10))] };
  t.equal(boxIou(box(0, 0, 20, 10), box(0, 0, 10, 10)), 0.5, 'exactly 100/200 in floating point');
  t.same(averagePrecision(gt, { a: [det(box(0, 0, 20, 10), 0.9)] }, AP).tp, 1, 'IoU 0.5 at threshold 0.5 is a hit');
  const below = averagePrecision(gt, { a: [det(box(0, 0, 21, 10), 0.9)] }, AP); // 100/210
  t.same([below.tp, below.fp, below.ap], [0, 1, 0], 'just under is a false positive');
  const strict = averagePrecision(gt, { a: [det(box(0, 0, 10, 12), 0.9)] }, { className: 'person', iouThreshold: 0.75 }); // 100/120
  t.equal(strict.tp, 1, '0.83 passes 0.75');
  const stricter = averagePrecision(gt, { a: [det(box(0, 0, 10, 14), 0.9)] }, { className: 'person', iouThreshold: 0.75 }); // 100/140
  t.equal(stricter.fp, 1, '0.71 fails 0.75');
});

t.test('classes are evaluated apart', async (t) => {
  const gt = { a: [person(box(0, 0, 100, 200)), { class: 'face', box: box(30, 10, 40, 40) }] };
  const faceOnPerson = { a: [det(box(0, 0, 100, 200), 0.9, 'face')] };
  const p = averagePrecision(gt, faceOnPerson, AP);
  t.same([p.ap, p.tp, p.fp, p.positives], [0, 0, 0, 1], 'a face detection does not find a person');
  const f = averagePrecision(gt, faceOnPerson, { className: 'face' });
  t.same([f.ap, f.tp, f.fp, f.positives], [0, 0, 1, 1], 'and is a false positive face');

  const dets = { a: [det(box(0, 0, 100, 200), 0.9), det(box(200, 0, 40, 40), 0.8, 'face'), det(box(30, 10, 40, 40), 0.7, 'face')] };
  const e = evaluateDetections(gt, dets);
  t.same(Object.keys(e.byClass), ['face', 'person'], 'classes from the data, sorted');
  t.equal(e.byClass['person']!.ap, 1);
  t.equal(e.byClass['face']!.ap, 1 / 2, 'FP then TP: precision 1/2 at recall 1');
  t.equal(e.map, 3 / 4);
  t.same(e.mapClasses, ['face', 'person']);
  t.equal(e.iouThreshold, 0.5);

  const withDog = evaluateDetections(gt, { ...dets, a: [...dets.a, det(box(0, 0, 5, 5), 0.5, 'dog')] }, { classes: ['person', 'face', 'dog', 'cat'] });
  t.same(Object.keys(withDog.byClass), ['person', 'face', 'dog', 'cat'], 'the order asked for');
  t.same([withDog.byClass['dog']!.ap, withDog.byClass['dog']!.fp], [null, 1], 'a class with no objects has no AP but counts its false positives');
  t.equal(withDog.map, 3 / 4, 'classes without positives stay out of the mean');
  t.same(withDog.mapClasses, ['person', 'face']);
});

t.test('empty inputs', async (t) => {
  const r = averagePrecision({}, {}, AP);
  t.same(r, { ap: null, precision: [], recall: [], scores: [], tp: 0, fp: 0, ignored: 0, positives: 0 });
  const negative = averagePrecision({ a: [] }, { a: [det(box(0, 0, 10, 10), 0.9), det(box(5, 5, 10, 10), 0.8)] }, AP);
  t.same([negative.ap, negative.fp, negative.precision], [null, 2, []], 'detections on an image with nothing: counted, but no curve');
  const e = evaluateDetections({}, {});
  t.same([e.byClass, e.map, e.mapClasses], [{}, null, []]);
});

t.test('bad input is refused', async (t) => {
  const gt = { a: [person(box(0, 0, 10, 10))] };
  const refused = (fn: () => unknown, what: string) => t.throws(fn, { name: 'LoupeError', code: 'LOUPE_ERR_VALIDATION' }, what);
  refused(() => averagePrecision(gt, { b: [det(box(0, 0, 10, 10), 0.9)] }, AP), 'detections for an image the ground truth does not list');
  refused(() => averagePrecision(gt, { a: [det(box(0, 0, 10, 10), Number.NaN)] }, AP), 'a NaN score');
  refused(() => averagePrecision(gt, { a: [det(box(0, 0, -1, 10), 0.9)] }, AP), 'a negative width');
  refused(() => averagePrecision({ a: [person(box(0, Infinity, 1, 1))] }, {}, AP), 'an infinite coordinate');
  refused(() => averagePrecision(gt, {}, { className: 'person', iouThreshold: 0 }), 'threshold 0');
  refused(() => evaluateDetections(gt, {}, { iouThreshold: 1.5 }), 'threshold over 1');
});

t.test('parseGroundTruth reads the file format and checks it', async (t) => {
  const doc = {
    images: [
      { file: 'a.jpg', width: 100, height: 50, objects: [{ class: 'person', box: [0, 0, 100, 50] }, { class: 'face', box: [10, 5, 8, 8], difficult: true }] },
      { file: 'empty.jpg', width: 10, height: 10, objects: [] },
    ],
  };
  t.same(parseGroundTruth(doc), [
    { file: 'a.jpg', width: 100, height: 50, objects: [{ class: 'person', box: box(0, 0, 100, 50) }, { class: 'face', box: box(10, 5, 8, 8), difficult: true }] },
    { file: 'empty.jpg', width: 10, height: 10, objects: [] },
  ]);
  const refused = (d: unknown, what: string) => t.throws(() => parseGroundTruth(d), { name: 'LoupeError', code: 'LOUPE_ERR_VALIDATION' }, what);
  const one = (o: unknown) => ({ images: [{ file: 'a.jpg', width: 100, height: 50, objects: [o] }] });
  refused({}, 'no images');
  refused(one({ class: 'person', box: [0, 0, 101, 50] }), 'a box past the right edge');
  refused(one({ class: 'person', box: [0, 0, 0, 5] }), 'an empty box');
  refused(one({ class: 'person', box: { x: 0, y: 0, w: 1, h: 1 } }), 'a box that is not an array');
  refused(one({ box: [0, 0, 1, 1] }), 'no class');
  refused(one({ class: 'person', box: [0, 0, 1, 1], difficult: 'yes' }), 'difficult not a boolean');
  refused({ images: [{ file: 'a.jpg', width: 1, height: 1, objects: [] }, { file: 'a.jpg', width: 1, height: 1, objects: [] }] }, 'an image twice');
});
