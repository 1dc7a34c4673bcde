import { createHash } from 'node:crypto';
import { LoupeError, type Logger, type PEOPLE_NAMES_API, type PeopleCurator, type PeopleNamesInput, type PeopleNamesOutput } from '@loupe/contracts';
import type { VectorCollection, VectorFilter, VectorPoint, VectorStore } from '@loupe/vectors';
import { FACE_MODEL, faceBoxOf } from './face-descriptors.js';
import { MAX_FACES_PER_GROUPING, groupFaces, representativeOf, type FaceToGroup } from './people-clusters.js';
import type { PeopleRegistry, RegistryDraft } from './people-registry.js';

/**
 * Average-linkage cosine at which two groups of faces are one person, chosen on labelled pairs made
 * from the fixture portraits (docs/benchmarks.md, "People across a collection"): every
 * different-person pair scored at most 0.52 and every same-person pair at least 0.72. Set below the
 * middle of that gap because other photographs of one person (age, pose, lighting) score lower than
 * variants of one photograph, the only same-person pairs the fixtures hold.
 */
export const PERSON_THRESHOLD = 0.6;

export interface PeopleScope {
  readonly manifest?: string | undefined;
  readonly collection?: string | undefined;
}

export interface FaceView {
  readonly id: string;
  readonly manifestId: string;
  readonly canvasId: string;
  readonly xywh: string;
  readonly box: { x: number; y: number; w: number; h: number };
  readonly thumbnail?: string;
}

export interface PersonSummary {
  readonly id: string;
  readonly size: number;
  readonly representative: FaceView;
  readonly label?: string;
  readonly uri?: string;
}

export type PersonDetail = PersonSummary & { readonly faces: FaceView[] };

/** Writes people's names into their faces' annotations (`ground-truth.people.names`, over the bus). */
export type NameWriter = (input: PeopleNamesInput) => Promise<PeopleNamesOutput>;

/** Who decided, and where to say that the annotations could not follow. */
export interface Decider {
  readonly curator: PeopleCurator;
  readonly log?: Logger;
}

/** What the bus client offers (ServiceClient.request), narrowed to the one call made here. */
export interface PeopleNamesClient {
  request(decl: (typeof PEOPLE_NAMES_API)['peopleNames'], input: PeopleNamesInput): Promise<PeopleNamesOutput>;
}

export function namesOverBus(client: PeopleNamesClient, decl: (typeof PEOPLE_NAMES_API)['peopleNames']): NameWriter {
  return (input) => client.request(decl, input);
}

/** People sent per call when every person is brought up to date. */
const SYNC_BATCH = 100;

interface Grouped {
  readonly faces: readonly (FaceToGroup & { point: VectorPoint })[];
  readonly groups: readonly { id: string; person?: string; members: readonly number[] }[];
}

/** An unnamed group's id, from its first face: the same faces grouped again give the same id. */
const groupId = (firstFaceId: string): string => `c-${createHash('sha256').update(firstFaceId).digest('base64url').slice(0, 16)}`;

function faceView(point: VectorPoint): FaceView {
  const where = faceBoxOf(point.id);
  if (!where) throw new LoupeError('LOUPE_ERR_INTERNAL', `face point ${point.id} has no xywh= box in its id`);
  return {
    id: point.id,
    manifestId: point.payload.manifestId,
    canvasId: point.payload.canvasId,
    xywh: where.xywh,
    box: where.box,
    ...(point.payload.thumbnail && { thumbnail: point.payload.thumbnail }),
  };
}

/**
 * People across a manifest or collection: the face descriptors in scope grouped on every ask
 * (grouping is cheap next to describing, and always reflects the faces kept now), with the
 * curators' decisions from the registry applied as constraints.
 */
