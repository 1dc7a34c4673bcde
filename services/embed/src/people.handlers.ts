import { SERVICE_APIS, defineHandler, type HandlerContext } from '@loupe/contracts';
import type { Decider, People } from './people.js';

/**
 * Who decided: the caller the HTTP edge authenticated (forwarded over the bus). A call that came
 * through no edge is this process's own doing.
 */
function deciderOf(ctx: HandlerContext): Decider {
  const p = ctx.principal;
  return { curator: p ? { id: p.id, ...(p.name !== undefined && { name: p.name }), via: p.via } : { id: 'loupe', via: 'local' }, log: ctx.log };
}

/** The people routes: each a call into People, which groups the faces and keeps curators' decisions. */
export function peopleHandlers(people: People) {
  const api = SERVICE_APIS.embed;
  const scopeOf = (input: { manifest?: string | undefined; collection?: string | undefined }) => ({ manifest: input.manifest, collection: input.collection });
  return [
    defineHandler({ ...api['people.list'], handler: async (input) => people.list(scopeOf(input), input.minSize) }),
    defineHandler({ ...api['people.get'], handler: async (input) => people.get(input.id, scopeOf(input)) }),
    defineHandler({ ...api['people.name'], handler: async (input, ctx) => people.name(input.id, scopeOf(input), { label: input.label, uri: input.uri }, deciderOf(ctx)) }),
    defineHandler({ ...api['people.merge'], handler: async (input, ctx) => people.merge(input.ids, scopeOf(input), deciderOf(ctx)) }),
    defineHandler({ ...api['people.split'], handler: async (input, ctx) => people.split(input.id, scopeOf(input), input.faces, deciderOf(ctx)) }),
    defineHandler({ ...api['people.sync'], handler: async (_input, ctx) => people.sync(deciderOf(ctx).curator) }),
  ];
}
