import t from 'tap';
import { recognizerPool } from './recognizer-pool.js';

/** A recogniser that records its life; the pool's policy is what is under test, not the engine. */
function recorder() {
  const made: string[] = [];
  const closed: string[] = [];
  const create = (languages: readonly string[]) => {
    const key = languages.join('+');
    made.push(key);
    return { key, close: async () => void closed.push(key) };
  };
  return { made, closed, create };
}

t.test('a language set is made once and reused', async (t) => {
  const r = recorder();
  const pool = recognizerPool(r.create, 2);
  t.equal(pool.get(['fra']), pool.get(['fra']));
  t.same(r.made, ['fra']);
  await pool.close();
  t.same(r.closed, ['fra']);
});

t.test('past the bound the least recently used set is closed', async (t) => {
  const r = recorder();
  const pool = recognizerPool(r.create, 2);
  pool.get(['fra']);
  pool.get(['deu']);
  pool.get(['fra']); // fra is now the most recent
  pool.get(['lat']);
  t.same(pool.keys(), ['fra', 'lat']);
  t.same(r.closed, ['deu'], 'deu, the least recently used, was closed');
  for (const set of [['eng'], ['ita'], ['frk'], ['eng', 'fra'], ['fra', 'eng']]) pool.get(set);
  t.equal(pool.keys().length, 2, 'never more than the bound, however many sets callers name');
  await pool.close();
  t.same([...r.closed].sort(), [...r.made].sort(), 'every recogniser made is closed in the end');
});
