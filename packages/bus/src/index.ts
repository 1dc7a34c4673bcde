export * from './bus.js';
export * from './reply.js';
export { createClient, type ServiceClient } from './service.client.js';
export { createMemoryBus, type MemoryBusOptions } from './memory.bus.js';
export { connectJetStreamBus, type JetStreamBusOptions } from './jetstream.bus.js';
export { exponentialBackoff } from './retry-backoff.js';
