import type { CaptionTemplate } from './caption.template.js';

const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** Nouns English does not make by rule, among COCO's class names as the detectors give them. */
const IRREGULAR: Record<string, { one: string; many: string }> = {
  person: { one: 'person', many: 'people' },
  mouse: { one: 'mouse', many: 'mice' },
  knife: { one: 'knife', many: 'knives' },
  sheep: { one: 'sheep', many: 'sheep' },
  skis: { one: 'pair of skis', many: 'pairs of skis' },
  scissors: { one: 'pair of scissors', many: 'pairs of scissors' },
  broccoli: { one: 'head of broccoli', many: 'heads of broccoli' },
  tv: { one: 'TV', many: 'TVs' },
};

function plural(noun: string): string {
  if (/(s|sh|ch|x|z)$/u.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/u.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

export const ENGLISH: CaptionTemplate = {
  language: 'en',
  counted(label, count) {
    const noun = IRREGULAR[label] ?? { one: label, many: plural(label) };
    if (count === 1) return `${/^[aeiou]/iu.test(noun.one) ? 'an' : 'a'} ${noun.one}`;
    return `${NUMBERS[count] ?? String(count)} ${noun.many}`;
  },
  and: 'and',
  conceptThen: ': ',
  facesVisible: (count) => (count === 1 ? ' is visible.' : ' are visible.'),
  textIntro: 'Text: ',
  quoteSeparator: '; ',
  quoteMarks: ['“', '”'],
};
