import t from 'tap';
import { seededRandom } from '@loupe/datasets';
import { loadHead } from './artefact.js';
import { blobs } from './blobs.test-support.js';
import { closeToChance } from './chance.js';
import { fitHead } from './fit.js';
import { PACK_HEADS_DIR } from './pack.js';
import { zeroShotHead } from './zero-shot.js';

const concepts = ['https://example.org/a', 'https://example.org/b'];

/** A head fitted on 2-class blobs, with its labels as drawn or shuffled away from the vectors. */
function fitted(shuffled: boolean, sizes = [60, 60]): ReturnType<typeof fitHead>['head'] {
  const b = blobs({ d: 8, sizes, noise: 0.2, seed: 'chance' });
  const n = b.y.length;
  const y = Array.from(b.y);
  if (shuffled) {
    const random = seededRandom('shuffle');
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [y[i], y[j]] = [y[j]!, y[i]!];
    }
  }
  const { head } = fitHead(
    {
      vectors: Array.from({ length: n }, (_, i) => b.x.slice(i * 8, (i + 1) * 8)),
      labels: y.map((c) => [concepts[c]!]),
      classes: concepts.map((concept, i) => ({ concept, label: ['yes', 'no'][i]! })),
    },
    { id: 'toy', version: '1', embedding: { model: 'toy', version: '1', dims: 8 }, dataset: 'toy', seed: 'chance' },
  );
  return head;
}

t.test('a head whose labels are shuffled away from its vectors is said to be close to chance; a head that learned is not', async (t) => {
  t.equal(closeToChance(fitted(false)), undefined, 'separable blobs: nothing to say');
  const said = closeToChance(fitted(true));
  t.match(said, /^head toy version 1 is close to chance: cross-validated accuracy 0\.\d{3} on 120 images, where always answering "(yes|no)" scores 0\.500; read its labels as hints, not findings$/);
});

t.test('chance is the commonest class: a head that always answers it is close to chance however high its accuracy', async (t) => {
  const head = fitted(false);
  const metrics = head.metrics as { accuracy: number; accuracyImages: number; classes: { support: number }[] };
  const lopsided = { ...metrics, accuracy: 0.91, accuracyImages: 100, classes: [{ ...metrics.classes[0]!, support: 90 }, { ...metrics.classes[1]!, support: 10 }] };
  t.match(closeToChance({ ...head, metrics: lopsided }), /accuracy 0\.910 on 100 images, where always answering "(yes|no)" scores 0\.900/);
  t.equal(closeToChance({ ...head, metrics: { ...lopsided, accuracy: 0.96 } }), undefined, '0.96 closes 60 % of the gap from 0.90');
});

t.test('heads without a softmax evaluation are not judged', async (t) => {
  const zeroShot = zeroShotHead(
    concepts.map((concept) => ({ concept })),
    [new Float32Array([1, 0]), new Float32Array([0, 1])],
    { id: 'zs', version: '1', embedding: { model: 'clip', version: '1', dims: 2 } },
  );
  t.equal(closeToChance(zeroShot), undefined, 'zero-shot: no metrics');
  t.equal(closeToChance({ id: 'x', version: '1', metrics: { kind: 'sigmoid', accuracy: 0.1, accuracyImages: 10, classes: [{ concept: 'a', support: 10 }] } }), undefined, 'sigmoid');
  t.equal(closeToChance({ id: 'x', version: '1', metrics: { kind: 'softmax', accuracy: 0.5 } }), undefined, 'no classes');
});

t.test('the shipped watermark head says it is close to chance', async (t) => {
  const head = await loadHead(PACK_HEADS_DIR, 'watermark');
  t.match(closeToChance(head), /^head watermark version 1 is close to chance: cross-validated accuracy 0\.5\d\d on 360 images, where always answering "(no )?watermark" scores 0\.500/);
});
