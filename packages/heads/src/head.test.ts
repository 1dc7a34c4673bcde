import t from 'tap';
import { decide, logits, predict, uncertainty, type LinearHead } from './head.js';

function head(overrides: Partial<LinearHead> = {}): LinearHead {
  return {
    id: 'test',
    version: '1',
    kind: 'softmax',
    source: 'trained',
    embedding: { model: 'toy', version: '1', dims: 2 },
    classes: [{ concept: 'http://ex.org/a', label: 'a' }, { concept: 'http://ex.org/b' }, { concept: 'http://ex.org/c', label: 'c' }],
    weights: Float32Array.from([1, 0, 0, 1, -1, -1]),
    bias: Float32Array.from([0, 0, 0.5]),
    temperature: 1,
    thresholds: [0.5, 0.2, 0.9],
    targetPrecision: 0.9,
    created: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

t.test('logits are W x + b; predict divides by the temperature before the softmax or sigmoid', async (t) => {
  const h = head();
  t.same([...logits(h, [2, 1])], [2, 1, -2.5]);
  const p = predict(h, [2, 1]);
  const e = [Math.exp(2), Math.exp(1), Math.exp(-2.5)];
  const sum = e[0]! + e[1]! + e[2]!;
  e.forEach((v, c) => t.ok(Math.abs(p[c]! - v / sum) < 1e-6));
  const hot = predict(head({ temperature: 2 }), [2, 1]);
  t.ok(hot[0]! < p[0]!, 'a higher temperature flattens the distribution');
  const sig = predict(head({ kind: 'sigmoid', temperature: 2 }), Float32Array.from([2, 1]));
  t.ok(Math.abs(sig[0]! - 1 / (1 + Math.exp(-1))) < 1e-6);
  t.throws(() => logits(h, [1, 2, 3]), { code: 'LOUPE_ERR_VALIDATION', message: /reads 2-dimensional toy vectors; this vector has 3 dimensions/ });
});

t.test('decide: top-k gives the k best with their threshold flags; threshold gives every class at or above its own', async (t) => {
  const h = head();
  const probs = Float32Array.from([0.3, 0.25, 0.45]);
  const top1 = decide(h, probs, { mode: 'top-k' });
  t.equal(top1.mode, 'top-k');
  t.same(top1.picks.map((p) => [p.index, p.concept, p.label, p.aboveThreshold]), [[2, 'http://ex.org/c', 'c', false]]);
  const top2 = decide(h, probs, { mode: 'top-k', k: 2 });
  t.same(top2.picks.map((p) => p.index), [2, 0]);
  t.same(decide(h, probs, { mode: 'top-k', k: 10 }).picks.map((p) => p.index), [2, 0, 1], 'k beyond K gives every class');
  const above = decide(h, probs, { mode: 'threshold' });
  t.equal(above.mode, 'threshold');
  t.same(above.picks.map((p) => [p.index, p.probability, p.aboveThreshold]), [[1, Math.fround(0.25), true]], 'only b reaches its threshold (.2); c (.45 < .9) does not');
  t.notOk('label' in above.picks[0]!, 'a class without a label has no label key');
  t.same(decide(h, Float32Array.from([0.4, 0.1, 0.5]), { mode: 'threshold' }).picks, [], 'nothing above threshold: no picks');
  t.same(decide(head({ thresholds: [0.1, 0.1, 0.1] }), [0.3, 0.25, 0.45], { mode: 'threshold' }).picks.map((p) => p.index), [2, 0, 1], 'sorted by probability');
  t.throws(() => decide(h, probs, { mode: 'top-k', k: 0 }), { message: /top-k needs a whole k >= 1/ });
  t.throws(() => decide(h, [0.5, 0.5], { mode: 'top-k' }), { message: /3 classes; got 2 probabilities/ });
});

t.test('uncertainty puts the unsure above the sure, for both strategies and kinds', async (t) => {
  const sure = Float32Array.from([0.97, 0.02, 0.01]);
  const unsure = Float32Array.from([0.4, 0.35, 0.25]);
  for (const strategy of ['margin', 'entropy'] as const) {
    const a = uncertainty(sure, 'softmax', strategy);
    const b = uncertainty(unsure, 'softmax', strategy);
    t.ok(a < b, `softmax ${strategy}: ${a.toFixed(3)} < ${b.toFixed(3)}`);
    t.ok(a >= 0 && b <= 1);
    t.equal(uncertainty([1 / 3, 1 / 3, 1 / 3], 'softmax', strategy), 1, `softmax ${strategy}: the uniform distribution is 1`);
    const sigSure = uncertainty([0.99, 0.01, 0.02], 'sigmoid', strategy);
    const sigUnsure = uncertainty([0.99, 0.55, 0.02], 'sigmoid', strategy);
    t.ok(sigSure < sigUnsure, `sigmoid ${strategy}: ${sigSure.toFixed(3)} < ${sigUnsure.toFixed(3)}`);
    t.equal(uncertainty([0.5, 0.5], 'sigmoid', strategy), 1, `sigmoid ${strategy}: every answer at .5 is 1`);
  }
  t.equal(uncertainty([0.6, 0.3, 0.1], 'softmax', 'margin').toFixed(12), (0.7).toFixed(12), 'margin is 1 - (p1 - p2)');
  t.equal(uncertainty([0.9, 0.3], 'sigmoid', 'margin').toFixed(12), (0.6).toFixed(12), 'sigmoid margin is 1 - 2 min |p - .5|');
  t.equal(uncertainty([1, 0, 0], 'softmax', 'entropy'), 0);
});
