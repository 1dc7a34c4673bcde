export * from './bus.js';
export * from './reply.js';
export { createMemoryBus, type MemoryBusOptions } from './memory.bus.js';
