import t, { type Test } from 'tap';
import { LoupeError } from '@loupe/contracts';
import { blobs } from './blobs.test-support.js';
import { logitsMany, oneVsRestObjective, softmaxObjective, trainOneVsRest, trainSoftmax, type Objective } from './train.js';
import { gaussian, seededRandom } from '@loupe/datasets';

/** Central finite differences of the loss, parameter by parameter, against the analytic gradient. */
function checkGradient(t: Test, objective: (W: Float64Array, b: Float64Array) => Objective, W: Float64Array, b: Float64Array): void {
  const exact = objective(W, b);
  const h = 1e-6;
  let worst = 0;
  const compare = (params: Float64Array, grad: Float64Array): void => {
    for (let i = 0; i < params.length; i++) {
      const keep = params[i]!;
      params[i] = keep + h;
      const up = objective(W, b).loss;
      params[i] = keep - h;
      const down = objective(W, b).loss;
      params[i] = keep;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(numeric - grad[i]!) / Math.max(1e-3, Math.abs(numeric) + Math.abs(grad[i]!)));
    }
  };
  compare(W, exact.gradWeights);
  compare(b, exact.gradBias);
  t.ok(worst < 1e-6, `largest relative difference ${worst.toExponential(2)} over ${W.length + b.length} parameters`);
}

function tinyProblem(n: number, d: number, k: number, seed: string) {
  const normal = gaussian(seededRandom(seed));
  const x = Float32Array.from({ length: n * d }, () => normal());
  const W = Float64Array.from({ length: k * d }, () => 0.5 * normal());
  const b = Float64Array.from({ length: k }, () => 0.5 * normal());
  return { x, W, b };
}

t.test('the softmax gradient equals finite differences of the loss (balanced weights, L2)', async (t) => {
  const n = 9;
  const d = 5;
  const k = 3;
  const { x, W, b } = tinyProblem(n, d, k, 'softmax-grad');
  const y = Int32Array.from([0, 1, 2, 0, 0, 0, 1, 2, 0]);
  checkGradient(t, (W2, b2) => softmaxObjective(x, n, d, y, k, W2, b2, { l2: 0.1, classWeights: 'balanced' }), W, b);
  checkGradient(t, (W2, b2) => softmaxObjective(x, n, d, y, k, W2, b2, { l2: 0, classWeights: 'none' }), W, b);
});

t.test('the one-vs-rest gradient equals finite differences of the loss (balanced weights, L2)', async (t) => {
  const n = 8;
  const d = 4;
  const k = 3;
  const { x, W, b } = tinyProblem(n, d, k, 'ovr-grad');
  const y = Uint8Array.from([1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0]);
  checkGradient(t, (W2, b2) => oneVsRestObjective(x, n, d, y, k, W2, b2, { l2: 0.05, classWeights: 'balanced' }), W, b);
  checkGradient(t, (W2, b2) => oneVsRestObjective(x, n, d, y, k, W2, b2, { l2: 0, classWeights: 'none' }), W, b);
});

t.test('balanced weights weigh each class to n / (K n_c): the loss of a one-class shift matches by hand', async (t) => {
  // Two examples of class 0, one of class 1, all-zero model: every example's loss is ln 2.
  const x = new Float32Array(3);
  const y = Int32Array.from([0, 0, 1]);
  const zero = () => ({ W: new Float64Array(2), b: new Float64Array(2) });
  const { W, b } = zero();
  // weights 3/(2*2) = 0.75 (twice) and 3/(2*1) = 1.5: the mean is (0.75 + 0.75 + 1.5) ln 2 / 3 = ln 2.
  t.equal(softmaxObjective(x, 3, 1, y, 2, W, b, { l2: 0 }).loss.toFixed(12), Math.LN2.toFixed(12));
  // The bias gradient: class 0 gets (0.5 - 1) * 0.75 * 2 + 0.5 * 1.5 = 0 over 3: balanced classes pull equally.
  t.ok(Math.abs(softmaxObjective(x, 3, 1, y, 2, W, b, { l2: 0 }).gradBias[0]!) < 1e-15);
  t.ok(softmaxObjective(x, 3, 1, y, 2, W, b, { l2: 0, classWeights: 'none' }).gradBias[0]! < 0, 'unweighted, the majority pulls the bias its way');
});

function accuracy(x: Float32Array, y: Int32Array, d: number, k: number, w: { weights: Float32Array; bias: Float32Array }): number {
  const n = y.length;
  const z = logitsMany(x, d, w.weights, w.bias, k);
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (z[i * k + c]! > z[i * k + best]!) best = c;
    if (best === y[i]) right++;
  }
  return right / n;
}

