import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LoupeError } from '@loupe/contracts';

/**
 * What curators decided about people, kept apart from the descriptors so that grouping again never
 * loses it: each named, merged or split person's name, and the faces pinned to them.
 *
 * One JSON file, replaced whole on every change (write then rename, so a crash leaves the old or
 * the new file, never half of one). Decisions are few (one per curator action) and faces pinned are
 * at most those a curator saw, so the file stays small.
 */
export interface PersonRecord {
  readonly label?: string;
  readonly uri?: string;
}

interface RegistryFile {
  readonly format: 1;
  readonly people: Record<string, PersonRecord>;
  /** face id -> person id */
  readonly faces: Record<string, string>;
}

export interface PeopleRegistry {
  personOf(faceId: string): string | undefined;
  person(id: string): PersonRecord | undefined;
  /** Every person a curator named, merged or split. */
  people(): string[];
  /** Every face pinned to a person, in every scope. */
  facesOf(person: string): string[];
  /** Applies one curator decision, then saves; decisions are applied one at a time. */
  change<T>(decide: (draft: RegistryDraft) => T): Promise<T>;
}

export interface RegistryDraft {
  /** A new person id (p-...). */
  newPerson(record?: PersonRecord): string;
  setPerson(id: string, record: PersonRecord): void;
  /** Forgets a person (its faces must have been pinned elsewhere first). */
  dropPerson(id: string): void;
  pin(faceIds: readonly string[], person: string): void;
  /** Pins every face of one person to another (a merge reaches faces outside the scope it was asked in). */
  movePerson(from: string, to: string): void;
  person(id: string): PersonRecord | undefined;
}

export async function openPeopleRegistry(file: string): Promise<PeopleRegistry> {
  let state: { people: Record<string, PersonRecord>; faces: Record<string, string> } = { people: {}, faces: {} };
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as RegistryFile;
    if (parsed.format !== 1) throw new LoupeError('LOUPE_ERR_STORE', `${file} is a people registry of format ${String(parsed.format)}; this Loupe reads format 1`);
    state = { people: { ...parsed.people }, faces: { ...parsed.faces } };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw err instanceof LoupeError ? err : new LoupeError('LOUPE_ERR_STORE', `the people registry ${file} cannot be read`, { cause: err });
    }
  }

  let queue: Promise<unknown> = Promise.resolve();
  async function save(): Promise<void> {
    const body: RegistryFile = { format: 1, people: state.people, faces: state.faces };
    const temp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(temp, JSON.stringify(body));
      await rename(temp, file);
    } catch (err) {
      throw new LoupeError('LOUPE_ERR_STORE', `the people registry ${file} cannot be written`, { cause: err });
    }
  }

  return {
    personOf: (faceId) => state.faces[faceId],
    person: (id) => state.people[id],
    people: () => Object.keys(state.people),
    facesOf: (person) => Object.keys(state.faces).filter((face) => state.faces[face] === person),
    change<T>(decide: (draft: RegistryDraft) => T): Promise<T> {
      const run = async (): Promise<T> => {
        // Decided on a copy: a decision that throws halfway changes nothing.
        const next = { people: { ...state.people }, faces: { ...state.faces } };
        const draft: RegistryDraft = {
          newPerson(record = {}) {
            const id = `p-${randomUUID()}`;
            next.people[id] = record;
            return id;
          },
          setPerson(id, record) {
            next.people[id] = record;
          },
          dropPerson(id) {
            delete next.people[id];
          },
          pin(faceIds, person) {
            for (const face of faceIds) next.faces[face] = person;
          },
          movePerson(from, to) {
            for (const [face, person] of Object.entries(next.faces)) if (person === from) next.faces[face] = to;
          },
          person: (id) => next.people[id],
        };
        const out = decide(draft);
        const before = state;
        state = next;
        try {
          await save();
        } catch (err) {
          state = before;
          throw err;
        }
        return out;
      };
      const result = queue.then(run, run);
      queue = result.catch(() => undefined);
      return result;
    },
  };
}
