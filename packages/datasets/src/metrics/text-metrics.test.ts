import t from 'tap';
import { characterErrorRate, levenshtein, wordErrorRate } from './text-metrics.js';

t.test('characterErrorRate is edits over reference length', async (t) => {
  t.equal(characterErrorRate('abc', 'abc'), 0);
  t.equal(characterErrorRate('kitten', 'sitting'), 3 / 6, 'two substitutions and one insertion');
  t.equal(characterErrorRate('abcd', 'abd'), 1 / 4, 'one deletion');
  t.equal(characterErrorRate('ab', 'abcdef'), 4 / 2, 'insertions can push the rate past 1');
  t.equal(characterErrorRate('', ''), 0);
  t.equal(characterErrorRate('', 'x'), 1);
  t.equal(characterErrorRate('abc', ''), 1);
});

t.test('characterErrorRate ignores layout whitespace but not missing spaces', async (t) => {
  t.equal(characterErrorRate('  Anno  Domini\n1623 ', 'Anno Domini 1623'), 0, 'runs of spaces and line breaks are one space; ends are trimmed');
  t.equal(characterErrorRate('Anno Domini', 'AnnoDomini'), 1 / 11, 'a dropped word space is an error');
  t.equal(characterErrorRate('é', 'e'), 1, 'accents count');
  t.equal(characterErrorRate('a😀b', 'ab'), 1 / 3, 'an emoji is one character');
});

t.test('wordErrorRate counts whole words', async (t) => {
  t.equal(wordErrorRate('the cat sat on the mat', 'the cat sat on the mat'), 0);
  t.equal(wordErrorRate('the cat sat on the mat', 'the bat sat on mat'), 2 / 6, 'one substitution, one deletion');
  t.equal(wordErrorRate('Anno Domini 1623', 'AnnoDomini 1623'), 2 / 3, 'a merged pair is a substitution plus a deletion');
  t.equal(wordErrorRate('  ', ''), 0);
});

t.test('levenshtein works on any token arrays', async (t) => {
  t.equal(levenshtein([], ['a', 'b']), 2);
  t.equal(levenshtein(['a', 'b', 'c'], ['c', 'b', 'a']), 2);
});
