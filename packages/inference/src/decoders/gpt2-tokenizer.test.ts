import t from 'tap';
import { BYTE_CHARS_IN_VOCAB_ORDER, parseTokenizer } from './byte-level-bpe.js';
import { Gpt2Tokenizer } from './gpt2-tokenizer.js';

/** GPT-2's layout: the 256 byte characters first (so "!" is 0 and "Ġ", the space, is 220), then merges, then <|endoftext|>. */
const MERGES: [string, string][] = [
  ['Ġ', 'h'],
  ['o', 'r'],
  ['Ġh', 'or'],
  ['s', 'e'],
  ['Ġhor', 'se'],
];
const vocab: Record<string, number> = {};
[...BYTE_CHARS_IN_VOCAB_ORDER, ...MERGES.map(([a, b]) => a + b)].forEach((tok, id) => (vocab[tok] = id));
vocab['<|endoftext|>'] = 50256;
const tokenizer = new Gpt2Tokenizer(parseTokenizer({ vocabJson: JSON.stringify(vocab), mergesTxt: MERGES.map((m) => m.join(' ')).join('\n') }));

t.test('the byte characters are numbered as in GPT-2', async (t) => {
  t.equal(vocab['!'], 0);
  t.equal(vocab['Ġ'], 220, 'the space byte, shown as U+0120');
  t.equal(tokenizer.tokenId('<|endoftext|>'), 50256);
});

t.test('decoding joins the bytes of all tokens before reading UTF-8', async (t) => {
  // "é" is C3 A9, shown as "Ã" and "©"; as two separate tokens it still decodes to one character.
  t.equal(tokenizer.decode([vocab['c']!, vocab['a']!, vocab['f']!, vocab['Ã']!, vocab['©']!]), 'café');
  t.equal(tokenizer.decode([vocab['a']!, vocab['Ġhorse']!, 50256]), 'a horse', 'the end token is not printed');
  t.equal(tokenizer.decode([vocab['a']!, 50256], { skipSpecialTokens: false }), 'a<|endoftext|>');
  t.equal(tokenizer.decode([vocab['Ã']!]), '\uFFFD', 'half a character reads as the replacement character');
  t.equal(tokenizer.decode([999_999]), '', 'an id outside the vocabulary is skipped');
});

t.test('encoding splits before spaces and applies merges by rank', async (t) => {
  t.same(tokenizer.encode(' horse'), [vocab['Ġhorse']]);
  t.same(tokenizer.encode('a horses'), [vocab['a'], vocab['Ġhorse'], vocab['s']]);
  t.same(tokenizer.encode('hor'), [vocab['h'], vocab['or']], 'without the space "Ġh or" cannot apply');
  for (const text of ['A horse in a field.', "it's 2024, café ☕", '  two  spaces ']) {
    t.equal(tokenizer.decode(tokenizer.encode(text)), text, `round trip: ${JSON.stringify(text)}`);
  }
});

t.test('tokenizer.json: its special added tokens are not printed', async (t) => {
  const json = JSON.stringify({
    model: { type: 'BPE', vocab: { a: 0, 'Ġb': 1 }, merges: [] },
    added_tokens: [
      { id: 2, content: '<|endoftext|>', special: true },
      { id: 3, content: '<pad>', special: true },
      { id: 4, content: 'xyz', special: false },
    ],
  });
  const tok = new Gpt2Tokenizer(parseTokenizer({ tokenizerJson: json }));
  t.equal(tok.decode([3, 0, 1, 4, 2]), 'a bxyz');
});
