import { CONTENT_SEARCH_API, LoupeError, defineHandler, manifestFromKey, searchServiceUrls, xywh, type Annotation, type OcrLine } from '@loupe/contracts';
import type { AnnotationStore, ContentSearchHit, ContentSearchIndex, ContentSearchPage, OcrLineHit } from '@loupe/store';

/*
 * IIIF Content Search 2.0 and 1.0 over the store's full-text index (docs/search.md). OCR hits are
 * word-level: the item targets the union box of the words that hold a query term (the line's box
 * when the engine gave no words), with the line around them as prefix and suffix. Tag, label and
 * caption hits are the matching Loupe annotation itself, current revision, so a viewer draws its
 * box and lists its text without dereferencing anything (Mirador does not fetch a referenced one).
 */

const PAGE_SIZE = 100;
const TERMS = 20;
const CONTEXT2 = ['http://iiif.io/api/presentation/3/context.json', 'http://iiif.io/api/search/2/context.json'];
const CONTEXT1 = ['http://iiif.io/api/presentation/2/context.json', 'http://iiif.io/api/search/1/context.json'];
/** Parameters the specifications define that Loupe accepts and does not filter by. */
const UNUSED = ['date', 'user'] as const;

export interface ContentSearchDeps {
  /** The store as served under publicUrl (withPublicUrl): annotation ids come out public. */
  readonly store: AnnotationStore;
  readonly search: ContentSearchIndex;
  readonly publicUrl: string;
}

interface SearchInput {
  readonly key: string;
  readonly q: string;
  readonly motivation?: string;
  readonly date?: string;
  readonly user?: string;
  readonly page?: number;
  readonly min?: number;
}

/** One hit as both versions show it: a content annotation and, for OCR, where the words sit in the line. */
interface ShownHit {
  readonly id: string;
  readonly canvasId: string;
  readonly target: string;
  readonly motivation: string | string[];
  readonly text: string;
  readonly annotation?: Annotation;
  readonly quote?: { prefix: string; exact: string; suffix: string };
}

