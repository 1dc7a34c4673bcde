export * from './store.js';
export { annotationId } from './annotation-id.js';
export { openSqliteAnnotationStore } from './sqlite.annotation-store.js';
export { openSqliteJobStore } from './sqlite.job-store.js';
export { integrityCheck } from './sqlite.database.js';
