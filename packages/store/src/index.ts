export * from './store.js';
export { annotationId } from './annotation-id.js';
export { openSqliteAnnotationStore } from './sqlite.annotation-store.js';
export { openSqliteJobStore } from './sqlite.job-store.js';
export { integrityCheck } from './sqlite.database.js';
export { localAnnotation, localAnnotationId, localGeneratorId, publicAnnotation, withPublicUrl } from './public-url.annotation-store.js';
export { checkSearchQuery, holdsAll, matchedWords, queryTerms, searchTerms } from './content-search.js';
export type { AnnotationTextHit, ContentSearchHit, ContentSearchIndex, ContentSearchPage, ContentSearchQuery, OcrLineHit, TermCount, TermQuery } from './content-search.js';
export { openSqliteContentSearch } from './sqlite.content-search.js';
