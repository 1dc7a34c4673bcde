// The Qdrant adapter of the vector port, and the pure translations it is built from (exported
// for tests and for operators' tools: the collection name or point id of a model or an image).
export { openQdrantVectorStore, DEFAULT_TIMEOUT_MS, MIN_SERVER_VERSION, type QdrantVectorStoreOptions } from './store.js';
export { qdrantPointId, uuidV5, URL_NAMESPACE } from './ids.js';
export { collectionName, parseCollectionName, encodeNamePart, decodeNamePart, assertCollectionPrefix, DEFAULT_COLLECTION_PREFIX, MAX_COLLECTION_NAME_LENGTH } from './names.js';
export { toQdrantFilter, FILTER_KEYS, type QdrantFilter } from './filter.js';
export { encodePayload, decodePayload, toQdrantPoint, fromQdrantRecord, fromQdrantHit, LOUPE_ID_KEY } from './payload.js';
export { createCollectionBody, PAYLOAD_INDEXES, missingPayloadIndexes, searchParams, describeCollection, checkSpec, type CollectionShape } from './collection-config.js';
export { queryRequest, countRequest, scrollRequest, upsertBatches, checkVector, UPSERT_BATCH, DEFAULT_SCROLL_BATCH } from './requests.js';
export { qdrantError, codeForStatus, httpStatusOf, safeUrl, type QdrantCallContext } from './errors.js';
