// The contract suite for the vector port, kept out of the main entry so production code never
// loads tap: `@loupe/vectors/contract`.
export { vectorStoreContract } from './vector-store.contract.js';
