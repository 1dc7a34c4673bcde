import { Type } from '@sinclair/typebox';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/*
 * IIIF Content Search 2.0 and 1.0 over one manifest's text (OCR lines, tags, labels, captions):
 * the services an enriched manifest advertises (content-search.ts names their URLs). Served by the
 * ground-truth service, beside the store it searches. IIIF viewers call them: `iiif` routes answer
 * any origin and are public when the deployment says so (LOUPE_IIIF_PUBLIC).
 */

const SUBJECT = {
  search2: SUBJECTS.iiifSearch2,
  autocomplete2: SUBJECTS.iiifAutocomplete2,
  search1: SUBJECTS.iiifSearch1,
  autocomplete1: SUBJECTS.iiifAutocomplete1,
} as const;

const key = Type.String({ minLength: 1, description: "The manifest's id as base64url (manifestKey)" });
// Bounded like /v1/search's words: these routes are public where the collection is, and each word is a term of the index query.
const q = Type.String({ minLength: 1, maxLength: 500, description: 'Words to find (case and diacritics do not matter); a hit holds every one' });

export const ContentSearchQuery = Type.Object(
  {
    key,
    q,
    motivation: Type.Optional(Type.String({ maxLength: 200, description: "Space-separated motivations; OCR text is 'supplementing' (or 'highlighting')" })),
    // Parameters the specifications define that Loupe does not filter by: accepted, listed in `ignored`.
    date: Type.Optional(Type.String({ maxLength: 200 })),
    user: Type.Optional(Type.String({ maxLength: 200 })),
    page: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Page of results, from 0' })),
  },
  { additionalProperties: false },
);

export const AutocompleteQuery = Type.Object(
  {
    key,
    q: Type.String({ minLength: 1, maxLength: 500, description: 'The start of a word (earlier words are kept in front of each term)' }),
    min: Type.Optional(Type.Integer({ minimum: 1, description: 'Only terms with at least this many hits' })),
    motivation: Type.Optional(Type.String({ maxLength: 200 })),
    date: Type.Optional(Type.String()),
    user: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const open = (props: Parameters<typeof Type.Object>[0]) => Type.Object(props, { additionalProperties: true });
const context = Type.Union([Type.String(), Type.Array(Type.String())]);

/** Content Search 2.0: an AnnotationPage of the matching annotations, one page of a collection of all of them. */
export const SearchPage2 = Type.Object(
  {
    '@context': context,
    id: Type.String(),
    type: Type.Literal('AnnotationPage'),
    startIndex: Type.Integer(),
    partOf: open({ id: Type.String(), type: Type.Literal('AnnotationCollection'), total: Type.Integer(), first: open({ id: Type.String() }), last: open({ id: Type.String() }) }),
    next: Type.Optional(open({ id: Type.String() })),
    prev: Type.Optional(open({ id: Type.String() })),
    ignored: Type.Optional(Type.Array(Type.String())),
    items: Type.Array(open({ id: Type.String(), type: Type.Literal('Annotation') })),
    annotations: Type.Optional(Type.Array(open({ type: Type.Literal('AnnotationPage'), items: Type.Array(open({ type: Type.Literal('Annotation') })) }))),
  },
  { $id: 'ContentSearchPage2' },
);

export const TermPage2 = Type.Object(
  {
    '@context': context,
    id: Type.String(),
    type: Type.Literal('TermPage'),
    ignored: Type.Optional(Type.Array(Type.String())),
    items: Type.Array(open({ value: Type.String(), total: Type.Integer(), service: Type.Optional(Type.Array(open({ id: Type.String(), type: Type.String() }))) })),
  },
  { $id: 'ContentSearchTermPage2' },
);

/** Content Search 1.0: an Open Annotation list with `hits` saying where in each line the words are. */
export const SearchList1 = Type.Object(
  {
    '@context': context,
    '@id': Type.String(),
    '@type': Type.Literal('sc:AnnotationList'),
    within: open({ '@type': Type.Literal('sc:Layer'), total: Type.Integer() }),
    startIndex: Type.Integer(),
    next: Type.Optional(Type.String()),
    prev: Type.Optional(Type.String()),
    ignored: Type.Optional(Type.Array(Type.String())),
    resources: Type.Array(open({ '@id': Type.String(), '@type': Type.Literal('oa:Annotation') })),
    hits: Type.Array(
      open({ '@type': Type.Literal('search:Hit'), annotations: Type.Array(Type.String()), match: Type.Optional(Type.String()), before: Type.Optional(Type.String()), after: Type.Optional(Type.String()) }),
    ),
  },
  { $id: 'ContentSearchList1' },
);

export const TermList1 = Type.Object(
  {
    '@context': context,
    '@id': Type.String(),
    '@type': Type.Literal('search:TermList'),
    ignored: Type.Optional(Type.Array(Type.String())),
    terms: Type.Array(open({ match: Type.String(), url: Type.String(), count: Type.Integer() })),
  },
  { $id: 'ContentSearchTermList1' },
);

const declared = { mode: 'request', errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_STORE'], role: 'reader', iiif: true } as const;

export const CONTENT_SEARCH_API = {
  search2: {
    ...declared,
    name: 'iiif.search2',
    summary: "IIIF Content Search 2.0 over a manifest's OCR text, tags, labels and captions: matching annotations, word boxes for OCR hits",
    subject: SUBJECT.search2,
    route: { method: 'GET', url: '/v1/iiif/search/2/:key' },
    input: ContentSearchQuery,
    output: SearchPage2,
  },
  autocomplete2: {
    ...declared,
    name: 'iiif.autocomplete2',
    summary: "IIIF Content Search 2.0 autocomplete: the manifest's words starting with q, with their hit counts",
    subject: SUBJECT.autocomplete2,
    route: { method: 'GET', url: '/v1/iiif/autocomplete/2/:key' },
    input: AutocompleteQuery,
    output: TermPage2,
  },
  search1: {
    ...declared,
    name: 'iiif.search1',
    summary: 'IIIF Content Search 1.0 (for viewers that still speak it): an sc:AnnotationList with search:Hit entries',
    subject: SUBJECT.search1,
    route: { method: 'GET', url: '/v1/iiif/search/1/:key' },
    input: ContentSearchQuery,
    output: SearchList1,
  },
  autocomplete1: {
    ...declared,
    name: 'iiif.autocomplete1',
    summary: 'IIIF Content Search 1.0 autocomplete: a search:TermList',
    subject: SUBJECT.autocomplete1,
    route: { method: 'GET', url: '/v1/iiif/autocomplete/1/:key' },
    input: AutocompleteQuery,
    output: TermList1,
  },
} as const satisfies Record<string, ApiDeclaration>;
