import t, { type Test } from 'tap';
import { evaluateBoxes, evaluateClassification, evaluateText, formatBoxes, formatClassification, formatText, NO_PREDICTION, shortName } from './evaluate.js';

const A = 'http://example.org/concept/A';
const B = 'http://example.org/concept/B';
const C = 'http://example.org/concept/C';
const p = (concept: string, score: number) => ({ concept, score });

/** Sums of fractions need not come out bit-exact. */
const near = (t: Test, got: number, want: number, what: string) => t.ok(Math.abs(got - want) < 1e-12, `${what}: ${got} ~ ${want}`);

// Ten images, three classes. Image 9 has two true classes, image 10 none; image 99 is not in the
// ground truth, so its prediction must not count.
const TRUTH = new Map<string, string[]>([
  ['i1', [A]],
  ['i2', [A]],
  ['i3', [A]],
  ['i4', [B]],
  ['i5', [B]],
  ['i6', [B]],
  ['i7', [C]],
  ['i8', [C]],
  ['i9', [A, C]],
  ['i10', []],
]);
const PREDICTED = new Map([
  ['i1', [p(A, 0.9), p(B, 0.2)]],
  ['i2', [p(A, 0.8)]],
  ['i3', [p(B, 0.7)]],
  ['i4', [p(B, 0.9)]],
  ['i5', [p(B, 0.6), p(C, 0.5)]],
  ['i6', [p(A, 0.4)]],
  ['i7', [p(C, 0.9)]],
  // i8: nothing
  ['i9', [p(A, 0.7), p(C, 0.6)]],
  ['i10', [p(C, 0.3)]],
  ['i99', [p(A, 0.99)]],
]);

t.test('evaluateClassification, every prediction counted (hand-computed)', async (t) => {
  const r = evaluateClassification(TRUTH, PREDICTED, { labels: new Map([[A, 'Apple']]) });
  t.equal(r.images, 10);
  // A: true on i1 i2 i3 i9 (4); predicted on i1 i2 i6 i9 (4); tp i1 i2 i9 = 3, fp i6, fn i3.
  // B: true on i4 i5 i6 (3); predicted on i1 i3 i4 i5 (4); tp i4 i5 = 2, fp i1 i3, fn i6.
  // C: true on i7 i8 i9 (3); predicted on i5 i7 i9 i10 (4); tp i7 i9 = 2, fp i5 i10, fn i8.
  t.same(
    r.classes.map((c) => [c.concept, c.label, c.support, c.predicted, c.tp, c.fp, c.fn]),
    [
      [A, 'Apple', 4, 4, 3, 1, 1],
      [B, undefined, 3, 4, 2, 2, 1],
      [C, undefined, 3, 4, 2, 2, 1],
    ],
  );
  // A: P 3/4, R 3/4, F1 3/4. B and C: P 2/4, R 2/3, F1 = 2 * 1/2 * 2/3 / (1/2 + 2/3) = 4/7.
  const [a, b, c] = r.classes;
  for (const [got, want, what] of [
    [a!.precision, 3 / 4, 'A precision'],
    [a!.recall, 3 / 4, 'A recall'],
    [a!.f1, 3 / 4, 'A F1'],
    [b!.precision, 1 / 2, 'B precision'],
    [b!.recall, 2 / 3, 'B recall'],
    [b!.f1, 4 / 7, 'B F1'],
    [c!.f1, 4 / 7, 'C F1'],
    // Micro: tp 7, fp 5, fn 3: P 7/12, R 7/10, F1 = 2 * 49/120 / (154/120) = 7/11.
    [r.micro.precision, 7 / 12, 'micro precision'],
    [r.micro.recall, 7 / 10, 'micro recall'],
    [r.micro.f1, 7 / 11, 'micro F1'],
    // Macro: P (3/4 + 1/2 + 1/2) / 3 = 7/12; R (3/4 + 2/3 + 2/3) / 3 = 25/36; F1 (3/4 + 4/7 + 4/7) / 3 = 53/84.
    [r.macro.precision, 7 / 12, 'macro precision'],
    [r.macro.recall, 25 / 36, 'macro recall'],
    [r.macro.f1, 53 / 84, 'macro F1'],
  ] as const) near(t, got, want, what);
  // One true class on i1..i8; top-1: i1 A, i2 A, i3 B (wrong), i4 B, i5 B, i6 A (wrong), i7 C, i8 none (wrong): 5 of 8.
  t.equal(r.accuracyImages, 8);
  t.equal(r.accuracy, 5 / 8);
  t.same(r.confusion, {
    labels: [A, B, C, NO_PREDICTION],
    matrix: [
      [2, 1, 0, 0],
      [1, 2, 0, 0],
      [0, 0, 1, 1],
      [0, 0, 0, 0],
    ],
  });
});

