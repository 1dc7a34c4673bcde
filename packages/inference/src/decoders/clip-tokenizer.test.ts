import { join } from 'node:path';
import t from 'tap';
import { BYTE_CHARS_IN_VOCAB_ORDER, parseTokenizer, readTokenizerFiles } from './byte-level-bpe.js';
import { ClipTokenizer, clipPreTokenize } from './clip-tokenizer.js';

/**
 * A vocabulary laid out as CLIP's: the 256 byte characters, the same with </w>, one token per
 * merge in merge order, then the two special tokens (49406 and 49407 in the real one). The first
 * merges are CLIP's own ("th e</w>" is its 7th, so "the" is 518 as in real CLIP); the rest are
 * made up so that the words below come out whole.
 */
const MERGES: [string, string][] = [
  ['i', 'n'],
  ['t', 'h'],
  ['a', 'n'],
  ['r', 'e'],
  ['a', 'r'],
  ['e', 'r'],
  ['th', 'e</w>'],
  ['o', 'f</w>'], // 519
  ['c', 'a'], // 520
  ['ca', 't</w>'], // 521
  ['p', 'h'], // 522
  ['o', 't'], // 523
  ['ph', 'ot'], // 524
  ['phot', 'o</w>'], // 525
];

function clipVocab(): Record<string, number> {
  const vocab: Record<string, number> = {};
  const tokens = [...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`), ...MERGES.map(([a, b]) => a + b)];
  tokens.forEach((token, id) => (vocab[token] = id));
  vocab['<|startoftext|>'] = 49406;
  vocab['<|endoftext|>'] = 49407;
  return vocab;
}

const vocabJson = JSON.stringify(clipVocab());
const mergesTxt = `#version: 0.2\n${MERGES.map((m) => m.join(' ')).join('\n')}\n`;
const tokenizer = new ClipTokenizer(parseTokenizer({ vocabJson, mergesTxt }));

t.test('CLIP splits on its regex after lowercasing and collapsing whitespace', async (t) => {
  t.same(clipPreTokenize('  A   Photo\tof a CAT!  '), ['a', 'photo', 'of', 'a', 'cat', '!']);
  t.same(clipPreTokenize("It's 2024 — OK?!"), ['it', "'s", '2', '0', '2', '4', '—', 'ok', '?!'], 'contractions split off, digits one by one, symbol runs kept');
  t.same(clipPreTokenize('<|startoftext|>x<|endoftext|>'), ['<|startoftext|>', 'x', '<|endoftext|>']);
  t.same(clipPreTokenize('café'), ['café']);
});

t.test('"a photo of a cat" encodes to start, merged words, end and end-token padding', async (t) => {
  const { ids, attentionMask } = tokenizer.encode('a photo of a cat');
  t.equal(ids.length, 77);
  t.same(ids.slice(0, 7), [49406, 320, 525, 519, 320, 521, 49407], '"a" is byte 97 with </w>: 256 + 64 = 320, as in real CLIP');
  t.ok(ids.slice(7).every((id) => id === 49407), 'padded with the end token, as the Hugging Face exports pad');
  t.same(attentionMask.slice(0, 8), [1, 1, 1, 1, 1, 1, 1, 0]);
  t.equal(attentionMask.reduce((a, b) => a + b, 0), 7);
  t.same(tokenizer.encode('A  Photo of a CAT').ids, ids, 'case and extra spaces do not change the tokens');
  t.same(tokenizer.tokenize('the'), [518], 'CLIP\'s first seven merges make "the" one token, 518');
});

t.test('merges apply by rank and only inside one word', async (t) => {
  // "photo": p h o t o</w> -> (p h) -> (o t) -> (ph ot) -> (phot o</w>), whatever their order of appearance.
  t.same(tokenizer.tokenize('photo'), [525]);
  // "cats": the word ends in s</w>, so "ca t</w>" cannot apply: c a t s</w> -> ca t s</w>.
  t.same(tokenizer.tokenize('cats'), [520, BYTE_CHARS_IN_VOCAB_ORDER.indexOf('t'), 256 + BYTE_CHARS_IN_VOCAB_ORDER.indexOf('s')]);
  // "é" is two UTF-8 bytes, C3 A9, shown as "Ã" (byte 195: the 128th byte character) and "©</w>" (byte 169: 256 + 102).
  t.same(tokenizer.tokenize('é'), [127, 358]);
  t.same(tokenizer.tokenize('!?'), [BYTE_CHARS_IN_VOCAB_ORDER.indexOf('!'), 256 + BYTE_CHARS_IN_VOCAB_ORDER.indexOf('?')]);
  t.same(tokenizer.tokenize(''), []);
});

t.test('long texts keep their first tokens and still end with the end token', async (t) => {
  const { ids, attentionMask } = tokenizer.encode(Array.from({ length: 100 }, () => 'a').join(' '));
  t.equal(ids.length, 77);
  t.equal(ids[0], 49406);
  t.ok(ids.slice(1, 76).every((id) => id === 320), '75 text tokens');
  t.equal(ids[76], 49407);
  t.ok(attentionMask.every((m) => m === 1));

  const short = new ClipTokenizer(parseTokenizer({ vocabJson, mergesTxt }), { contextLength: 4, padId: 0 });
  t.same(short.encode('a cat of').ids, [49406, 320, 521, 49407]);
  t.same(short.encode('a').ids, [49406, 320, 49407, 0], 'OpenAI-style zero padding when asked');
});

t.test('tokenizer.json (Xenova exports) gives the same ids as vocab.json + merges.txt, in both merge formats', async (t) => {
  const vocab = clipVocab();
  delete vocab['<|startoftext|>'];
  delete vocab['<|endoftext|>'];
  const added = [
    { id: 49406, content: '<|startoftext|>', special: true },
    { id: 49407, content: '<|endoftext|>', special: true },
  ];
  for (const merges of [MERGES.map((m) => m.join(' ')), MERGES]) {
    const json = JSON.stringify({ model: { type: 'BPE', vocab, merges, end_of_word_suffix: '</w>' }, added_tokens: added });
    const fromJson = new ClipTokenizer(parseTokenizer({ tokenizerJson: json }));
    t.same(fromJson.encode('a photo of the cat').ids, tokenizer.encode('a photo of the cat').ids);
  }
});

t.test('tokenizer files are read from disk, and broken ones fail as model load errors', async (t) => {
  const dir = t.testdir({ 'vocab.json': vocabJson, 'merges.txt': mergesTxt, 'bad.json': '{"model": {"type": "WordPiece", "vocab": {}}}', 'torn.json': '{' });
  const fromFiles = new ClipTokenizer(await readTokenizerFiles({ vocab: join(dir, 'vocab.json'), merges: join(dir, 'merges.txt') }));
  t.same(fromFiles.encode('a cat').ids.slice(0, 4), [49406, 320, 521, 49407]);
  await t.rejects(readTokenizerFiles({ tokenizer: join(dir, 'bad.json') }), { code: 'LOUPE_ERR_MODEL_LOAD', message: /not describe a BPE model/ });
  await t.rejects(readTokenizerFiles({ tokenizer: join(dir, 'torn.json') }), { code: 'LOUPE_ERR_MODEL_LOAD', message: /not valid JSON/ });
  await t.rejects(readTokenizerFiles({ tokenizer: join(dir, 'absent.json') }), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED' });
  t.throws(() => new ClipTokenizer(parseTokenizer({ vocabJson: '{"a": 0}', mergesTxt: '' })), { code: 'LOUPE_ERR_MODEL_LOAD', message: /<\|startoftext\|>/ });
});
