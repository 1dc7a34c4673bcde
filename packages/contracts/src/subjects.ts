/** NATS subjects: loupe.<service>.<op>.v1. One table, so nothing drifts. */
export const SUBJECTS = {
  harvest: 'loupe.iiif-fetcher.harvest.v1',
  preprocessPrepare: 'loupe.preprocess.prepare.v1',
  detectText: 'loupe.detect.text.v1',
  detectImage: 'loupe.detect.image.v1',
  classifyImage: 'loupe.classify.image.v1',
  embedImage: 'loupe.embed.image.v1',
  embedCanvas: 'loupe.embed.canvas.v1',
  embedSearch: 'loupe.embed.search.v1',
  embedDuplicates: 'loupe.embed.duplicates.v1',
  embedClusters: 'loupe.embed.clusters.v1',
  captionImage: 'loupe.caption.image.v1',
  resultsPut: 'loupe.ground-truth.results.put.v1',
  annotationsQuery: 'loupe.ground-truth.annotations.query.v1',
  jobStart: 'loupe.gateway.job-start.v1',
  jobEvents: 'loupe.gateway.job-events.v1',
} as const;