t.test('evaluateClassification with a threshold (hand-computed)', async (t) => {
  // At 0.5 these go: B 0.2 on i1, A 0.4 on i6, C 0.3 on i10.
  // A: predicted i1 i2 i9, tp 3, fp 0, fn 1. B: predicted i3 i4 i5, tp 2, fp 1, fn 1. C: predicted i5 i7 i9, tp 2, fp 1, fn 1.
  const r = evaluateClassification(TRUTH, PREDICTED, { threshold: 0.5 });
  t.equal(r.threshold, 0.5);
  t.same(r.classes.map((c) => [c.tp, c.fp, c.fn, c.precision]), [
    [3, 0, 1, 1],
    [2, 1, 1, 2 / 3],
    [2, 1, 1, 2 / 3],
  ]);
  near(t, r.micro.precision, 7 / 9, 'micro precision: 7 of 9');
  t.equal(r.accuracy, 5 / 8, 'i6 now has no prediction: still wrong');
  t.same(r.confusion.matrix[1], [0, 2, 0, 1], 'B row: i6 went to (none)');
});

t.test('evaluateClassification edge cases: 0/0 is 0, predicted-only classes stay out of the macro mean', async (t) => {
  const r = evaluateClassification(new Map([['x', [A]], ['y', [B]]]), new Map([['x', [p('http://other/D', 0.9)]]]));
  t.same(r.classes.map((c) => [c.concept, c.support, c.predicted, c.precision, c.recall, c.f1]), [
    [A, 1, 0, 0, 0, 0],
    [B, 1, 0, 0, 0, 0],
    ['http://other/D', 0, 1, 0, 0, 0],
  ]);
  t.same(r.macro, { precision: 0, recall: 0, f1: 0 });
  t.same(r.confusion.matrix, [
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
  ], 'x went to D, y to (none)');
  const perfect = evaluateClassification(new Map([['x', [A]], ['y', [B]]]), new Map([['x', [p(A, 1)]], ['y', [p(B, 0.5), p(A, 0.5)]]]), { threshold: 0.5 });
  // x: A right. y: B right, A wrong. A: P 1/2, R 1, F1 2/3; B: F1 1; macro F1 (2/3 + 1) / 2 = 5/6.
  near(t, perfect.macro.f1, 5 / 6, 'A is once a false positive');
  t.equal(perfect.accuracy, 1, 'equal scores: the first is top-1');
  const empty = evaluateClassification(new Map(), new Map());
  t.same([empty.images, empty.classes, empty.micro, empty.accuracy, empty.confusion], [0, [], { precision: 0, recall: 0, f1: 0 }, 0, { labels: [NO_PREDICTION], matrix: [[0]] }]);
  t.throws(() => evaluateClassification(new Map([['x', [A]]]), new Map([['x', [p(A, Number.NaN)]]])), { code: 'LOUPE_ERR_VALIDATION', message: /image "x"/ });
});

const box = (x: number, y: number, w: number, h: number) => ({ x, y, w, h });

