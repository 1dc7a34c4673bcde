import t from 'tap';
import { expectedCalibrationError, fitTemperature, negativeLogLikelihood, probabilities, thresholdsForPrecision } from './calibrate.js';
import { sigmoid } from './head.js';
import { gaussian, seededRandom } from '@loupe/datasets';

/** Labels drawn from the model itself: under the true logits the model is calibrated by construction. */
function drawnSoftmax(n: number, k: number, seed: string): { logits: Float32Array; y: Int32Array } {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const logits = new Float32Array(n * k);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    const p = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      logits[i * k + c] = 2 * normal();
      p[c] = Math.exp(logits[i * k + c]!);
      sum += p[c]!;
    }
    let r = random() * sum;
    let c = 0;
    while (c < k - 1 && (r -= p[c]!) > 0) c++;
    y[i] = c;
  }
  return { logits, y };
}

t.test('temperature scaling recovers the temperature of deliberately over-confident logits', async (t) => {
  const n = 6000;
  const k = 5;
  const { logits, y } = drawnSoftmax(n, k, 'temperature');
  const overconfident = logits.map((z) => 3 * z);
  const T = fitTemperature(overconfident, n, k, y, 'softmax');
  t.ok(Math.abs(T - 3) / 3 < 0.1, `softmax: fitted T = ${T.toFixed(3)}, expected 3 +- 10%`);
  const before = negativeLogLikelihood(overconfident, n, k, y, 'softmax');
  const after = negativeLogLikelihood(overconfident, n, k, y, 'softmax', T);
  t.ok(after < before - 0.1, `NLL ${before.toFixed(4)} -> ${after.toFixed(4)}`);
  t.ok(after <= negativeLogLikelihood(overconfident, n, k, y, 'softmax', 3) + 1e-9, 'no worse than the true temperature on these examples');
  const eceBefore = expectedCalibrationError(probabilities(overconfident, n, k, 'softmax'), n, k, y, 'softmax');
  const eceAfter = expectedCalibrationError(probabilities(overconfident, n, k, 'softmax', T), n, k, y, 'softmax');
  t.ok(eceAfter < eceBefore / 2, `ECE ${eceBefore.toFixed(4)} -> ${eceAfter.toFixed(4)}`);

  // Under-confident logits (a third of the truth) give T near 1/3.
  const shy = logits.map((z) => z / 3);
  const Tshy = fitTemperature(shy, n, k, y, 'softmax');
  t.ok(Math.abs(Tshy - 1 / 3) / (1 / 3) < 0.1, `under-confident: T = ${Tshy.toFixed(3)}`);
});

t.test('temperature scaling of sigmoid logits', async (t) => {
  const n = 3000;
  const k = 4;
  const random = seededRandom('sigmoid-temperature');
  const normal = gaussian(random);
  const logits = new Float32Array(n * k);
  const y = new Uint8Array(n * k);
  for (let q = 0; q < n * k; q++) {
    const z = 2 * normal();
    y[q] = random() < sigmoid(z) ? 1 : 0;
    logits[q] = 3 * z;
  }
  const T = fitTemperature(logits, n, k, y, 'sigmoid');
  t.ok(Math.abs(T - 3) / 3 < 0.1, `sigmoid: fitted T = ${T.toFixed(3)}`);
  t.ok(negativeLogLikelihood(logits, n, k, y, 'sigmoid', T) < negativeLogLikelihood(logits, n, k, y, 'sigmoid'));
});

t.test('perfectly separated examples: the prior keeps T off the bound that plain likelihood runs to', async (t) => {
  const n = 30;
  const k = 3;
  const y = Int32Array.from({ length: n }, (_, i) => i % k);
  const logits = new Float32Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) logits[i * k + c] = c === y[i] ? 2 + (i % 5) / 5 : -1;
  const mle = fitTemperature(logits, n, k, y, 'softmax', { priorWidth: Infinity });
  t.ok(mle < 0.051, `maximum likelihood: T = ${mle.toFixed(4)}, the lower bound`);
  const T = fitTemperature(logits, n, k, y, 'softmax');
  t.ok(T > 0.2 && T < 1, `with the prior: T = ${T.toFixed(3)}, sharper than 1 but not saturated`);
  const p = probabilities(logits, n, k, 'softmax', T);
  t.ok(p.every((v) => v > 1e-6 && v < 1 - 1e-6), 'no probability is pinned to 0 or 1');
});

