export * from './bus.js';
export * from './reply.js';
export { createMemoryBus, type MemoryBusOptions } from './memory.bus.js';
export { connectJetStreamBus, type JetStreamBusOptions } from './jetstream.bus.js';
