import type { SERVICE_APIS } from '@loupe/contracts';
import type { Static } from '@sinclair/typebox';

export type ComposedCaption = Exclude<Static<typeof SERVICE_APIS.caption.compose.output>['caption'], null>;
export type CaptionSource = ComposedCaption['derivedFrom'][number];
/** The languages a caption is written in: each has a template. */
export type CaptionLanguage = ComposedCaption['language'];

/**
 * What a caption may say, each fact holding the reference of the findings it came from. Templates
 * see only these: they cannot say anything the findings did not.
 */
export interface CaptionFacts<R> {
  readonly concept?: { readonly label: string; readonly ref: R };
  /** One entry per kind of object, in the order the caption names them. */
  readonly objects: readonly { readonly label: string; readonly count: number; readonly ref: R }[];
  readonly faces?: { readonly count: number; readonly ref: R };
  /** Text read on the canvas, already cut to a snippet. */
  readonly quotes: readonly { readonly text: string; readonly ref: R }[];
}

/** A caption as written: its text, and each phrase in it with the fact it says. */
export interface WrittenCaption<R> {
  readonly text: string;
  readonly phrases: readonly { readonly text: string; readonly ref: R }[];
}

/**
 * One language's words and grammar: with the findings' own labels and text, the only words a
 * caption may hold. The sentence plan is the same in every language (concept and objects, faces,
 * text), so a language is its words, not a second copy of the plan.
 */
export interface CaptionTemplate {
  readonly language: CaptionLanguage;
  /** `a horse`, `two people`, `12 books`: a count of one kind of thing, with its article or number. */
  counted(label: string, count: number): string;
  /** What joins the last two items of a list. */
  readonly and: string;
  /** Between the concept and the objects it shows: `Photograph: two people`. */
  readonly conceptThen: string;
  /** After `a face` / `three faces`: ` is visible.` */
  facesVisible(count: number): string;
  /** Before the quoted text, between two quotes, and each quote's marks. */
  readonly textIntro: string;
  readonly quoteSeparator: string;
  readonly quoteMarks: readonly [open: string, close: string];
}

/** Builds a text from template words and phrases, remembering where each phrase is. */
class CaptionWriter<R> {
  private readonly parts: string[] = [];
  private readonly phrases: { text: string; ref: R }[] = [];

  words(text: string): this {
    this.parts.push(text);
    return this;
  }

  phrase(text: string, ref: R): this {
    this.parts.push(text);
    this.phrases.push({ text, ref });
    return this;
  }

  done(): WrittenCaption<R> {
    return { text: this.parts.join(''), phrases: this.phrases };
  }
}

const capitalised = (s: string): string => s.charAt(0).toLocaleUpperCase() + s.slice(1);

/** "Photograph: two people and a horse. A face is visible. Text: “Shelf 14”; “Item 203”." */
export function writeCaption<R>(facts: CaptionFacts<R>, lang: CaptionTemplate): WrittenCaption<R> {
  const out = new CaptionWriter<R>();
  const sentences: (() => void)[] = [];
  if (facts.concept || facts.objects.length > 0) {
    const concept = facts.concept;
    sentences.push(() => {
      const objects = facts.objects.map((o) => ({ ref: o.ref, text: lang.counted(o.label, o.count) }));
      if (concept) out.phrase(capitalised(concept.label), concept.ref).words(objects.length > 0 ? lang.conceptThen : '');
      objects.forEach((o, i) => {
        if (i > 0) out.words(i === objects.length - 1 ? ` ${lang.and} ` : ', ');
        out.phrase(i === 0 && !concept ? capitalised(o.text) : o.text, o.ref);
      });
      out.words('.');
    });
  }
  const faces = facts.faces;
  if (faces) sentences.push(() => out.phrase(capitalised(lang.counted('face', faces.count)), faces.ref).words(lang.facesVisible(faces.count)));
  if (facts.quotes.length > 0) {
    const [open, close] = lang.quoteMarks;
    sentences.push(() => {
      out.words(lang.textIntro);
      facts.quotes.forEach((q, i) => out.words(i > 0 ? lang.quoteSeparator : '').phrase(`${open}${q.text}${close}`, q.ref));
      out.words('.');
    });
  }
  for (const [i, write] of sentences.entries()) {
    if (i > 0) out.words(' ');
    write();
  }
  return out.done();
}