t.test('softmax training separates Gaussian blobs and is deterministic from its seed', async (t) => {
  const d = 16;
  const k = 4;
  const train = blobs({ d, sizes: [200, 200, 200, 200], noise: 0.15, seed: 'blobs' });
  const test = blobs({ d, sizes: [100, 100, 100, 100], noise: 0.15, seed: 'blobs', sampleSeed: 'fresh' });
  const w = trainSoftmax(train.x, 800, d, train.y, k, { seed: 7 });
  t.ok(accuracy(test.x, test.y, d, k, w) >= 0.98, `held-out accuracy ${accuracy(test.x, test.y, d, k, w)}`);
  const again = trainSoftmax(train.x, 800, d, train.y, k, { seed: '7' });
  t.same(Buffer.from(again.weights.buffer), Buffer.from(w.weights.buffer), 'same data and seed, same weights bit for bit');
  const other = trainSoftmax(train.x, 800, d, train.y, k, { seed: 8, epochs: 5 });
  t.notSame(Buffer.from(other.weights.buffer), Buffer.from(w.weights.buffer));
});

t.test('with 1:10 imbalance, balanced class weights raise the minority recall', async (t) => {
  const d = 16;
  const train = blobs({ d, sizes: [1000, 100], noise: 0.45, seed: 'imbalanced' });
  const test = blobs({ d, sizes: [2000, 2000], noise: 0.45, seed: 'imbalanced', sampleSeed: 'test' });
  const recall = (w: { weights: Float32Array; bias: Float32Array }): number => {
    const z = logitsMany(test.x, d, w.weights, w.bias, 2);
    let found = 0;
    let total = 0;
    for (let i = 0; i < test.y.length; i++) {
      if (test.y[i] !== 1) continue;
      total++;
      if (z[i * 2 + 1]! > z[i * 2]!) found++;
    }
    return found / total;
  };
  const balanced = recall(trainSoftmax(train.x, 1100, d, train.y, 2, { classWeights: 'balanced' }));
  const none = recall(trainSoftmax(train.x, 1100, d, train.y, 2, { classWeights: 'none' }));
  t.ok(balanced > none + 0.05, `minority recall: balanced ${balanced.toFixed(3)}, unweighted ${none.toFixed(3)}`);

  // The same for one-vs-rest, on the minority class's own detector.
  const multi = new Uint8Array(1100 * 2);
  train.y.forEach((c, i) => (multi[i * 2 + c] = 1));
  const ovr = (classWeights: 'balanced' | 'none'): number => {
    const w = trainOneVsRest(train.x, 1100, d, multi, 2, { classWeights });
    const z = logitsMany(test.x, d, w.weights, w.bias, 2);
    let found = 0;
    for (let i = 0; i < test.y.length; i++) if (test.y[i] === 1 && z[i * 2 + 1]! > 0) found++;
    return found / 2000;
  };
  const ovrBalanced = ovr('balanced');
  const ovrNone = ovr('none');
  t.ok(ovrBalanced > ovrNone + 0.05, `one-vs-rest minority recall: balanced ${ovrBalanced.toFixed(3)}, unweighted ${ovrNone.toFixed(3)}`);
});

t.test('bad shapes and labels are refused with what is wrong', async (t) => {
  const x = new Float32Array(6);
  t.throws(() => trainSoftmax(x, 3, 3, Int32Array.from([0, 1, 0]), 2), { code: 'LOUPE_ERR_VALIDATION', message: /x has 6 values; n x d = 3 x 3 = 9/ });
  t.throws(() => trainSoftmax(x, 3, 2, Int32Array.from([0, 2, 0]), 2), { message: /y\[1\] = 2 is not a class index from 0 to 1/ });
  t.throws(() => trainSoftmax(x, 3, 2, Int32Array.from([0, 1]), 2), { message: /y has 2 values, expected 3/ });
  t.throws(() => trainSoftmax(Float32Array.from([0, 1, NaN, 0, 1, 1]), 3, 2, Int32Array.from([0, 1, 0]), 2), { message: /non-finite value in example 1, dimension 0/ });
  t.throws(() => trainOneVsRest(x, 3, 2, Uint8Array.from([0, 1, 2, 0, 1, 0]), 2), { message: /y\[2\] = 2 is not 0 or 1/ });
  t.throws(() => trainSoftmax(x, 3, 2, Int32Array.from([0, 1, 0]), 2, { learningRate: -1 }), { message: /learningRate must be a finite number > 0/ });
  t.throws(() => trainSoftmax(x, 3, 2, Int32Array.from([0, 1, 0]), 2, { epochs: 0.5 }), LoupeError);
});