/** The four handlers, for the ground-truth service's list. */
export function contentSearchHandlers(deps: ContentSearchDeps) {
  const { store, search, publicUrl } = deps;

  const manifestOf = async (key: string): Promise<string> => {
    const manifestId = manifestFromKey(key);
    const known = manifestId !== undefined && ((await store.count({ manifestId, limit: 1 })) > 0 || (await store.ocrPageEntries({ manifestId })).length > 0);
    if (!known) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No enriched manifest has the search key ${key}`, { details: { key } });
    return manifestId;
  };

  /** The hits of one page, with the page's place in the whole result. */
  const pageOf = async (input: SearchInput, serviceUrl: string) => {
    const manifestId = await manifestOf(input.key);
    const page = input.page ?? 0;
    const motivations = input.motivation?.split(/\s+/).filter((m) => m !== '');
    const found = await search.search({ manifestId, q: input.q, limit: PAGE_SIZE, offset: page * PAGE_SIZE, ...(motivations && { motivations }) });
    const params = new URLSearchParams({ q: input.q, ...(input.motivation !== undefined && { motivation: input.motivation }) });
    const collection = `${serviceUrl}?${params.toString()}`;
    const pageUrl = (n: number): string => `${collection}&page=${n}`;
    const last = Math.max(0, Math.ceil(found.total / PAGE_SIZE) - 1);
    const startIndex = page * PAGE_SIZE;
    const hits = await shown(found, startIndex, collection);
    const ignored = UNUSED.filter((name) => input[name] !== undefined);
    return { found, page, last, startIndex, hits, collection, pageUrl, ignored };
  };

  const shown = async (found: ContentSearchPage, startIndex: number, collection: string): Promise<ShownHit[]> => {
    const ids = found.hits.flatMap((h) => (h.kind === 'annotation' ? [h.annotationId] : []));
    const annotations = new Map((ids.length > 0 ? await store.query({ ids }) : []).map((a) => [a.id, a]));
    return found.hits.map((hit, i) => shownHit(hit, `${collection}#hit-${startIndex + i}`, (id) => annotations.get(`${publicUrl}/v1/annotations/${id}`) ?? annotations.get(id)));
  };

  const search2 = defineHandler({
    ...CONTENT_SEARCH_API.search2,
    async handler(input) {
      const { found, page, last, startIndex, hits, collection, pageUrl, ignored } = await pageOf(input, searchServiceUrls(publicUrl, manifestFromKey(input.key) ?? '').search2);
      const quoted = hits.filter((h) => h.quote !== undefined);
      return {
        '@context': CONTEXT2,
        id: pageUrl(page),
        type: 'AnnotationPage' as const,
        startIndex,
        partOf: { id: collection, type: 'AnnotationCollection' as const, total: found.total, first: { id: pageUrl(0), type: 'AnnotationPage' }, last: { id: pageUrl(last), type: 'AnnotationPage' } },
        ...(page < last && { next: { id: pageUrl(page + 1), type: 'AnnotationPage' } }),
        ...(page > 0 && { prev: { id: pageUrl(page - 1), type: 'AnnotationPage' } }),
        ...(ignored.length > 0 && { ignored }),
        items: hits.map((h) => h.annotation ?? { id: h.id, type: 'Annotation' as const, motivation: h.motivation, body: { type: 'TextualBody', value: h.text, format: 'text/plain' }, target: h.target }),
        ...(quoted.length > 0 && {
          annotations: [
            {
              type: 'AnnotationPage' as const,
              items: quoted.map((h) => ({
                id: h.id.replace('#hit-', '#context-'),
                type: 'Annotation' as const,
                // Word-level boxes: the item is the words themselves, the line around them their context (Content Search 2.0, 3.4.2).
                motivation: 'contextualizing',
                target: { type: 'SpecificResource', source: h.id, selector: [{ type: 'TextQuoteSelector', ...h.quote }] },
              })),
            },
          ],
        }),
      };
    },
  });

  const search1 = defineHandler({
    ...CONTENT_SEARCH_API.search1,
    async handler(input) {
      const { found, page, last, startIndex, hits, pageUrl, ignored } = await pageOf(input, searchServiceUrls(publicUrl, manifestFromKey(input.key) ?? '').search1);
      return {
        '@context': CONTEXT1,
        '@id': pageUrl(page),
        '@type': 'sc:AnnotationList' as const,
        within: { '@type': 'sc:Layer' as const, total: found.total, first: pageUrl(0), last: pageUrl(last), ...(ignored.length > 0 && { ignored }) },
        startIndex,
        ...(page < last && { next: pageUrl(page + 1) }),
        ...(page > 0 && { prev: pageUrl(page - 1) }),
        ...(ignored.length > 0 && { ignored }),
        resources: hits.map((h) => ({
          '@id': h.annotation?.id ?? h.id,
          '@type': 'oa:Annotation' as const,
          motivation: motivation1(h.motivation),
          resource: { '@type': 'cnt:ContentAsText', chars: h.text },
          on: h.target,
        })),
        hits: hits.map((h) => ({
          '@type': 'search:Hit' as const,
          annotations: [h.annotation?.id ?? h.id],
          ...(h.quote ? { match: h.quote.exact, before: h.quote.prefix, after: h.quote.suffix } : { match: h.text }),
        })),
      };
    },
  });

  const termsOf = async (input: SearchInput, autocompleteUrl: string, searchUrl: string) => {
    const manifestId = await manifestOf(input.key);
    const terms = await search.terms({ manifestId, q: input.q, limit: TERMS, ...(input.min !== undefined && { min: input.min }) });
    // Terms come from every motivation: the filter is accepted and said to be ignored.
    const ignored = [...UNUSED, 'motivation' as const].filter((name) => input[name] !== undefined);
    const params = new URLSearchParams({ q: input.q, ...(input.min !== undefined && { min: String(input.min) }) });
    return { id: `${autocompleteUrl}?${params.toString()}`, ignored, terms: terms.map((t) => ({ ...t, url: `${searchUrl}?${new URLSearchParams({ q: t.term }).toString()}` })) };
  };

  const autocomplete2 = defineHandler({
    ...CONTENT_SEARCH_API.autocomplete2,
    async handler(input) {
      const urls = searchServiceUrls(publicUrl, manifestFromKey(input.key) ?? '');
      const { id, ignored, terms } = await termsOf(input, urls.autocomplete2, urls.search2);
      return {
        '@context': 'http://iiif.io/api/search/2/context.json',
        id,
        type: 'TermPage' as const,
        ...(ignored.length > 0 && { ignored }),
        items: terms.map((t) => ({ value: t.term, total: t.count, service: [{ id: t.url, type: 'SearchService2' }] })),
      };
    },
  });

  const autocomplete1 = defineHandler({
    ...CONTENT_SEARCH_API.autocomplete1,
    async handler(input) {
      const urls = searchServiceUrls(publicUrl, manifestFromKey(input.key) ?? '');
      const { id, ignored, terms } = await termsOf(input, urls.autocomplete1, urls.search1);
      return {
        '@context': 'http://iiif.io/api/search/1/context.json',
        '@id': id,
        '@type': 'search:TermList' as const,
        ...(ignored.length > 0 && { ignored }),
        terms: terms.map((t) => ({ match: t.term, url: t.url, count: t.count })),
      };
    },
  });

  return [search2, autocomplete2, search1, autocomplete1] as const;
}