t.test('flat logits leave the temperature at 1', async (t) => {
  t.equal(fitTemperature(new Float32Array(12), 4, 3, Int32Array.from([0, 1, 2, 0]), 'softmax'), 1);
});

t.test('thresholds for a target precision, computed by hand', async (t) => {
  const f = Math.fround;
  // Three sigmoid classes over six examples (rows are examples).
  //   class 0: scores .9 .8 .7 .6 .5 .4, labels 1 1 0 1 0 0
  //     precision by threshold: .9 1/1, .8 2/2, .7 2/3, .6 3/4, .5 3/5, .4 3/6
  //   class 1: scores .9 .8 .3 (others .1), positive only at .3: 1/3 at best
  //   class 2: no positive example
  const s0 = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
  const y0 = [1, 1, 0, 1, 0, 0];
  const s1 = [0.9, 0.8, 0.3, 0.1, 0.1, 0.1];
  const y1 = [0, 0, 1, 0, 0, 0];
  const probs = new Float32Array(18);
  const y = new Uint8Array(18);
  for (let i = 0; i < 6; i++) {
    probs[i * 3] = s0[i]!;
    probs[i * 3 + 1] = s1[i]!;
    probs[i * 3 + 2] = 0.5;
    y[i * 3] = y0[i]!;
    y[i * 3 + 1] = y1[i]!;
  }
  const at75 = thresholdsForPrecision(probs, 6, 3, y, 'sigmoid', 0.75);
  t.same(at75.thresholds, [(f(0.6) + f(0.5)) / 2, (f(0.3) + f(0.1)) / 2, 1], 'class 0: the lowest cut with precision >= .75 takes down to .6 (3/4), not .8; the threshold sits midway to .5');
  t.same(at75.reached, [true, false, false]);
  t.same(at75.precision, [0.75, 1 / 3, 0]);
  t.same(at75.recall, [1, 1, 0]);
  // Class 1 falls back to its best F1: at .3, 2*1/(3+1) = .5 beats .8 (0) and .9 (0) and .1 (2/7).
  const at100 = thresholdsForPrecision(probs, 6, 3, y, 'sigmoid', 1);
  t.equal(at100.thresholds[0], (f(0.8) + f(0.7)) / 2, 'precision 1: down to .8 (2/2)');
  t.equal(at100.recall[0], 2 / 3);

  // Ties are never split: at .7 both tied examples are taken (1 of 2 right).
  const tied = thresholdsForPrecision(Float32Array.from([0.7, 0.7, 0.5]), 3, 1, Uint8Array.from([1, 0, 1]), 'sigmoid', 0.9);
  t.same(tied.thresholds, [f(0.5)], 'precision .9 is out of reach; taking all (down to .5) has the best F1 (.8), and nothing lies below');
  t.same(tied.reached, [false]);

  // Softmax labels are class indices: class 1 is right at .8 and .6, wrong at .7.
  const soft = Float32Array.from([0.2, 0.8, 0.3, 0.7, 0.4, 0.6, 0.9, 0.1]);
  const choice = thresholdsForPrecision(soft, 4, 2, Int32Array.from([1, 0, 1, 0]), 'softmax', 0.6);
  t.same(choice.thresholds, [(f(0.3) + f(0.2)) / 2, (f(0.6) + f(0.1)) / 2], 'class 0: down to .3 takes 3 with 2 right (.67); class 1: down to .6 takes 3 with 2 right');
  t.same(choice.reached, [true, true]);
});

t.test('calibration inputs are checked', async (t) => {
  t.throws(() => fitTemperature(new Float32Array(6), 3, 2, new Uint8Array(6), 'softmax'), { code: 'LOUPE_ERR_VALIDATION', message: /softmax labels are an Int32Array/ });
  t.throws(() => fitTemperature(new Float32Array(5), 3, 2, new Int32Array(3), 'softmax'), { message: /expected n x k = 6 values, got 5/ });
  t.throws(() => thresholdsForPrecision(new Float32Array(4), 2, 2, Int32Array.from([0, 3]), 'softmax', 0.9), { message: /label 1 is 3/ });
  t.throws(() => thresholdsForPrecision(new Float32Array(4), 2, 2, Int32Array.from([0, 1]), 'softmax', 1.5), { message: /target precision must be in \(0, 1\]/ });
});
