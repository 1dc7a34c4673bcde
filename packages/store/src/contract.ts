// Contract suites for the store ports, kept out of the main entry so that production code never
// loads tap. Every adapter's test file runs them: `@loupe/store/contract`.
export { annotationStoreContract } from './annotation-store.contract.js';
export { jobStoreContract } from './job-store.contract.js';
export { contentSearchContract, type SearchableStore } from './content-search.contract.js';
