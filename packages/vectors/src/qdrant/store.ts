import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { LoupeError } from '@loupe/contracts';
import type { SearchHit, SearchOptions, VectorCollection, VectorCollectionSpec, VectorFilter, VectorPoint, VectorStore } from '../port.js';
import { checkSpec, createCollectionBody, describeCollection, missingPayloadIndexes } from './collection-config.js';
import { qdrantError, safeUrl } from './errors.js';
import { qdrantPointId } from './ids.js';
import { DEFAULT_COLLECTION_PREFIX, assertCollectionPrefix, collectionName, parseCollectionName } from './names.js';
import { fromQdrantHit, fromQdrantRecord } from './payload.js';
import { checkIds, countRequest, queryRequest, scrollRequest, upsertBatches, type CollectionTarget } from './requests.js';

export interface QdrantVectorStoreOptions {
  /**
   * The server's REST endpoint, e.g. http://localhost:6333. The URL means what it says: without a
   * port it is the scheme's default (80, 443), not 6333, so a Qdrant behind a TLS proxy works;
   * a path (https://proxy.example.org/qdrant) is kept as the API's base.
   */
  readonly url: string;
  /** Sent as the `api-key` header. */
  readonly apiKey?: string;
  /** Put before every collection name (names.ts), so installations can share a cluster; `loupe` by default. */
  readonly collectionPrefix?: string;
  /** How long one request may take, in milliseconds; 30 s by default. */
  readonly timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** The Query API (`/points/query`), which search uses, came with Qdrant 1.10. */
export const MIN_SERVER_VERSION = [1, 10] as const;
const DELETE_BATCH = 1000;

function configError(message: string, details: Record<string, unknown>): LoupeError {
  return new LoupeError('LOUPE_ERR_CONFIG_INVALID', message, { details });
}

/**
 * A VectorStore on a Qdrant server, one collection per model and version (names.ts). Opening
 * lists the collections once, so that a wrong URL or API key fails here rather than at the first
 * write. Collection handles are kept, as the embedded store keeps its own: asking for a collection
 * per request or task costs no round trip after the first; a handle whose collection has gone
 * from the server (404) is dropped, so the next ask makes it again. close() only stops this
 * handle: the data stays on the server.
 */
export async function openQdrantVectorStore(opts: QdrantVectorStoreOptions): Promise<VectorStore> {
  const prefix = opts.collectionPrefix ?? DEFAULT_COLLECTION_PREFIX;
  assertCollectionPrefix(prefix);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw configError(`Qdrant timeoutMs must be a positive number, not ${String(timeoutMs)}`, { timeoutMs });
  let endpoint: URL;
  try {
    endpoint = new URL(opts.url);
  } catch {
    throw configError(`The Qdrant URL ${JSON.stringify(opts.url)} is not a URL`, { url: opts.url });
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw configError(`The Qdrant URL must be http or https, not ${endpoint.protocol}`, { url: safeUrl(opts.url) });
  const url = safeUrl(opts.url);
  const path = endpoint.pathname.replace(/\/+$/, '');

  const client = new QdrantClient({
    url: endpoint.origin,
    // null: no port in the URL means the scheme's default, not the client's 6333 (see the options).
    port: null,
    ...(path && { prefix: path }),
    ...(opts.apiKey !== undefined && { apiKey: opts.apiKey }),
    timeout: timeoutMs,
    // The client would check in the background and only console.warn; open() checks itself.
    checkCompatibility: false,
  });

  let closed = false;
  /** One request to Qdrant, its failure turned into a LoupeError naming the server and operation. */
  const call = async <T>(operation: string, collection: string | undefined, run: () => Promise<T>): Promise<T> => {
    if (closed) throw new LoupeError('LOUPE_ERR_STORE', 'The Qdrant vector store is closed', { details: { url, operation } });
    try {
      return await run();
    } catch (err) {
      throw qdrantError(err, { url, operation, ...(collection !== undefined && { collection }), timeoutMs });
    }
  };

  const [, version] = await Promise.all([call('list collections', undefined, () => client.getCollections()), call('read the server version', undefined, () => client.versionInfo())]);
  const [major = 0, minor = 0] = /^(\d+)\.(\d+)/.exec(version.version)?.slice(1).map(Number) ?? [];
  if (major < MIN_SERVER_VERSION[0] || (major === MIN_SERVER_VERSION[0] && minor < MIN_SERVER_VERSION[1])) {
    throw configError(`Qdrant at ${url} is version ${version.version}; Loupe needs ${MIN_SERVER_VERSION.join('.')} or later (the Query API)`, { url, version: version.version });
  }

  /** A collection's information, or undefined when there is none of that name. */
  const info = async (name: string): Promise<Schemas['CollectionInfo'] | undefined> => {
    try {
      return await call('read collection', name, () => client.getCollection(name));
    } catch (err) {
      if (err instanceof LoupeError && err.details?.status === 404) return undefined;
      throw err;
    }
  };

  /** Creates the collection of `spec`; losing a race with another creator is no error. */
  const create = async (name: string, spec: VectorCollectionSpec): Promise<Schemas['CollectionInfo']> => {
    try {
      await call('create collection', name, () => client.createCollection(name, createCollectionBody(spec)));
    } catch (err) {
      const now = await info(name);
      if (now) return now;
      throw err;
    }
    const created = await info(name);
    if (!created) throw new LoupeError('LOUPE_ERR_STORE', `Qdrant at ${url} created collection ${name} but does not show it`, { details: { url, collection: name } });
    return created;
  };

  /** The collection of `spec` as the server has it (made when absent), with its payload indexes. */
  const openCollection = async (name: string, spec: VectorCollectionSpec, gone: () => void): Promise<VectorCollection> => {
    const found = (await info(name)) ?? (await create(name, spec));
    const shape = describeCollection(found);
    if (typeof shape === 'string') {
      throw configError(`Qdrant collection ${name} at ${url} is not one Loupe made: ${shape}`, { url, collection: name });
    }
    // Created here, or by a run that stopped before its indexes: add what is missing.
    for (const index of missingPayloadIndexes(found.payload_schema)) {
      await call(`index payload field ${index.field_name}`, name, () => client.createPayloadIndex(name, { ...index, wait: true }));
    }
    // The quantisation the collection has wins over the one asked for: changing it is an operator's decision.
    const actual: VectorCollectionSpec = { modelId: spec.modelId, modelVersion: spec.modelVersion, dims: shape.dims, quantization: shape.quantization };
    return qdrantCollection(actual, { name, dims: shape.dims, quantized: shape.quantized }, gone);
  };

  /** Open handles by collection name; set before any await, so concurrent asks share one opening. */
  const handles = new Map<string, Promise<VectorCollection>>();
  const forget = (name: string, handle: Promise<VectorCollection>) => {
    if (handles.get(name) === handle) handles.delete(name);
  };

  const store: VectorStore = {
    kind: 'qdrant',

    async collection(asked) {
      const spec = checkSpec(asked);
      const name = collectionName(prefix, spec.modelId, spec.modelVersion);
      let handle = handles.get(name);
      if (!handle) {
        const opening: Promise<VectorCollection> = openCollection(name, spec, () => forget(name, opening));
        handles.set(name, opening);
        opening.catch(() => forget(name, opening));
        handle = opening;
      }
      const collection = await handle;
      if (collection.spec.dims !== spec.dims) {
        throw new LoupeError(
          'LOUPE_ERR_VALIDATION',
          `${spec.modelId}@${spec.modelVersion} has ${collection.spec.dims}-dimensional vectors (Qdrant collection ${name}), not ${spec.dims}`,
          { details: { collection: name, dims: collection.spec.dims, asked: spec.dims } },
        );
      }
      return collection;
    },

    async collections() {
      const { collections } = await call('list collections', undefined, () => client.getCollections());
      const ours = collections
        .map((c) => ({ name: c.name, parsed: parseCollectionName(prefix, c.name) }))
        .filter((c): c is { name: string; parsed: { modelId: string; modelVersion: string } } => c.parsed !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const specs = await Promise.all(
        ours.map(async ({ name, parsed }): Promise<VectorCollectionSpec | undefined> => {
          const found = await info(name); // gone since the listing: skip it
          const shape = found && describeCollection(found);
          return shape && typeof shape !== 'string' ? { ...parsed, dims: shape.dims, quantization: shape.quantization } : undefined;
        }),
      );
      return specs.filter((s): s is VectorCollectionSpec => s !== undefined);
    },

    async close() {
      // The client keeps no connection that needs closing (idle keep-alive sockets time out by themselves).
      closed = true;
      handles.clear();
    },
  };

  function qdrantCollection(spec: VectorCollectionSpec, target: CollectionTarget, gone: () => void): VectorCollection {
    const { name } = target;
    /** call() on this collection: a 404 says it has gone from the server, and its kept handle goes too. */
    const onServer = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await call(operation, name, run);
      } catch (err) {
        if (err instanceof LoupeError && err.code === 'LOUPE_ERR_NOT_FOUND') gone();
        throw err;
      }
    };
    return {
      spec,

      async upsert(points: readonly VectorPoint[]) {
        const batches = upsertBatches(points, target);
        for (const [i, batch] of batches.entries()) {
          await onServer(`upsert (batch ${i + 1} of ${batches.length})`, () => client.upsert(name, { wait: true, points: batch }));
        }
      },

      async delete(ids: readonly string[]) {
        checkIds(ids);
        for (let i = 0; i < ids.length; i += DELETE_BATCH) {
          const points = ids.slice(i, i + DELETE_BATCH).map(qdrantPointId);
          await onServer('delete points', () => client.delete(name, { wait: true, points }));
        }
      },

      async get(id: string) {
        checkIds([id]);
        const records = await onServer('retrieve point', () => client.retrieve(name, { ids: [qdrantPointId(id)], with_payload: true, with_vector: true }));
        return records[0] && fromQdrantRecord(records[0], name);
      },

      async search(vector: Float32Array, opts?: SearchOptions): Promise<SearchHit[]> {
        const body = queryRequest(vector, opts, target);
        if (body === null) return [];
        const { points } = await onServer('search', () => client.query(name, body));
        return points.map((hit) => fromQdrantHit(hit, name));
      },

      async count(filter?: VectorFilter) {
        const body = countRequest(filter);
        if (body === null) return 0;
        const { count } = await onServer('count', () => client.count(name, body));
        return count;
      },

      async *scroll(opts?: { filter?: VectorFilter; batch?: number }) {
        let offset: Schemas['ExtendedPointId'] | undefined;
        for (;;) {
          const body = scrollRequest(opts, offset);
          if (body === null) return;
          const page = await onServer('scroll', () => client.scroll(name, body));
          if (page.points.length > 0) yield page.points.map((record) => fromQdrantRecord(record, name));
          const next = page.next_page_offset;
          if (next === undefined || next === null || (typeof next !== 'string' && typeof next !== 'number')) return;
          offset = next;
        }
      },
    };
  }

  return store;
}

