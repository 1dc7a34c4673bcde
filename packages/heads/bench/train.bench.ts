/**
 * How long training a head takes at the issue's scale: 100,000 embeddings of 512 dimensions in 20
 * classes. The data are Gaussian clusters around random unit centres, normalised back onto the
 * sphere; the noise (0.3 per coordinate) makes the clusters overlap, so that about one example in
 * ten is closer to another class's centre than its own and no classifier can be perfect. The
 * nearest-centre rule is (close to) the best possible for this generator: its accuracy on fresh
 * examples is the bar the heads are measured against.
 *
 *   node --import tsx --conditions=loupe-source packages/heads/bench/train.bench.ts [--n 100000] [--d 512] [--k 20] [--noise 0.3] [--no-cv]
 */
import { parseArgs } from 'node:util';
import { blobs, nearestCentreAccuracy } from '../src/blobs.test-support.js';
import { defaultEpochs, fitHead, logitsMany, TRAIN_DEFAULTS, trainSoftmax, type LinearWeights } from '../src/index.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    d: { type: 'string', default: '512' },
    k: { type: 'string', default: '20' },
    noise: { type: 'string', default: '0.3' },
    'no-cv': { type: 'boolean', default: false },
  },
});
const n = Number(values.n);
const d = Number(values.d);
const k = Number(values.k);
const noise = Number(values.noise);

const peakMiB = (): string => `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`;
const secondsSince = (t0: number): string => ((performance.now() - t0) / 1000).toFixed(2);

function accuracy(x: Float32Array, y: Int32Array, w: LinearWeights): number {
  const z = logitsMany(x, d, w.weights, w.bias, k);
  let right = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (z[i * k + c]! > z[i * k + best]!) best = c;
    if (best === y[i]) right++;
  }
  return right / y.length;
}

const sizes = (total: number): number[] => Array.from({ length: k }, (_, c) => Math.floor(total / k) + (c < total % k ? 1 : 0));

console.log(`node ${process.version}, ${n} examples x ${d} dims, ${k} classes, noise ${noise}`);
let t0 = performance.now();
const train = blobs({ d, sizes: sizes(n), noise, seed: 'bench' });
const test = blobs({ d, sizes: sizes(20_000), noise, seed: 'bench', sampleSeed: 'held-out' });
console.log(`generated in ${secondsSince(t0)} s; peak RSS ${peakMiB()}`);
console.log(`nearest true centre (the bar): held-out accuracy ${nearestCentreAccuracy(test, d).toFixed(4)}`);

const epochs = defaultEpochs(n);
t0 = performance.now();
const w = trainSoftmax(train.x, n, d, train.y, k);
console.log(
  `trainSoftmax (defaults: ${epochs} epochs, batch ${TRAIN_DEFAULTS.batchSize}, lr ${TRAIN_DEFAULTS.learningRate}, l2 ${TRAIN_DEFAULTS.l2}): ${secondsSince(t0)} s; ` +
    `train accuracy ${accuracy(train.x, train.y, w).toFixed(4)}, held-out ${accuracy(test.x, test.y, w).toFixed(4)}; peak RSS ${peakMiB()}`,
);

const vectors = Array.from({ length: n }, (_, i) => train.x.subarray(i * d, (i + 1) * d));
const concepts = Array.from({ length: k }, (_, c) => `http://example.org/class/${c}`);
// Classes given in index order, so the head's class c is the generator's class c.
const classes = concepts.map((concept) => ({ concept }));
const labels = Array.from(train.y, (c) => [concepts[c]!]);
const embedding = { model: 'synthetic', version: '1', dims: d };
for (const folds of values['no-cv'] ? [0] : [0, 5]) {
  t0 = performance.now();
  const { head, report } = fitHead({ vectors, labels, classes }, { id: 'bench', version: '1', embedding, folds });
  const heldOut = accuracy(test.x, test.y, { weights: head.weights, bias: head.bias });
  console.log(
    `fitHead ${folds === 0 ? 'without cross-validation' : `with ${folds}-fold cross-validation`}: ${secondsSince(t0)} s ` +
      `(cv ${report.seconds.crossValidation} s, calibration ${report.seconds.calibration} s, final ${report.seconds.final} s); ` +
      `${report.evaluation} accuracy ${report.accuracy.toFixed(4)}, macro F1 ${report.macro.f1.toFixed(4)}, held-out ${heldOut.toFixed(4)}; ` +
      `T ${report.calibration.temperature.toFixed(3)}, NLL ${report.calibration.nllBefore.toFixed(4)} -> ${report.calibration.nllAfter.toFixed(4)}, ` +
      `ECE ${report.calibration.eceBefore.toFixed(4)} -> ${report.calibration.eceAfter.toFixed(4)}; peak RSS ${peakMiB()}`,
  );
}
