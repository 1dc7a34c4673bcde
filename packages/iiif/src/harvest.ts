import { channel } from 'node:diagnostics_channel';
import { LoupeError, isErrorCode, isRecord } from '@loupe/contracts';
import { asArray, firstString } from './image-service.js';
import { UNREADABLE_CHANNEL, canvasCount, excerpt, identify, notIiif, readManifest, runInSlices, type DocumentKind } from './presentation.js';
import { idOf, type Json } from './presentation-3.js';
import type { DocumentLoader, HarvestError, HarvestEvent, HarvestLimits, HarvestedManifest } from './types.js';

export const DEFAULT_HARVEST_LIMITS: Readonly<HarvestLimits> = Object.freeze({ maxDepth: 4, maxManifests: 10_000, maxCanvases: 100_000 });
/**
 * Manifests of a collection loaded ahead of the one being read: events stay in document order,
 * but a collection of remote manifests is not fetched strictly one at a time. The loader's own
 * per-host limits still apply.
 */
export const HARVEST_PREFETCH = 4;
/** Longest member id followed; real URLs stay far below it. */
const MAX_REF_LENGTH = 4096;

const unreadable = channel(UNREADABLE_CHANNEL);

interface Member {
  /** What the parent says it is; 'unknown' for a bare URL, where only the document can tell. */
  readonly kind: 'manifest' | 'collection' | 'unknown';
  readonly ref: string | undefined;
  /** The member's content when the parent embeds it (no request needed). */
  readonly embedded: Json | undefined;
}

/**
 * Harvests `source` (a manifest, or a collection walked recursively) through `load`, yielding each
 * manifest as it is read and each document (or canvas) that fails, without stopping the walk. A
 * manifest's unreadable canvases come as error events just before it (and in its `problems`).
 * Manifests are read in slices of SLICE_MS, so a large one does not hold up the event loop.
 *
 * Throws a LoupeError only for invalid limits, and LOUPE_ERR_IIIF_LIMIT as soon as the canvases of
 * the manifests read reach past maxCanvases: a harvest that large is refused as a whole, before the
 * manifest that would pass the limit is read, rather than handing a job a silent first part.
 */
export async function* harvest(source: string, load: DocumentLoader, limits: Partial<HarvestLimits> = {}): AsyncGenerator<HarvestEvent> {
  yield* new Walk(load, resolveLimits(limits)).visitRef(source, 0, []);
}

/** Runs `harvest` to the end: every manifest read and every document that failed. */
export async function harvestAll(
  source: string,
  load: DocumentLoader,
  limits: Partial<HarvestLimits> = {},
): Promise<{ manifests: HarvestedManifest[]; errors: HarvestError[] }> {
  const manifests: HarvestedManifest[] = [];
  const errors: HarvestError[] = [];
  for await (const event of harvest(source, load, limits)) {
    if (event.type === 'manifest') manifests.push(event.manifest);
    else errors.push(event.error);
  }
  return { manifests, errors };
}

function resolveLimits(limits: Partial<HarvestLimits>): HarvestLimits {
  const maxDepth = limits.maxDepth ?? DEFAULT_HARVEST_LIMITS.maxDepth;
  const maxManifests = limits.maxManifests ?? DEFAULT_HARVEST_LIMITS.maxManifests;
  const maxCanvases = limits.maxCanvases ?? DEFAULT_HARVEST_LIMITS.maxCanvases;
  const valid = Number.isInteger(maxDepth) && maxDepth >= 0 && Number.isInteger(maxManifests) && maxManifests >= 1 && Number.isInteger(maxCanvases) && maxCanvases >= 1;
  if (!valid) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `Invalid harvest limits: maxDepth ${maxDepth} (integer >= 0), maxManifests ${maxManifests} (integer >= 1), maxCanvases ${maxCanvases} (integer >= 1)`,
      { details: { maxDepth, maxManifests, maxCanvases } },
    );
  }
  return { maxDepth, maxManifests, maxCanvases };
}

class Walk {
  readonly #load: DocumentLoader;
  readonly #limits: HarvestLimits;
  /** Every URL loaded and every id read: the same id twice is a cycle (or a duplicate) and is skipped. */
  readonly #seen = new Set<string>();
  /** Manifests taken from collections (embedded or loaded), against maxManifests. */
  #taken = 0;
  /** Canvases of the manifests read so far, against maxCanvases. */
  #canvases = 0;
  #stopped = false;
  /** Loads started ahead of their turn, by URL. */
  readonly #prefetched = new Map<string, Promise<unknown>>();

  constructor(load: DocumentLoader, limits: HarvestLimits) {
    this.#load = load;
    this.#limits = limits;
  }

