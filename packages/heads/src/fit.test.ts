import t from 'tap';
import { blobs } from './blobs.test-support.js';
import { fitHead, type FitInput } from './fit.js';
import { decide, predict } from './head.js';
import { gaussian, seededRandom } from '@loupe/datasets';

const embedding = { model: 'toy-embedding', version: '1', dims: 16 };
const concepts = ['http://vocab.getty.edu/aat/300033618', 'http://vocab.getty.edu/aat/300028094', 'http://vocab.getty.edu/aat/300046300'];

function singleLabelInput(sizes: number[], noise: number, seed: string): FitInput & { y: Int32Array } {
  const b = blobs({ d: 16, sizes, noise, seed });
  const n = b.y.length;
  return {
    vectors: Array.from({ length: n }, (_, i) => b.x.slice(i * 16, (i + 1) * 16)),
    labels: Array.from(b.y, (c) => [concepts[c]!]),
    ids: Array.from({ length: n }, (_, i) => `https://iiif.example.org/canvas/${seed}/${i}`),
    y: b.y,
  };
}

t.test('separable 3-class blobs in 16 dimensions: cross-validated accuracy of 0.98 or more', async (t) => {
  const input = singleLabelInput([60, 60, 60], 0.15, 'separable');
  const messages: string[] = [];
  const { head, report } = fitHead(
    { ...input, classes: concepts.map((concept, i) => ({ concept, label: ['painting', 'map', 'photograph'][i]! })) },
    { id: 'aat-type', version: '1', embedding, dataset: 'toy', seed: 'cv', onProgress: (m) => messages.push(m) },
  );
  t.ok(report.accuracy >= 0.98, `cross-validated accuracy ${report.accuracy}`);
  t.equal(report.evaluation, 'cross-validation');
  t.equal(report.folds, 5);
  t.equal(report.kind, 'softmax');
  t.equal(report.decision, 'top-1');
  t.equal(report.examples, 180);
  t.equal(report.images, 180, 'every example predicted once, out of fold');
  t.equal(report.accuracyImages, 180);
  t.same(report.classes.map((c) => [c.concept, c.label, c.support]), [...concepts].sort().map((c) => [c, ['painting', 'map', 'photograph'][concepts.indexOf(c)], 60]));
  t.equal(report.confusion.matrix.flat().reduce((a, b) => a + b, 0), 180);
  t.ok(report.classes.every((c) => c.precision >= 0.95 && c.recall >= 0.95));
  t.equal(report.calibration.examples, 36, 'a 20% validation split, stratified');
  t.ok(report.calibration.nllAfter <= report.calibration.nllBefore + 1e-12);
  t.same(report.calibration.thresholds.map((c) => c.concept), concepts);
  t.ok(messages.some((m) => m.startsWith('fold 5/5')) && messages.some((m) => m.startsWith('final head')), messages.join('\n'));

  t.equal(head.kind, 'softmax');
  t.equal(head.source, 'trained');
  t.same(head.classes.map((c) => c.concept), concepts, 'given classes keep their order');
  t.equal(head.weights.length, 3 * 16);
  t.equal(head.thresholds.length, 3);
  t.equal(head.temperature, report.calibration.temperature);
  t.same(head.trainedOn, { dataset: 'toy', examples: 180, seed: 'cv', perClass: Object.fromEntries(concepts.map((c) => [c, 60])) });
  t.equal(head.metrics, report);

  // The head answers for fresh examples of the same classes.
  const fresh = blobs({ d: 16, sizes: [20, 20, 20], noise: 0.15, seed: 'separable', sampleSeed: 'fresh' });
  let right = 0;
  for (let i = 0; i < 60; i++) {
    const decision = decide(head, predict(head, fresh.x.subarray(i * 16, (i + 1) * 16)), { mode: 'top-k' });
    if (decision.picks[0]!.concept === concepts[fresh.y[i]!]) right++;
  }
  t.ok(right >= 59, `${right} of 60 fresh examples right`);

  const again = fitHead(input, { id: 'aat-type', version: '1', embedding, seed: 'cv' });
  const same = fitHead(input, { id: 'aat-type', version: '1', embedding, seed: 'cv' });
  t.same(Buffer.from(again.head.weights.buffer), Buffer.from(same.head.weights.buffer), 'deterministic from the seed');
});

