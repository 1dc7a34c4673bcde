import { SERVICE_APIS, defineHandler } from '@loupe/contracts';
import type { People } from './people.js';

/** The people routes: each a call into People, which groups the faces and keeps curators' decisions. */
export function peopleHandlers(people: People) {
  const api = SERVICE_APIS.embed;
  const scopeOf = (input: { manifest?: string | undefined; collection?: string | undefined }) => ({ manifest: input.manifest, collection: input.collection });
  return [
    defineHandler({ ...api['people.list'], handler: async (input) => people.list(scopeOf(input), input.minSize) }),
    defineHandler({ ...api['people.get'], handler: async (input) => people.get(input.id, scopeOf(input)) }),
    defineHandler({ ...api['people.name'], handler: async (input) => people.name(input.id, scopeOf(input), { label: input.label, uri: input.uri }) }),
    defineHandler({ ...api['people.merge'], handler: async (input) => people.merge(input.ids, scopeOf(input)) }),
    defineHandler({ ...api['people.split'], handler: async (input) => people.split(input.id, scopeOf(input), input.faces) }),
  ];
}