export function createPeople(deps: { vectors: VectorStore; registry?: PeopleRegistry | undefined; names?: NameWriter | undefined; threshold?: number }) {
  const threshold = deps.threshold ?? PERSON_THRESHOLD;

  async function faceCollection(): Promise<VectorCollection | undefined> {
    const specs = (await deps.vectors.collections()).filter((c) => c.modelId === FACE_MODEL);
    const spec = specs.at(-1);
    return spec ? deps.vectors.collection(spec) : undefined;
  }

  async function grouped(scope: PeopleScope): Promise<Grouped & { model: { id: string; version: string } }> {
    const collection = await faceCollection();
    const model = { id: FACE_MODEL, version: collection?.spec.modelVersion ?? '' };
    if (!collection) return { model, faces: [], groups: [] };
    const filter: VectorFilter = { ...(scope.manifest && { manifestId: scope.manifest }), ...(scope.collection && { collection: scope.collection }) };
    const faces: (FaceToGroup & { point: VectorPoint })[] = [];
    for await (const batch of collection.scroll({ filter, batch: 500 })) {
      for (const point of batch) {
        const person = deps.registry?.personOf(point.id);
        faces.push({ id: point.id, vector: point.vector, point, ...(person !== undefined && { person }) });
      }
      if (faces.length > MAX_FACES_PER_GROUPING) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `more than ${MAX_FACES_PER_GROUPING} faces in this scope: ask for one manifest or a smaller collection`, {
          details: { limit: MAX_FACES_PER_GROUPING, ...scope },
        });
      }
    }
    // Faces in id order: the grouping, and so every unnamed group's id, does not depend on the store's order.
    faces.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const groups = groupFaces(faces, threshold).map((g) => ({ ...g, id: g.person ?? groupId(faces[g.members[0]!]!.id) }));
    return { model, faces, groups };
  }

  function detail(all: Grouped['faces'], id: string, members: readonly number[], person?: string): PersonDetail {
    const record = person === undefined ? undefined : deps.registry?.person(person);
    return {
      id,
      size: members.length,
      representative: faceView(all[representativeOf(all, members)]!.point),
      ...(record?.label !== undefined && { label: record.label }),
      ...(record?.uri !== undefined && { uri: record.uri }),
      faces: members.map((i) => faceView(all[i]!.point)),
    };
  }

  async function find(id: string, scope: PeopleScope) {
    const all = await grouped(scope);
    const group = all.groups.find((g) => g.id === id);
    if (!group) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no person ${id} among the faces of this scope (an unnamed group's id holds only for the scope it was listed in)`, { details: { id, ...scope } });
    return { all, group };
  }

  function registry(): PeopleRegistry {
    if (!deps.registry) throw new LoupeError('LOUPE_ERR_NOT_READY', 'this embed service keeps no people registry: names, merges and splits are off');
    return deps.registry;
  }

  /** A person as the registry has them now: name, and every face pinned to them whose descriptor is still kept. */
  async function stateOf(person: string, collection: VectorCollection): Promise<PeopleNamesInput['people'][number]> {
    const record = registry().person(person);
    const faces = [];
    for (const id of registry().facesOf(person)) {
      const point = await collection.get(id);
      if (point) faces.push(faceView(point));
    }
    return {
      person,
      ...(record?.label !== undefined && { label: record.label }),
      ...(record?.uri !== undefined && { uri: record.uri }),
      faces: faces.map(({ id, manifestId, canvasId, xywh }) => ({ id, manifestId, canvasId, xywh })),
    };
  }

  async function writeNames(people: readonly string[], curator: PeopleCurator): Promise<PeopleNamesOutput> {
    const collection = await faceCollection();
    if (!deps.names || !collection) return { written: 0, revised: 0, withdrawn: 0, unchanged: 0 };
    return deps.names({ curator, people: await Promise.all(people.map((p) => stateOf(p, collection))) });
  }

  /**
   * After a decision: the whole state of each person it touched, so that a write that failed
   * before (the ground-truth service down) is made good by the next decision on that person, or
   * by sync(). The decision itself is kept whatever happens here.
   */
  async function followDecision(people: readonly string[], by: Decider | undefined): Promise<void> {
    if (!by) return;
    try {
      await writeNames(people, by.curator);
    } catch (err) {
      by.log?.warn({ err, people }, 'the decision is kept, but the names did not reach the annotations: POST /v1/people/sync brings them up to date');
    }
  }

  /** The person a group is in the registry, made when the group has none yet. */
  const personFor = (draft: RegistryDraft, group: { person?: string }): string => group.person ?? draft.newPerson();

  return {
    threshold,

    async list(scope: PeopleScope, minSize = 1) {
      const { model, faces, groups } = await grouped(scope);
      const items = groups
        .filter((g) => g.members.length >= minSize)
        .map(({ id, members, person }) => {
          const { faces: _faces, ...summary } = detail(faces, id, members, person);
          return summary as PersonSummary;
        })
        .sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : 1));
      return { model, threshold, faces: faces.length, items };
    },

    async get(id: string, scope: PeopleScope): Promise<PersonDetail> {
      const { all, group } = await find(id, scope);
      return detail(all.faces, group.id, group.members, group.person);
    },

    /** Names a person; every face now with them is pinned to them, so the name sticks when faces are grouped again. */
    async name(id: string, scope: PeopleScope, name: { label: string; uri?: string | undefined }, by?: Decider): Promise<PersonDetail> {
      const { all, group } = await find(id, scope);
      const person = await registry().change((draft) => {
        const p = personFor(draft, group);
        draft.setPerson(p, { label: name.label, ...(name.uri !== undefined && { uri: name.uri }) });
        draft.pin(group.members.map((i) => all.faces[i]!.id), p);
        return p;
      });
      await followDecision([person], by);
      return detail(all.faces, person, group.members, person);
    },

    /** Merges people into the first named one (or the first one a curator made, or a new one). */
    async merge(ids: readonly string[], scope: PeopleScope, by?: Decider): Promise<PersonDetail> {
      const all = await grouped(scope);
      const groups = ids.map((id) => {
        const g = all.groups.find((x) => x.id === id);
        if (!g) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `no person ${id} among the faces of this scope`, { details: { id, ...scope } });
        return g;
      });
      const reg = registry();
      const named = groups.find((g) => g.person !== undefined && reg.person(g.person)?.label !== undefined);
      const target = named ?? groups.find((g) => g.person !== undefined);
      const members = groups.flatMap((g) => g.members).sort((a, b) => a - b);
      const person = await reg.change((draft) => {
        const p = personFor(draft, target ?? {});
        for (const g of groups) {
          if (g.person !== undefined && g.person !== p) {
            // Faces pinned to them outside this scope come along too: the merged person is one person everywhere.
            draft.movePerson(g.person, p);
            draft.dropPerson(g.person);
          }
        }
        draft.pin(members.map((i) => all.faces[i]!.id), p);
        return p;
      });
      // The people merged away have no faces left: the merged person's state covers all of theirs.
      await followDecision([person], by);
      return detail(all.faces, person, members, person);
    },

    /** Splits faces off a person into a new, unnamed person; the rest stay with (and are pinned to) the first. */
    async split(id: string, scope: PeopleScope, faceIds: readonly string[], by?: Decider): Promise<{ kept: PersonDetail; split: PersonDetail }> {
      const { all, group } = await find(id, scope);
      const leaving = new Set(faceIds);
      const known = new Set(group.members.map((i) => all.faces[i]!.id));
      const strangers = faceIds.filter((f) => !known.has(f));
      if (strangers.length > 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `faces ${strangers.slice(0, 3).join(', ')} are not faces of ${id}`, { details: { id, faces: strangers } });
      const stay = group.members.filter((i) => !leaving.has(all.faces[i]!.id));
      const go = group.members.filter((i) => leaving.has(all.faces[i]!.id));
      if (stay.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', `splitting every face off ${id} would leave nobody: split off fewer faces`, { details: { id } });
      const [kept, split] = await registry().change((draft) => {
        const k = personFor(draft, group);
        const s = draft.newPerson();
        draft.pin(stay.map((i) => all.faces[i]!.id), k);
        draft.pin(go.map((i) => all.faces[i]!.id), s);
        return [k, s] as const;
      });
      await followDecision([kept, split], by);
      return { kept: detail(all.faces, kept, stay, kept), split: detail(all.faces, split, go, split) };
    },

    /** Every person in the registry written into the annotations again (idempotent); failures are the caller's. */
    async sync(curator: PeopleCurator): Promise<PeopleNamesOutput & { people: number }> {
      if (!deps.names) throw new LoupeError('LOUPE_ERR_NOT_READY', 'this embed service has no way to reach the ground-truth service: names cannot be written');
      const people = registry().people();
      const total = { written: 0, revised: 0, withdrawn: 0, unchanged: 0, people: people.length };
      for (let i = 0; i < people.length; i += SYNC_BATCH) {
        const done = await writeNames(people.slice(i, i + SYNC_BATCH), curator);
        total.written += done.written;
        total.revised += done.revised;
        total.withdrawn += done.withdrawn;
        total.unchanged += done.unchanged;
      }
      return total;
    },
  };
}

export type People = ReturnType<typeof createPeople>;
