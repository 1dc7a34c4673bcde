import t from 'tap';
import { decide, predict } from './head.js';
import { CLIP_LOGIT_SCALE, meanEmbedding, PROMPT_TEMPLATES, promptsFor, zeroShotHead } from './zero-shot.js';
import { gaussian, seededRandom } from '@loupe/datasets';

const unit = (v: Float32Array): Float32Array => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};

t.test('prompts put the label in every template, with a or an as the label needs', async (t) => {
  const prompts = promptsFor('map');
  t.equal(prompts.length, PROMPT_TEMPLATES.length);
  t.ok(prompts.includes('a photograph of a map.'));
  t.ok(prompts.includes('a map in a museum collection.'));
  t.ok(promptsFor('engraving').includes('a photograph of an engraving.'));
  t.ok(promptsFor('engraving').includes('an image of an engraving.'));
  t.ok(promptsFor(' coin ').every((p) => p.includes('coin') && !p.includes('{}') && !p.includes('  ') && !p.startsWith(' ')), 'trimmed, no placeholder left');
  t.throws(() => promptsFor('  '), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('meanEmbedding is the normalised mean of normalised vectors', async (t) => {
  const m = meanEmbedding([Float32Array.from([10, 0]), Float32Array.from([0, 0.1])]);
  t.ok(Math.abs(m[0]! - Math.SQRT1_2) < 1e-7 && Math.abs(m[1]! - Math.SQRT1_2) < 1e-7, 'lengths do not weigh');
  t.throws(() => meanEmbedding([]), { message: /no vectors/ });
  t.throws(() => meanEmbedding([Float32Array.from([1, 0]), Float32Array.from([1])]), { message: /vector 1 has 1 dimensions, vector 0 has 2/ });
  t.throws(() => meanEmbedding([Float32Array.from([0, 0])]), { message: /cannot be normalised/ });
});

t.test('a zero-shot head classifies vectors near each class embedding', async (t) => {
  const d = 64;
  const k = 4;
  const normal = gaussian(seededRandom('zero-shot'));
  const directions = Array.from({ length: k }, () => unit(Float32Array.from({ length: d }, () => normal())));
  // Each class embedding: the mean of a few "prompt" embeddings scattered around its direction.
  const classEmbeddings = directions.map((dir) => meanEmbedding(Array.from({ length: 5 }, () => dir.map((v) => v + 0.05 * normal()))));
  const classes = ['coin', 'map', 'painting', 'manuscript'].map((label) => ({ concept: `http://vocab.getty.edu/aat/${label}`, label }));
  const head = zeroShotHead(classes, classEmbeddings, { id: 'aat-zero-shot', version: '1', embedding: { model: 'clip-vit-b32', version: '1', dims: d } });
  t.equal(head.source, 'zero-shot');
  t.equal(head.kind, 'softmax');
  t.equal(head.temperature, 1);
  t.same(head.thresholds, [0.5, 0.5, 0.5, 0.5]);
  t.equal(head.targetPrecision, 0);
  const rowNorm = Math.hypot(...head.weights.subarray(0, d));
  t.ok(Math.abs(rowNorm - CLIP_LOGIT_SCALE) < 1e-3, `weights are logitScale x a unit vector (${rowNorm})`);
  let right = 0;
  const trials = 200;
  for (let i = 0; i < trials; i++) {
    const c = i % k;
    // An "image" embedding: nearer its class than any other, with as much noise as signal.
    const v = unit(directions[c]!.map((x) => 0.5 * x + 0.5 * (normal() / Math.sqrt(d))));
    const picks = decide(head, predict(head, v), { mode: 'top-k' }).picks;
    if (picks[0]!.index === c) right++;
  }
  t.ok(right / trials >= 0.95, `${right} of ${trials} right`);
  t.throws(() => zeroShotHead(classes, classEmbeddings.slice(1), { id: 'x', version: '1', embedding: { model: 'm', version: '1', dims: d } }), { message: /4 classes but 3 class embeddings/ });
  t.throws(() => zeroShotHead(classes, classEmbeddings, { id: 'X!', version: '1', embedding: { model: 'm', version: '1', dims: d } }), { message: /head id must be/ });
  t.throws(() => zeroShotHead(classes, classEmbeddings, { id: 'x', version: '1', embedding: { model: 'm', version: '1', dims: 32 } }), { message: /has 64 dimensions; m has 32/ });
});
