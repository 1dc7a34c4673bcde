import t from 'tap';
import { ENGLISH } from './caption-en.template.js';
import { FRENCH } from './caption-fr.template.js';
import { writeCaption, type CaptionFacts, type CaptionTemplate } from './caption.template.js';

const NBSP = '\u00a0';

/** Facts whose references name the finding they stand for, so a test reads back what each phrase says. */
const facts: CaptionFacts<string> = {
  concept: { label: 'photograph', ref: 'classify#0' },
  objects: [
    { label: 'person', count: 2, ref: 'objects#0,1' },
    { label: 'horse', count: 1, ref: 'objects#2' },
  ],
  faces: { count: 1, ref: 'faces#0' },
  quotes: [
    { text: 'Shelf 14', ref: 'text#0' },
    { text: 'Item 203', ref: 'text#1' },
  ],
};

/** The caption with every phrase taken out: what is left must be the template's own words. */
function templateWords(text: string, phrases: readonly { text: string }[]): string[] {
  let rest = text;
  for (const p of phrases) {
    const at = rest.indexOf(p.text);
    if (at < 0) throw new Error(`phrase ${JSON.stringify(p.text)} is not in ${JSON.stringify(rest)}`);
    rest = `${rest.slice(0, at)} ${rest.slice(at + p.text.length)}`;
  }
  return rest.split(/[\s.,:;]+/u).filter((w) => w !== '');
}

t.test('English: concept, counted objects, faces and quoted text, each phrase tied to its findings', async (t) => {
  const out = writeCaption(facts, ENGLISH);
  t.equal(out.text, 'Photograph: two people and a horse. A face is visible. Text: “Shelf 14”; “Item 203”.');
  t.same(
    out.phrases.map((p) => [p.text, p.ref]),
    [
      ['Photograph', 'classify#0'],
      ['two people', 'objects#0,1'],
      ['a horse', 'objects#2'],
      ['A face', 'faces#0'],
      ['“Shelf 14”', 'text#0'],
      ['“Item 203”', 'text#1'],
    ],
  );
  t.same(templateWords(out.text, out.phrases), ['and', 'is', 'visible', 'Text'], 'every other word is the template’s');
});

t.test('French: articles by gender, plurals, typography', async (t) => {
  const out = writeCaption({ ...facts, concept: { label: 'photographie', ref: 'classify#0' }, faces: { count: 3, ref: 'faces#0-2' } }, FRENCH);
  t.equal(out.text, `Photographie${NBSP}: deux personnes et un cheval. Trois visages sont visibles. Texte${NBSP}: «${NBSP}Shelf 14${NBSP}»${NBSP}; «${NBSP}Item 203${NBSP}».`);
  t.same(templateWords(out.text, out.phrases), ['et', 'sont', 'visibles', 'Texte'], 'every other word is the template’s');
});

t.test('a caption without a concept starts with its first object; without anything it is empty', async (t) => {
  t.equal(writeCaption({ objects: [{ label: 'umbrella', count: 1, ref: 0 }], quotes: [] }, ENGLISH).text, 'An umbrella.');
  t.equal(writeCaption({ objects: [{ label: 'dog', count: 4, ref: 0 }, { label: 'cat', count: 1, ref: 1 }, { label: 'bird', count: 1, ref: 2 }], quotes: [] }, FRENCH).text, 'Quatre chiens, un chat et un oiseau.');
  t.equal(writeCaption({ concept: { label: 'map', ref: 0 }, objects: [], quotes: [] }, ENGLISH).text, 'Map.');
  const none = writeCaption({ objects: [], quotes: [] }, ENGLISH);
  t.same(none, { text: '', phrases: [] });
});

const counted = (lang: CaptionTemplate, cases: readonly (readonly [string, number, string])[]) => cases.map(([label, n]) => [label, n, lang.counted(label, n)]);

t.test('English numbers, articles and plurals', async (t) => {
  const cases = [
    ['person', 1, 'a person'],
    ['person', 3, 'three people'],
    ['umbrella', 1, 'an umbrella'],
    ['bus', 2, 'two buses'],
    ['wine glass', 2, 'two wine glasses'],
    ['knife', 10, 'ten knives'],
    ['book', 12, '12 books'],
    ['skis', 1, 'a pair of skis'],
    ['sheep', 5, 'five sheep'],
    ['tv', 1, 'a TV'],
  ] as const;
  t.same(counted(ENGLISH, cases), cases);
});

t.test('French numbers, genders and plurals; an unknown class keeps its name and a digit count', async (t) => {
  const cases = [
    ['person', 1, 'une personne'],
    ['dog', 1, 'un chien'],
    ['horse', 2, 'deux chevaux'],
    ['bird', 10, 'dix oiseaux'],
    ['book', 11, '11 livres'],
    ['scissors', 1, 'une paire de ciseaux'],
    ['teddy bear', 2, 'deux ours en peluche'],
    ['teapot', 2, `teapot${NBSP}×${NBSP}2`],
  ] as const;
  t.same(counted(FRENCH, cases), cases);
});