t.test('evaluateBoxes (hand-computed AP)', async (t) => {
  const truth = {
    a: [
      { concept: 'cat', box: box(0, 0, 10, 10) },
      { concept: 'cat', box: box(50, 50, 10, 10) },
    ],
    b: [
      { concept: 'cat', box: box(0, 0, 20, 20) },
      { concept: 'dog', box: box(100, 100, 10, 10), difficult: true },
    ],
    c: [{ concept: 'dog', box: box(0, 0, 10, 10) }],
  };
  const predicted = {
    a: [
      { concept: 'cat', box: box(0, 0, 10, 10), score: 0.9 },
      { concept: 'cat', box: box(1, 0, 10, 10), score: 0.8 }, // the same cat again
      { concept: 'bird', box: box(50, 50, 10, 10), score: 0.5 },
    ],
    b: [
      { concept: 'cat', box: box(0, 0, 20, 20), score: 0.7 },
      { concept: 'dog', box: box(100, 100, 10, 10), score: 0.95 }, // the difficult dog: ignored
    ],
    c: [{ concept: 'dog', box: box(5, 0, 10, 10), score: 0.6 }], // IoU 50 / 150 = 1/3
    elsewhere: [{ concept: 'cat', box: box(0, 0, 1, 1), score: 1 }],
  };
  // cat, 3 objects, ranked 0.9 TP (P 1, R 1/3), 0.8 FP (P 1/2, R 1/3), 0.7 TP (P 2/3, R 2/3).
  // Precision made non-increasing from the right: 1, 2/3, 2/3; area 1/3 * 1 + 1/3 * 2/3 = 5/9.
  const r = evaluateBoxes(truth, predicted);
  t.equal(r.iou, 0.5);
  t.equal(r.images, 3);
  t.same(r.classes.map((c) => [c.concept, c.groundTruth, c.detections, c.tp, c.fp]), [
    ['bird', 0, 1, 0, 1],
    ['cat', 3, 3, 2, 1],
    ['dog', 1, 2, 0, 1],
  ], 'the image outside the ground truth is ignored');
  t.equal(r.classes[0]!.ap, null, 'a class without ground truth has no AP');
  near(t, r.classes[1]!.ap!, 5 / 9, 'cat AP');
  t.equal(r.classes[2]!.ap, 0, 'dog: the only detection overlaps 1/3');
  near(t, r.map!, (5 / 9 + 0) / 2, 'mAP over cat and dog');
  const loose = evaluateBoxes(truth, predicted, { iou: 0.3, labels: new Map([['dog', 'Hund']]) });
  t.equal(loose.classes[2]!.ap, 1, 'at IoU 0.3 the dog is found');
  t.equal(loose.classes[2]!.label, 'Hund');
  near(t, loose.map!, (5 / 9 + 1) / 2, 'mAP at 0.3');
  t.same(evaluateBoxes({}, {}), { iou: 0.5, images: 0, classes: [], map: null });
  t.throws(() => evaluateBoxes(truth, predicted, { iou: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('evaluateText: corpus rates (hand-computed)', async (t) => {
  const truth = new Map([
    ['p1', 'the cat sat'],
    ['p2', 'Anno  Domini\n1623'],
    ['p3', 'abc'],
  ]);
  const predicted = new Map([
    ['p1', 'the bat sat'],
    ['p2', 'Anno Domini 1623'],
    ['p4', 'not in the truth'],
  ]);
  // Characters: p1 11 with 1 edit, p2 16 (normalised) with 0, p3 3 with 3 (no prediction): 4 / 30.
  // Words: p1 3 with 1, p2 3 with 0, p3 1 with 1: 2 / 7.
  t.same(evaluateText(truth, predicted), { images: 3, cer: 4 / 30, wer: 2 / 7, referenceChars: 30, referenceWords: 7, charEdits: 4, wordEdits: 2 });
  t.same([evaluateText(new Map([['a', ' ']]), new Map([['a', 'x']])).cer, evaluateText(new Map([['a', '']]), new Map()).cer], [1, 0], 'empty references');
  t.equal(evaluateText(new Map([['a', 'a😀b']]), new Map([['a', 'ab']])).cer, 1 / 3, 'code points, not UTF-16 units');
});

t.test('the plain-text reports', async (t) => {
  const text = formatClassification(evaluateClassification(TRUTH, PREDICTED, { labels: new Map([[A, 'Apple']]) }));
  const lines = text.split('\n');
  t.match(lines[0], /^Classification: 10 images, predictions scored 0 or more$/);
  t.match(lines[1], /^class\s+support\s+predicted\s+P\s+R\s+F1$/);
  t.ok(lines.some((l) => /^Apple\s+4\s+4\s+0\.750\s+0\.750\s+0\.750$/.test(l)), 'a row per class, with its label');
  t.ok(lines.some((l) => /^B\s+3\s+4\s+0\.500\s+0\.667\s+0\.571$/.test(l)), 'the URI tail without label');
  t.ok(lines.some((l) => /^micro average\s+0\.583\s+0\.700\s+0\.636$/.test(l)));
  t.ok(lines.some((l) => l === 'Top-1 accuracy: 0.625 (8 images with one true class)'));
  t.ok(lines.some((l) => /^truth \\ predicted\s+1\s+2\s+3\s+4$/.test(l)), 'numbered columns');
  t.ok(lines.some((l) => /^3 C\s+0\s+0\s+1\s+1$/.test(l)), 'the C row');
  t.ok(lines.some((l) => /^4 \(none\)\s+0\s+0\s+0\s+0$/.test(l)));
  const boxes = formatBoxes(evaluateBoxes({ a: [{ concept: 'cat', box: box(0, 0, 1, 1) }] }, { a: [{ concept: 'bird', box: box(0, 0, 1, 1), score: 1 }] }));
  t.match(boxes, /^Boxes: 1 images, IoU 0\.5\n/);
  t.match(boxes, /\nbird\s+0\s+1\s+0\s+1\s+-\n/);
  t.match(boxes, /\ncat\s+1\s+0\s+0\s+0\s+0\.000\n/);
  t.match(boxes, /\nmAP@0\.5: 0\.000\n/);
  const ocr = formatText(evaluateText(new Map([['a', 'abcd']]), new Map([['a', 'abd']])));
  t.match(ocr, /\nCER\s+0\.2500\s+1\s+4 characters\n/);
  t.match(ocr, /\nWER\s+1\.0000\s+1\s+1 words\n/);
  t.equal(shortName('http://www.wikidata.org/entity/Q146'), 'Q146');
  t.equal(shortName('http://x/concepts/'), 'concepts', 'a trailing slash');
  t.equal(shortName('x', 'a very long label that goes on and on and on'), 'a very long label that goes on…');
});