  /** `path`: the ids of the collections walked to get here, outermost first. */
  async *visitRef(ref: string, depth: number, path: readonly string[]): AsyncGenerator<HarvestEvent> {
    const document = ref.trim();
    if (this.#seen.has(document)) return;
    this.#seen.add(document);
    const early = this.#prefetched.get(document);
    this.#prefetched.delete(document);
    let json: unknown;
    try {
      json = await (early ?? this.#load(document));
    } catch (err) {
      yield errorEvent(document, err);
      return;
    }
    let kind: DocumentKind;
    try {
      kind = identify(json, document);
    } catch (err) {
      yield errorEvent(document, err);
      return;
    }
    const id = idOf(json as Json);
    if (id !== undefined && id !== document) {
      if (this.#seen.has(id)) return;
      this.#seen.add(id);
    }
    if (kind.kind === 'manifest') {
      yield* this.#read(json as Json, kind.version, document, path);
    } else if (depth > this.#limits.maxDepth) {
      yield this.#depthError(document);
    } else {
      yield* this.#walkCollection(json as Json, kind.version, document, depth, path);
    }
  }

  async *#read(json: Json, version: 2 | 3, document: string, path: readonly string[]): AsyncGenerator<HarvestEvent> {
    const count = canvasCount(json, version);
    const { maxCanvases } = this.#limits;
    if (this.#canvases + count > maxCanvases) {
      throw new LoupeError(
        'LOUPE_ERR_IIIF_LIMIT',
        `${document}: its ${count} canvases would bring the harvest to ${this.#canvases + count}, past the limit of ${maxCanvases} canvases a job may have (maxCanvases; LOUPE_MAX_CANVASES); nothing is harvested`,
        { details: { document, maxCanvases, canvases: this.#canvases + count } },
      );
    }
    this.#canvases += count;
    let manifest: HarvestedManifest;
    try {
      manifest = await runInSlices(readManifest(json, version, document, path));
    } catch (err) {
      yield errorEvent(document, err);
      return;
    }
    for (const problem of manifest.problems) yield { type: 'error', error: problem };
    yield { type: 'manifest', manifest, document };
  }

  async *#walkCollection(collection: Json, version: 2 | 3, document: string, depth: number, parentPath: readonly string[]): AsyncGenerator<HarvestEvent> {
    const collectionId = idOf(collection) ?? document;
    const path = parentPath.at(-1) === collectionId ? parentPath : [...parentPath, collectionId];
    let page = collection;
    let pageVersion = version;
    let pageDocument = document;
    for (;;) {
      const members = membersOf(page, pageVersion);
      for (const [i, member] of members.entries()) {
        if (this.#stopped) return;
        this.#prefetch(members.slice(i, i + HARVEST_PREFETCH));
        yield* this.#visitMember(member, pageVersion, pageDocument, depth, path);
      }
      if (this.#stopped) return;
      // 2.x paging: the collection points at its `first` page, each page at the `next`.
      const link = page === collection ? (page.first ?? page.next) : page.next;
      if (isRecord(link) && hasMembers(link) && link !== page) {
        page = link;
        continue;
      }
      const next = typeof link === 'string' ? link.trim() : isRecord(link) ? idOf(link) : undefined;
      if (next === undefined || this.#seen.has(next)) return;
      this.#seen.add(next);
      let json: unknown;
      let kind: DocumentKind;
      try {
        json = await this.#load(next);
        kind = identify(json, next);
        if (kind.kind !== 'collection') throw notIiif(next, `is a page of ${document} but not a Collection`);
      } catch (err) {
        yield errorEvent(next, err);
        return;
      }
      page = json as Json;
      pageVersion = kind.version;
      pageDocument = next;
    }
  }

  /** Starts the loads of upcoming manifest members, never past maxManifests nor twice. */
  #prefetch(upcoming: readonly Member[]): void {
    for (const member of upcoming) {
      if (member.kind === 'collection' || member.embedded !== undefined || member.ref === undefined || member.ref.length > MAX_REF_LENGTH) continue;
      if (this.#seen.has(member.ref) || this.#prefetched.has(member.ref)) continue;
      if (this.#taken + this.#prefetched.size >= this.#limits.maxManifests) return;
      const pending = Promise.resolve().then(() => this.#load(member.ref as string));
      // Observed when its turn comes; until then a rejection must not count as unhandled.
      pending.catch(() => undefined);
      this.#prefetched.set(member.ref, pending);
    }
  }

  async *#visitMember(member: Member, version: 2 | 3, parent: string, depth: number, path: readonly string[]): AsyncGenerator<HarvestEvent> {
    const key = member.ref ?? (member.embedded ? idOf(member.embedded) : undefined);
    if (key !== undefined && key.length > MAX_REF_LENGTH) {
      // Followed, it would name the member in every error: a collection could fill a job's report with its text.
      yield errorEvent(
        parent,
        new LoupeError('LOUPE_ERR_IIIF_MALFORMED', `${parent}: a member's id is ${key.length} characters long, more than Loupe follows (${MAX_REF_LENGTH}): ${excerpt(key, 60)}`, {
          details: { document: parent },
        }),
      );
      return;
    }
    if (member.kind === 'collection') {
      if (depth + 1 > this.#limits.maxDepth) {
        yield this.#depthError(key ?? parent, parent);
        return;
      }
      // An embedded collection is walked even when its id was seen: it is content, not a link
      // (the Universal Viewer sample gives 25 embedded collections the parent's own id).
      if (member.embedded !== undefined) yield* this.#walkCollection(member.embedded, version, parent, depth + 1, path);
      else if (key !== undefined) yield* this.visitRef(key, depth + 1, path);
      return;
    }
    if (key !== undefined && this.#seen.has(key)) return;
    if (this.#taken >= this.#limits.maxManifests) {
      this.#stopped = true;
      yield errorEvent(
        parent,
        new LoupeError('LOUPE_ERR_IIIF_LIMIT', `${parent}: the harvest reached maxManifests (${this.#limits.maxManifests}); the rest of the collection is not harvested`, {
          details: { document: parent, maxManifests: this.#limits.maxManifests },
        }),
      );
      return;
    }
    this.#taken += 1;
    if (member.embedded !== undefined) {
      if (key !== undefined) this.#seen.add(key);
      yield* this.#read(member.embedded, version, parent, path);
    } else if (key !== undefined) {
      yield* this.visitRef(key, depth + 1, path);
    }
  }

  #depthError(collection: string, parent?: string): HarvestEvent {
    const where = parent === undefined ? '' : ` (inside ${parent})`;
    return errorEvent(
      collection,
      new LoupeError('LOUPE_ERR_IIIF_LIMIT', `${collection}${where}: collections nest deeper than maxDepth (${this.#limits.maxDepth}); not followed`, {
        details: { document: collection, maxDepth: this.#limits.maxDepth },
      }),
    );
  }
}

function hasMembers(node: Json): boolean {
  return ['items', 'manifests', 'collections', 'members'].some((key) => Array.isArray(node[key]));
}

/**
 * The members of a collection (or of one of its pages), in document order. For 2.x they are read
 * from the document rather than from @iiif/parser's upgrade, because the upgrade merges
 * `manifests`, `collections` and `members` and drops every member whose @id repeats: the Universal
 * Viewer's sample collection would lose 24 of its 25 sub-collections.
 */
function membersOf(collection: Json, version: 2 | 3): Member[] {
  const members: Member[] = [];
  const add = (node: unknown, declared: Member['kind']): void => {
    if (typeof node === 'string') {
      if (node.trim() !== '') members.push({ kind: declared, ref: node.trim(), embedded: undefined });
      return;
    }
    if (!isRecord(node)) return;
    const type = firstString(node.type) ?? firstString(node['@type']);
    const kind = type === 'Manifest' || type === 'sc:Manifest' ? 'manifest' : type === 'Collection' || type === 'sc:Collection' ? 'collection' : declared;
    const embedded =
      kind === 'manifest'
        ? Array.isArray(version === 3 ? node.items : node.sequences)
        : kind === 'collection' && hasMembers(node);
    members.push({ kind, ref: idOf(node), embedded: embedded ? node : undefined });
  };
  if (version === 3) {
    for (const item of asArray(collection.items)) add(item, 'unknown');
  } else {
    for (const item of asArray(collection.manifests)) add(item, 'manifest');
    for (const item of asArray(collection.collections)) add(item, 'collection');
    for (const item of asArray(collection.members)) add(item, 'unknown');
  }
  return members;
}

function errorEvent(document: string, err: unknown): HarvestEvent {
  let error: LoupeError;
  if (err instanceof LoupeError) error = err;
  else if (isRecord(err) && isErrorCode(err.code)) error = LoupeError.fromJSON(err);
  else {
    // A loader that throws something other than a LoupeError has a bug: its text (a TypeError's,
    // a socket's) says nothing to a caller and may say too much, so it goes to the channel only.
    unreadable.publish({ document, index: undefined, error: err });
    error = new LoupeError('LOUPE_ERR_INTERNAL', `${document}: could not be harvested (internal error)`, { cause: err, details: { document } });
  }
  return { type: 'error', error: { document, code: error.code, message: error.message } };
}
