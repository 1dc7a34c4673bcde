import { LoupeError, TEXT_RANKING_API, defineHandler, type TextRankingInput, type TextRankingOutput } from '@loupe/contracts';
import { labelOfAnnotation } from '@loupe/datasets';
import type { AnnotationStore, ContentSearchHit, ContentSearchIndex } from '@loupe/store';

type TextEntry = TextRankingOutput['text'][number];
type ConceptEntry = TextRankingOutput['concept'][number];

/** States whose annotations a reader is shown: a rejected one says the canvas does not show it. */
const SHOWN = ['unreviewed', 'accepted', 'corrected'] as const;
/** Hits read per manifest: enough to rank its canvases, bounded for a newspaper run. */
const HITS_PER_MANIFEST = 2000;
const PAGE = 500;

/**
 * `ground-truth.textRanking`: the canvases the words find, in two rankings that hybrid search
 * fuses with the visual one. Full text: the Content Search index (OCR lines, tags, labels,
 * captions of current revisions), canvases ordered by how many lines and texts hold every word.
 * Concepts: annotations whose concept URI or label is the query (as the annotations filter
 * matches them), the most confident first.
 */
export function textRankingHandler(store: AnnotationStore, search: ContentSearchIndex) {
  return defineHandler({
    ...TEXT_RANKING_API.textRanking,
    async handler(input): Promise<TextRankingOutput> {
      const [text, concept] = await Promise.all([fullTextRanking(search, input.q, input.manifests ?? (await manifestsOf(store)), input.limit), conceptRanking(store, input)]);
      return { text, concept };
    },
  });
}

/** Every manifest with text (an annotation or an OCR page): the index is per manifest, and the store lists canvases, not manifests. */
async function manifestsOf(store: AnnotationStore): Promise<string[]> {
  const found = new Set((await store.ocrPageEntries({})).map((entry) => entry.key.manifestId));
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.canvases({ limit: PAGE, offset });
    for (const { canvas } of page) found.add(canvas.manifestId);
    if (page.length < PAGE) return [...found];
  }
}

async function fullTextRanking(search: ContentSearchIndex, q: string, manifests: readonly string[], limit: number): Promise<TextEntry[]> {
  const byCanvas = new Map<string, TextEntry & { best: number }>();
  for (const manifestId of manifests) {
    let hits: readonly ContentSearchHit[];
    try {
      hits = (await search.search({ manifestId, q, limit: HITS_PER_MANIFEST, offset: 0 })).hits;
    } catch (err) {
      // A concept URI has no word the index keeps apart ("https" aside): the concept ranking has it.
      if (err instanceof LoupeError && err.code === 'LOUPE_ERR_VALIDATION') return [];
      throw err;
    }
    for (const hit of hits) {
      const imageIndex = hit.kind === 'ocr' ? hit.imageIndex : 0;
      const key = `${hit.canvasId}#${imageIndex}`;
      const { snippet, motivation, strength } = describe(hit);
      const entry = byCanvas.get(key);
      if (!entry) byCanvas.set(key, { canvasId: hit.canvasId, manifestId, imageIndex, hits: 1, snippet, motivation, best: strength });
      else {
        entry.hits += 1;
        if (strength > entry.best) Object.assign(entry, { snippet, motivation, best: strength });
      }
    }
  }
  return [...byCanvas.values()]
    .sort((a, b) => b.best - a.best || b.hits - a.hits || compare(a.canvasId, b.canvasId) || a.imageIndex - b.imageIndex)
    .slice(0, limit)
    .map(({ best: _best, ...entry }) => entry);
}

/**
 * A hit's text, and how much it says about the whole picture: a tag, label or caption names what
 * the image shows, where a word on one line of a page may be anywhere in it.
 */
function describe(hit: ContentSearchHit): { snippet: string; motivation: string; strength: number } {
  if (hit.kind === 'ocr') return { snippet: hit.line.text, motivation: 'supplementing', strength: 0 };
  const motivation = hit.motivation.startsWith('[') ? (JSON.parse(hit.motivation) as string[]).join(' ') : hit.motivation;
  return { snippet: hit.text, motivation, strength: 1 };
}

async function conceptRanking(store: AnnotationStore, input: TextRankingInput): Promise<ConceptEntry[]> {
  const q = input.q.trim();
  // The label as said and as tags are written (lower case); a URI only as given.
  const asked = [...new Set([q, ...(/^[a-z][a-z0-9+.-]*:/i.test(q) ? [] : [q.toLowerCase()])])];
  // Annotations know their canvas, not always their manifest: the store's canvas record does.
  const manifestOf = cached(async (canvasId: string) => (await store.getCanvas(canvasId))?.manifestId);
  const byCanvas = new Map<string, ConceptEntry>();
  for (const manifestId of input.manifests ?? [undefined]) {
    for (const concept of asked) {
      for (let offset = 0; ; offset += PAGE) {
        const page = await store.query({ concept, reviewState: [...SHOWN], ...(manifestId !== undefined && { manifestId }), limit: PAGE, offset });
        for (const a of page) {
          const said = labelOfAnnotation(a);
          if (!said) continue;
          const manifest = manifestId ?? said.manifest ?? (await manifestOf(said.canvasId));
          if (manifest === undefined) continue;
          const confidence = a['loupe:confidence'];
          const entry: ConceptEntry = {
            canvasId: said.canvasId,
            manifestId: manifest,
            imageIndex: 0,
            ...(said.label.label !== undefined && { label: said.label.label }),
            ...(said.label.concept !== undefined && { uri: said.label.concept }),
            ...(confidence !== undefined && { confidence }),
          };
          const known = byCanvas.get(said.canvasId);
          if (!known || (confidence ?? 0) > (known.confidence ?? 0)) byCanvas.set(said.canvasId, entry);
        }
        if (page.length < PAGE) break;
      }
    }
  }
  return [...byCanvas.values()].sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0) || compare(a.canvasId, b.canvasId)).slice(0, input.limit);
}

function cached<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const seen = new Map<string, Promise<T>>();
  return (key) => {
    let found = seen.get(key);
    if (!found) seen.set(key, (found = load(key)));
    return found;
  };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
