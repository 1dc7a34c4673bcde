import type { AnnotationStore } from './store.js';

type Awaitable<T> = T | Promise<T>;

/** The port's methods `M`, as a repository may implement them: synchronously (SQLite) or not (MongoDB). */
type Repository<M extends keyof AnnotationStore> = {
  readonly [K in M]: (...args: Parameters<AnnotationStore[K]>) => Awaitable<Awaited<ReturnType<AnnotationStore[K]>>>;
};

/** One repository per aggregate: an adapter builds these over its connection. */
export interface AnnotationRepositories {
  readonly annotations: Repository<'replaceResultSet' | 'query' | 'count' | 'get' | 'putGroundTruth'>;
  /** setReviewState is a review without note or correction. */
  readonly reviews: Repository<'review' | 'history' | 'reviewMany'>;
  readonly canvases: Repository<'putCanvas' | 'getCanvas' | 'canvases'>;
  readonly ocrPages: Repository<'replaceOcrPage' | 'ocrPages' | 'ocrPageEntries'>;
  readonly vocabularies: Repository<'putVocabulary' | 'getVocabulary' | 'listVocabularies' | 'findConcept'>;
  readonly datasets: Repository<
    'createDataset' | 'getDataset' | 'listDatasets' | 'addDatasetSources' | 'addDatasetMembers' | 'removeDatasetMembers' | 'deleteDataset'
  >;
}

export interface StoreEdge {
  /**
   * Runs one operation of the port: where an adapter refuses once closed and turns its driver's
   * errors into LoupeErrors named after `operation`, in one place for every method.
   */
  run<T>(operation: string, fn: () => Awaitable<T>): Promise<T>;
  close(): Promise<void>;
}

/** The port over an adapter's repositories: each method goes to the one repository that owns it. */
export function composeAnnotationStore(repositories: AnnotationRepositories, edge: StoreEdge): AnnotationStore {
  const { annotations, reviews, canvases, ocrPages, vocabularies, datasets } = repositories;
  const { run } = edge;
  return {
    replaceResultSet: (key, modelVersion, list) => run('replaceResultSet', () => annotations.replaceResultSet(key, modelVersion, list)),
    query: (q) => run('query', () => annotations.query(q)),
    count: (q) => run('count', () => annotations.count(q)),
    get: (id) => run('get', () => annotations.get(id)),
    putGroundTruth: (items, opts) => run('putGroundTruth', () => annotations.putGroundTruth(items, opts)),

    setReviewState: (id, state, reviewer) => run('setReviewState', () => reviews.review(id, { state, reviewer })),
    review: (id, input) => run('review', () => reviews.review(id, input)),
    history: (id) => run('history', () => reviews.history(id)),
    reviewMany: (filter, input) => run('reviewMany', () => reviews.reviewMany(filter, input)),

    putCanvas: (canvas) => run('putCanvas', () => canvases.putCanvas(canvas)),
    getCanvas: (canvasId) => run('getCanvas', () => canvases.getCanvas(canvasId)),
    canvases: (filter) => run('canvases', () => canvases.canvases(filter)),

    replaceOcrPage: (key, modelVersion, page, generated) => run('replaceOcrPage', () => ocrPages.replaceOcrPage(key, modelVersion, page, generated)),
    ocrPages: (filter) => run('ocrPages', () => ocrPages.ocrPages(filter)),
    ocrPageEntries: (filter) => run('ocrPageEntries', () => ocrPages.ocrPageEntries(filter)),

    putVocabulary: (vocabulary) => run('putVocabulary', () => vocabularies.putVocabulary(vocabulary)),
    getVocabulary: (id) => run('getVocabulary', () => vocabularies.getVocabulary(id)),
    listVocabularies: () => run('listVocabularies', () => vocabularies.listVocabularies()),
    findConcept: (uri) => run('findConcept', () => vocabularies.findConcept(uri)),

    createDataset: (input) => run('createDataset', () => datasets.createDataset(input)),
    getDataset: (name) => run('getDataset', () => datasets.getDataset(name)),
    listDatasets: () => run('listDatasets', () => datasets.listDatasets()),
    addDatasetSources: (name, sources) => run('addDatasetSources', () => datasets.addDatasetSources(name, sources)),
    addDatasetMembers: (name, ids) => run('addDatasetMembers', () => datasets.addDatasetMembers(name, ids)),
    removeDatasetMembers: (name, ids) => run('removeDatasetMembers', () => datasets.removeDatasetMembers(name, ids)),
    deleteDataset: (name) => run('deleteDataset', () => datasets.deleteDataset(name)),

    close: () => edge.close(),
  };
}