function shownHit(hit: ContentSearchHit, id: string, annotationOf: (id: string) => Annotation | undefined): ShownHit {
  if (hit.kind === 'ocr') return ocrHit(hit, id);
  const annotation = annotationOf(hit.annotationId);
  if (!annotation) {
    // Written between the index read and this one (the index and the store are read apart): show what the index holds.
    return { id, canvasId: hit.canvasId, target: hit.canvasId, motivation: hit.motivation, text: hit.text };
  }
  return { id: annotation.id, canvasId: hit.canvasId, target: targetOf(annotation), motivation: annotation.motivation, text: hit.text, annotation };
}

/** The matched words as one annotation: their union box, their text, and the rest of the line around them. */
function ocrHit(hit: OcrLineHit, id: string): ShownHit {
  const { line, matched } = hit;
  if (matched.length === 0) return { id, canvasId: hit.canvasId, target: `${hit.canvasId}#${xywh(line.box)}`, motivation: 'supplementing', text: line.text };
  const first = matched[0]!;
  const lastWord = matched.at(-1)!;
  const words = line.words.slice(first, lastWord + 1);
  const box = union(words.map((w) => w.box));
  const join = (ws: OcrLine['words']): string => ws.map((w) => w.text).join(' ');
  const exact = join(words);
  const prefix = join(line.words.slice(0, first));
  const suffix = join(line.words.slice(lastWord + 1));
  return {
    id,
    canvasId: hit.canvasId,
    target: `${hit.canvasId}#${xywh(box)}`,
    motivation: 'supplementing',
    text: exact,
    quote: { prefix: prefix === '' ? '' : `${prefix} `, exact, suffix: suffix === '' ? '' : ` ${suffix}` },
  };
}

function union(boxes: readonly OcrLine['box'][]): OcrLine['box'] {
  const x = Math.min(...boxes.map((b) => b.x));
  const y = Math.min(...boxes.map((b) => b.y));
  return { x, y, w: Math.max(...boxes.map((b) => b.x + b.w)) - x, h: Math.max(...boxes.map((b) => b.y + b.h)) - y };
}

/** The canvas region an annotation targets, as a media-fragment URI (what 1.0's `on` and a viewer's highlight need). */
function targetOf(annotation: Annotation): string {
  const { target } = annotation;
  if (typeof target === 'string') return target;
  const selectors = [(target as { selector?: unknown }).selector].flat() as ({ type?: string; value?: string } | undefined)[];
  const fragment = selectors.find((s) => s?.type === 'FragmentSelector' && typeof s.value === 'string');
  const source = typeof target.source === 'string' ? target.source : target.source.id;
  return fragment ? `${source}#${fragment.value}` : source;
}

/** Content Search 1.0 speaks Open Annotation: `oa:` motivations, `sc:painting` for transcriptions. */
function motivation1(motivation: string | string[]): string {
  const first = [motivation].flat()[0] ?? 'supplementing';
  return first === 'supplementing' || first === 'painting' ? 'sc:painting' : `oa:${first}`;
}
