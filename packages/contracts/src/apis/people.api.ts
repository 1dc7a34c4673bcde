import { Type, type Static } from '@sinclair/typebox';
import type { ErrorCode } from '../errors.js';
import { Rect } from '../task.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/**
 * People across a collection: the faces the detect stage found, described by a face-embedding
 * model in the embed stage, grouped into people when asked, and named, merged and split by
 * curators. Served by the embed service, which holds the face descriptors.
 */

/** Which faces are grouped: one manifest, one IIIF collection, or (neither) every face kept. */
const PeopleScope = {
  manifest: Type.Optional(Type.String({ minLength: 1, description: 'Only faces on this manifest' })),
  collection: Type.Optional(Type.String({ minLength: 1, description: 'Only faces on manifests harvested through this IIIF collection' })),
};

export const PersonFace = Type.Object({
  id: Type.String({ description: 'The face point: canvas id # image index # xywh= box on the canvas' }),
  manifestId: Type.String(),
  canvasId: Type.String(),
  xywh: Type.String({ description: 'The face on the canvas, a media-fragment value (xywh=x,y,w,h)' }),
  box: Rect,
  thumbnail: Type.Optional(Type.String({ description: 'A IIIF Image API request for the face, when the image has a service' })),
});
export type PersonFace = Static<typeof PersonFace>;

export const Person = Type.Object({
  id: Type.String({ description: 'p-...: a person a curator named, merged or split (stable); c-...: a group found by clustering alone (stable while its first face stays in it)' }),
  size: Type.Integer({ minimum: 1, description: 'Faces in this scope' }),
  representative: PersonFace,
  label: Type.Optional(Type.String()),
  uri: Type.Optional(Type.String({ description: 'An authority record for the person, e.g. a Wikidata entity' })),
});
export type Person = Static<typeof Person>;

export const PeopleListInput = Type.Object({
  ...PeopleScope,
  minSize: Type.Optional(Type.Integer({ minimum: 1, default: 1, description: 'Leave out groups with fewer faces (2: people seen more than once)' })),
});
export type PeopleListInput = Static<typeof PeopleListInput>;

export const PeopleListOutput = Type.Object({
  model: Type.Object({ id: Type.String(), version: Type.String() }),
  threshold: Type.Number({ description: 'Average-linkage cosine at which faces were grouped' }),
  faces: Type.Integer({ description: 'Faces in scope' }),
  items: Type.Array(Person, { description: 'Largest first' }),
});
export type PeopleListOutput = Static<typeof PeopleListOutput>;

export const PersonInput = Type.Object({ id: Type.String({ minLength: 1 }), ...PeopleScope });
export type PersonInput = Static<typeof PersonInput>;

export const PersonView = Type.Composite([Person, Type.Object({ faces: Type.Array(PersonFace) })]);
export type PersonView = Static<typeof PersonView>;

export const NamePersonInput = Type.Object({
  id: Type.String({ minLength: 1 }),
  ...PeopleScope,
  label: Type.String({ minLength: 1, maxLength: 500 }),
  uri: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000, description: 'http(s) only' })),
});
export type NamePersonInput = Static<typeof NamePersonInput>;

export const MergePeopleInput = Type.Object({
  ...PeopleScope,
  ids: Type.Array(Type.String({ minLength: 1 }), { minItems: 2, maxItems: 100, uniqueItems: true, description: 'The first named one keeps its name' }),
});
export type MergePeopleInput = Static<typeof MergePeopleInput>;

export const SplitPersonInput = Type.Object({
  id: Type.String({ minLength: 1 }),
  ...PeopleScope,
  faces: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 10_000, uniqueItems: true, description: 'Face ids that become a person of their own' }),
});
export type SplitPersonInput = Static<typeof SplitPersonInput>;

export const SplitPersonOutput = Type.Object({ kept: PersonView, split: PersonView });
export type SplitPersonOutput = Static<typeof SplitPersonOutput>;

const READ_ERRORS: readonly ErrorCode[] = ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_NOT_FOUND', 'LOUPE_ERR_MODEL_NOT_INSTALLED', 'LOUPE_ERR_STORE'];

export const PEOPLE_API = {
  'people.list': {
    name: 'people.list',
    summary: 'People across a manifest or collection: faces grouped by their descriptors (average linkage at a calibrated cosine), with names curators gave; largest first',
    subject: SUBJECTS.peopleList,
    mode: 'request',
    route: { method: 'GET', url: '/v1/people' },
    input: PeopleListInput,
    output: PeopleListOutput,
    errors: READ_ERRORS,
    role: 'reader',
  },
  'people.get': {
    name: 'people.get',
    summary: 'One person and every face of theirs in the scope',
    subject: SUBJECTS.peopleGet,
    mode: 'request',
    route: { method: 'GET', url: '/v1/people/:id' },
    input: PersonInput,
    output: PersonView,
    errors: READ_ERRORS,
    role: 'reader',
  },
  'people.name': {
    name: 'people.name',
    summary: "Name a person (a label and an optional http(s) authority URI): the name sticks to the person's faces when faces are grouped again",
    subject: SUBJECTS.peopleName,
    mode: 'request',
    route: { method: 'POST', url: '/v1/people/:id/name' },
    input: NamePersonInput,
    output: PersonView,
    errors: READ_ERRORS,
    role: 'curator',
  },
  'people.merge': {
    name: 'people.merge',
    summary: 'Merge people into one: their faces stay together when faces are grouped again',
    subject: SUBJECTS.peopleMerge,
    mode: 'request',
    route: { method: 'POST', url: '/v1/people/merge' },
    input: MergePeopleInput,
    output: PersonView,
    errors: READ_ERRORS,
    role: 'curator',
  },
  'people.split': {
    name: 'people.split',
    summary: 'Split faces off a person into a person of their own, kept apart when faces are grouped again',
    subject: SUBJECTS.peopleSplit,
    mode: 'request',
    route: { method: 'POST', url: '/v1/people/:id/split' },
    input: SplitPersonInput,
    output: SplitPersonOutput,
    errors: READ_ERRORS,
    role: 'curator',
  },
} as const satisfies Record<string, ApiDeclaration>;
