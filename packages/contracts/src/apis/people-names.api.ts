import { Type, type Static } from '@sinclair/typebox';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

/*
 * People's names as annotations: after each curator decision on people (name, merge, split) the
 * embed service, which keeps the decisions, tells the ground-truth service what each person it
 * touched is now called and which faces are theirs, and the ground-truth service keeps one
 * `identifying` annotation per face in step. Layers, Content Search and hybrid search then read
 * names like any other annotation.
 */

/** Who made the decision, as the HTTP edge authenticated them: the reviewer the revisions record. */
export const PeopleCurator = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.Optional(Type.String()),
  via: Type.Union([Type.Literal('key'), Type.Literal('oidc'), Type.Literal('local'), Type.Literal('anonymous')]),
});
export type PeopleCurator = Static<typeof PeopleCurator>;

export const NamedFace = Type.Object({
  id: Type.String({ minLength: 1, description: 'The face point id: canvas id # image index # xywh= box' }),
  manifestId: Type.String({ minLength: 1 }),
  canvasId: Type.String({ minLength: 1 }),
  xywh: Type.String({ pattern: '^xywh=\\d+,\\d+,\\d+,\\d+$', description: 'The face on the canvas' }),
});
export type NamedFace = Static<typeof NamedFace>;

export const PeopleNamesInput = Type.Object(
  {
    curator: PeopleCurator,
    people: Type.Array(
      Type.Object({
        person: Type.String({ minLength: 1 }),
        label: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Absent: the person is unnamed, and their faces lose any name they had' })),
        uri: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2000 })),
        faces: Type.Array(NamedFace, { maxItems: 10_000, description: 'Every face of the person, in every scope' }),
      }),
      { maxItems: 1000 },
    ),
  },
  { $id: 'PeopleNamesInput', additionalProperties: false },
);
export type PeopleNamesInput = Static<typeof PeopleNamesInput>;

export const PeopleNamesOutput = Type.Object(
  {
    written: Type.Integer({ description: 'Faces named for the first time' }),
    revised: Type.Integer({ description: 'Faces whose name changed (a new revision; the history keeps the old one)' }),
    withdrawn: Type.Integer({ description: 'Faces whose name was rejected: they now belong to an unnamed person' }),
    unchanged: Type.Integer(),
  },
  { $id: 'PeopleNamesOutput' },
);
export type PeopleNamesOutput = Static<typeof PeopleNamesOutput>;

/** Served by the ground-truth service; bus-only: the people routes of the embed service call it. */
export const PEOPLE_NAMES_API = {
  peopleNames: {
    name: 'people.names',
    summary: "Keep one `identifying` annotation per face in step with its person's name (idempotent): written, revised on a rename, rejected when the person is unnamed",
    subject: SUBJECTS.peopleNames,
    mode: 'request',
    input: PeopleNamesInput,
    output: PeopleNamesOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE'],
    role: 'curator',
  },
} as const satisfies Record<string, ApiDeclaration>;

/** Served by the embed service, which keeps the curators' decisions in its people registry. */
export const PEOPLE_SYNC_API = {
  'people.sync': {
    name: 'people.sync',
    summary: "Bring every person's face annotations up to date with the people registry (idempotent): what to run after the ground-truth service was down during a name, merge or split",
    subject: SUBJECTS.peopleSync,
    mode: 'request',
    route: { method: 'POST', url: '/v1/people/sync' },
    input: Type.Object({}, { additionalProperties: false }),
    output: Type.Composite([PeopleNamesOutput, Type.Object({ people: Type.Integer({ description: 'People in the registry' }) })]),
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_STORE', 'LOUPE_ERR_NOT_READY', 'LOUPE_ERR_BUS_NO_RESPONDER', 'LOUPE_ERR_BUS_TIMEOUT'],
    role: 'curator',
  },
} as const satisfies Record<string, ApiDeclaration>;
