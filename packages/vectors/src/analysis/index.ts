/**
 * Analyses over a collection's points: the tiered duplicates report and embedding clusters. The
 * helpers they are built from (seeded random numbers, union-find) stay internal; CSV comes from @loupe/datasets.
 */
export { collectionNeighbours, exactNeighbours, readPoints, type AnalysisPoint, type Neighbour, type NeighbourFn } from './neighbours.js';
export {
  DEFAULT_MAX_PAIRS,
  DEFAULT_NEAR_HAMMING,
  DEFAULT_NEIGHBOURS,
  DEFAULT_SIMILAR_COSINE,
  DUPLICATE_TIERS,
  EXACT_NEIGHBOURS_LIMIT,
  duplicatesCsv,
  findDuplicates,
} from './duplicates.js';
export type { DuplicateGroup, DuplicateImage, DuplicatePair, DuplicatesOptions, DuplicatesReport, DuplicateTier } from './duplicates.js';
export { hammingPairs, planMultiIndex, type HammingPairsOptions, type HashBlock, type MultiIndexPlan } from './hamming.js';
export { adjustedRandIndex, clusterImages, clustersCsv, kMeans, silhouetteScore } from './clusters.js';
export type { ClusterAssignment, ClusterMember, ClusterOptions, ClusterPoint, ClusterReport, ClusterSelection, ImageCluster, KMeansOptions, KMeansResult } from './clusters.js';
