import type { Filter } from 'mongodb';
import { checkQuery } from '../annotation-checks.js';
import { mongoFilterOf, type AnnotationDoc } from '../mongo.documents.js';
import type { AnnotationQuery } from '../store.js';
import type { MongoDatasetsRepository } from './datasets.repository.js';

/** The filter document for a query: what the repositories that read annotations are given. */
export type AnnotationFilter = (q: AnnotationQuery) => Promise<Filter<AnnotationDoc>>;

/** Filters that read the dataset's sources first when the query names one. */
export function annotationFilterOver(datasets: MongoDatasetsRepository): AnnotationFilter {
  return async (q) => {
    checkQuery(q);
    let sources: string[] | undefined;
    if (q.dataset !== undefined) {
      await datasets.requireDataset(q.dataset);
      sources = await datasets.sourcesOf(q.dataset);
    }
    return mongoFilterOf(q, sources);
  };
}
