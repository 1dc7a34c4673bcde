// `@loupe/contracts/core`: the error type and the small helpers, without the schemas (TypeBox and
// every API declaration). Commands that plan or validate without serving (`loupe iiif plan`)
// load only this; everything here is exported by the package's main entry too.
export * from './errors.js';
export { isRecord } from './util/records.js';
export { canvasOfTarget } from './util/targets.js';
export { exponentialBackoff, jittered } from './util/backoff.js';
