import t from 'tap';
import { ctcGreedy } from './ppocr-recognizer.js';

t.test('CTC greedy decoding merges repeats, drops blanks and averages kept probabilities', async (t) => {
  const classes = ['', 'a', 'b', ' '];
  // Steps: a(0.9) a(0.7) blank a(0.8) b(0.6) space(0.5) -> "aab " ; kept 0.9, 0.8, 0.6, 0.5.
  const best = [[1, 0.9], [1, 0.7], [0, 0.9], [1, 0.8], [2, 0.6], [3, 0.5]] as const;
  const probs = new Float32Array(best.length * classes.length);
  best.forEach(([k, p], step) => {
    for (let c = 0; c < classes.length; c++) probs[step * classes.length + c] = c === k ? p : (1 - p) / (classes.length - 1);
  });
  const out = ctcGreedy(probs, 0, best.length, classes);
  t.equal(out.text, 'aab ');
  t.ok(Math.abs(out.confidence - (0.9 + 0.8 + 0.6 + 0.5) / 4) < 1e-6);
  t.same(
    out.chars.map((c) => [c.text, c.start, c.end]),
    [['a', 0, 2], ['a', 3, 4], ['b', 4, 5], [' ', 5, 6]],
    'each character spans the steps of its run, from its first step to just after its last',
  );
  t.same(ctcGreedy(new Float32Array([1, 0, 0, 0]), 0, 1, classes), { text: '', confidence: 0, chars: [] }, 'all blank');
});
