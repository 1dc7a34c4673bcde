import { LoupeError, languageTag, type Finding, type ResultSet } from '@loupe/contracts';
import { ENGLISH } from './caption-en.template.js';
import { FRENCH } from './caption-fr.template.js';
import { writeCaption, type CaptionFacts, type CaptionLanguage, type CaptionSource, type CaptionTemplate, type ComposedCaption } from './caption.template.js';

export const TEMPLATES: Readonly<Record<CaptionLanguage, CaptionTemplate>> = { en: ENGLISH, fr: FRENCH };

/** A caption names at most this many kinds of object (the most numerous): a caption, not an inventory. */
export const MAX_OBJECT_KINDS = 5;
/** Lines of text quoted, in reading order, each cut to about this many characters. */
export const MAX_QUOTES = 3;
export const QUOTE_CHARS = 40;

const isCaptionLanguage = (tag: string): tag is CaptionLanguage => Object.hasOwn(TEMPLATES, tag);
/** `fr`, `fr-CA`, `fra` -> `fr`; undefined for a language without templates. */
const templateLanguage = (code: string): CaptionLanguage | undefined => {
  const primary = (languageTag(code.toLowerCase()) ?? code.toLowerCase()).split('-')[0]!;
  return isCaptionLanguage(primary) ? primary : undefined;
};

/**
 * The caption's language: the one asked for (a job option; an unknown one is refused rather than
 * answered in another language), else the first of the manifest's languages that has templates,
 * else English.
 */
export function captionLanguage(asked: string | undefined, manifest: readonly string[] = []): CaptionLanguage {
  if (asked !== undefined) {
    const chosen = templateLanguage(asked);
    if (!chosen) throw new LoupeError('LOUPE_ERR_VALIDATION', `No caption templates for language ${JSON.stringify(asked)}; Loupe has ${Object.keys(TEMPLATES).join(', ')}`, { details: { language: asked, languages: Object.keys(TEMPLATES) } });
    return chosen;
  }
  for (const code of manifest) {
    const chosen = templateLanguage(code);
    if (chosen) return chosen;
  }
  return 'en';
}

/** A line's first words, cut at a word boundary near `max` characters with an ellipsis. */
export function snippet(text: string, max = QUOTE_CHARS): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  if ([...flat].length <= max) return flat;
  const cut = [...flat].slice(0, max).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space >= max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/u, '')}…`;
}

/** A finding with where it is: the references a caption keeps. */
interface Located {
  readonly finding: Finding;
  readonly source: CaptionSource;
}

function located(sets: readonly ResultSet[]): Located[] {
  return sets.flatMap((set) => set.findings.map((finding, i) => ({ finding, source: { stage: set.stage, model: set.model.id, finding: i } })));
}

const isFace = (l: Located): boolean => l.source.stage === 'detect.faces' || l.finding.label === 'face';

/** What the caption may say, from the findings: each fact with the findings it rests on. */
function factsOf(found: readonly Located[], conceptLabel: string | undefined, best: Located | undefined): CaptionFacts<readonly Located[]> {
  const tags = found.filter((l) => l.finding.motivation === 'tagging' && l.finding.label !== undefined);
  const byLabel = new Map<string, Located[]>();
  for (const l of tags.filter((t) => !isFace(t))) byLabel.set(l.finding.label!, [...(byLabel.get(l.finding.label!) ?? []), l]);
  const topScore = (ls: readonly Located[]) => Math.max(...ls.map((l) => l.finding.confidence));
  // The most numerous first, then the surest: "two people and a horse".
  const objects = [...byLabel.entries()]
    .sort(([a, as], [b, bs]) => bs.length - as.length || topScore(bs) - topScore(as) || a.localeCompare(b))
    .slice(0, MAX_OBJECT_KINDS)
    .map(([label, ls]) => ({ label, count: ls.length, ref: ls }));
  const faces = tags.filter(isFace);
  const lines = found.filter((l) => l.finding.motivation === 'supplementing' && l.finding.granularity !== 'word' && (l.finding.text ?? '').trim() !== '');
  return {
    ...(best && conceptLabel !== undefined && { concept: { label: conceptLabel, ref: [best] } }),
    objects,
    ...(faces.length > 0 && { faces: { count: faces.length, ref: faces } }),
    quotes: lines.slice(0, MAX_QUOTES).map((l) => ({ text: snippet(l.finding.text!), ref: [l] })),
  };
}

/** A concept's preferred label in a language, when the vocabulary that holds it has one. */
export type ConceptLabel = (concept: string, language: CaptionLanguage) => Promise<string | undefined>;

export interface Composed {
  readonly caption: ComposedCaption;
  /** As sure as its least sure phrase. */
  readonly confidence: number;
}

/**
 * A caption of one canvas from what the other models found on it, or undefined when they found
 * nothing to say. The surest classification names the concept, in the caption's language when its
 * vocabulary has a label in it, else under the label the classifier gave.
 */
export async function composeCaption(sets: readonly ResultSet[], language: CaptionLanguage, conceptLabel?: ConceptLabel): Promise<Composed | undefined> {
  const found = located(sets.filter((s) => s.stage !== 'caption'));
  const concepts = found.filter((l) => l.finding.motivation === 'classifying' && l.finding.concept !== undefined);
  const best = concepts.reduce<Located | undefined>((a, b) => (a && a.finding.confidence >= b.finding.confidence ? a : b), undefined);
  const label = best && ((await conceptLabel?.(best.finding.concept!, language)) ?? best.finding.label);
  const facts = factsOf(found, label, best);
  const written = writeCaption(facts, TEMPLATES[language]);
  if (written.phrases.length === 0) return undefined;
  const phrases = written.phrases.map((p) => ({ text: p.text, from: p.ref.map((l) => l.source) }));
  const used = written.phrases.flatMap((p) => p.ref);
  return {
    caption: { text: written.text, language, phrases, derivedFrom: used.map((l) => l.source) },
    confidence: Math.min(...used.map((l) => l.finding.confidence)),
  };
}