t.test('folds are capped by the smallest class; folds: 0 evaluates on the validation split', async (t) => {
  const input = singleLabelInput([40, 40, 3], 0.2, 'capped');
  const { report } = fitHead(input, { id: 'capped', version: '1', embedding, folds: 10 });
  t.equal(report.folds, 3, 'the rarest class has 3 examples');
  t.equal(report.images, 83);
  const quick = fitHead(input, { id: 'capped', version: '1', embedding, folds: 0 });
  t.equal(quick.report.evaluation, 'validation');
  t.equal(quick.report.folds, 0);
  t.equal(quick.report.images, quick.report.calibration.examples);
});

t.test('multi-label examples give a one-vs-rest head; the report counts p >= 0.5', async (t) => {
  const d = 16;
  const k = 3;
  const random = seededRandom('multi');
  const normal = gaussian(random);
  const centres = Array.from({ length: k }, () => Float32Array.from({ length: d }, () => normal() / Math.sqrt(d)));
  const vectors: Float32Array[] = [];
  const labels: string[][] = [];
  for (let i = 0; i < 300; i++) {
    const has = centres.map((_, c) => (i % 7 === c ? true : random() < 0.35));
    const v = Float32Array.from({ length: d }, (_, j) => 0.08 * normal() + has.reduce((s, on, c) => s + (on ? centres[c]![j]! : 0), 0));
    vectors.push(v);
    labels.push(concepts.filter((_, c) => has[c]));
  }
  const { head, report } = fitHead({ vectors, labels }, { id: 'multi', version: '2', embedding, targetPrecision: 0.95 });
  t.equal(head.kind, 'sigmoid');
  t.equal(report.kind, 'sigmoid');
  t.equal(report.decision, 'p >= 0.5');
  t.equal(report.threshold, 0.5);
  t.ok(report.micro.f1 >= 0.95, `micro F1 ${report.micro.f1.toFixed(3)}`);
  t.same(head.classes.map((c) => c.concept), [...concepts].sort(), 'classes default to the sorted concepts');
  for (const c of report.calibration.thresholds) {
    t.ok(!c.reached || c.precision >= 0.95, `${c.concept}: threshold ${c.threshold.toFixed(3)}, precision ${c.precision.toFixed(3)}, recall ${c.recall.toFixed(3)}`);
  }
  t.equal(head.targetPrecision, 0.95);
  // An example with no label at all is a negative for every class.
  t.doesNotThrow(() => fitHead({ vectors: [...vectors, new Float32Array(d)], labels: [...labels, []] }, { id: 'multi', version: '3', embedding, folds: 0 }));
});

t.test('inputs that cannot make a head are refused with what is wrong', async (t) => {
  const input = singleLabelInput([5, 5, 5], 0.2, 'refused');
  const opts = { id: 'refused', version: '1', embedding };
  t.throws(() => fitHead({ ...input, labels: input.labels.map((l, i) => (i === 0 ? ['http://ex.org/other'] : l)) }, { ...opts, classes: undefined } as never), {
    code: 'LOUPE_ERR_VALIDATION',
    message: /too few: http:\/\/ex.org\/other \(1\)/,
  });
  t.throws(() => fitHead({ ...input, classes: concepts.slice(0, 2).map((concept) => ({ concept })) }, opts), { message: /has the concept http:\/\/vocab.getty.edu\/aat\/300046300, which is not one of the head's classes/ });
  t.throws(() => fitHead({ ...input, vectors: input.vectors.map((v, i) => (i === 3 ? v.slice(0, 8) : v)) }, opts), { message: /vector https:\/\/iiif.example.org\/canvas\/refused\/3 has 8 dimensions; toy-embedding has 16/ });
  t.throws(() => fitHead({ ...input, labels: input.labels.map((l, i) => (i === 2 ? [...l, concepts[0]!] : l)) }, { ...opts, kind: 'softmax' }), { message: /exactly one label per example; example https:\/\/iiif.example.org\/canvas\/refused\/2 has 2/ });
  t.throws(() => fitHead(input, { ...opts, id: '../escape' }), { message: /head id must be/ });
  t.throws(() => fitHead(input, { ...opts, folds: 1 }), { message: /folds must be 0 \(none\) or a whole number >= 2/ });
  t.throws(() => fitHead(input, { ...opts, validation: 1 }), { message: /validation must be a share between 0 and 1/ });
  t.throws(() => fitHead({ vectors: input.vectors.slice(0, 3), labels: input.labels.slice(0, 2) }, opts), { message: /3 vectors but 2 label lists/ });
});
