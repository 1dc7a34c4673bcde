import { LoupeError, SERVICE_APIS, defineHandler, type AnalysisOutput } from '@loupe/contracts';
import {
  clusterImages,
  clustersCsv,
  collectionNeighbours,
  duplicatesCsv,
  findDuplicates,
  readPoints,
  type VectorCollection,
  type VectorFilter,
  type VectorPoint,
} from '@loupe/vectors';
import type { EmbedModels } from './embed-models.js';

/** `embed.duplicates` and `embed.clusters`: reports over the images of a manifest or collection. */
export function analysisHandlers(models: EmbedModels) {
  const { deps, existingCollection } = models;

  /** The collection of the model, and the filter that picks the source's images: its collection, else its manifest. */
  async function scopeOf(source: string, model: string | undefined): Promise<{ collection: VectorCollection; filter: VectorFilter; scope: 'collection' | 'manifest'; images: number }> {
    const embedder = await deps.embedder(model ?? deps.defaultModel);
    const collection = await existingCollection(embedder);
    if (collection) {
      for (const [scope, filter] of [
        ['collection', { collection: source }],
        ['manifest', { manifestId: source }],
      ] as const) {
        const images = await collection.count(filter);
        if (images > 0) return { collection, filter, scope, images };
      }
    }
    throw new LoupeError(
      'LOUPE_ERR_NOT_FOUND',
      `no image of ${source} is embedded with ${embedder.model.id} ${embedder.model.version}; run: loupe run ${source} --pipeline embed`,
      { details: { source, model: embedder.model.id, version: embedder.model.version } },
    );
  }

  /** What an analysis answers: the report, what it covered, and the CSV when asked for. */
  function analysisOutput(
    input: { source: string; format: 'json' | 'csv' },
    scope: { collection: VectorCollection; scope: 'collection' | 'manifest'; images: number },
    started: number,
    report: object,
    csv: () => string,
  ): AnalysisOutput {
    return {
      model: { id: scope.collection.spec.modelId, version: scope.collection.spec.modelVersion },
      source: input.source,
      scope: scope.scope,
      images: scope.images,
      ms: Math.round(performance.now() - started),
      report: report as Record<string, unknown>,
      ...(input.format === 'csv' && { csv: csv() }),
    };
  }

  const duplicates = defineHandler({
    ...SERVICE_APIS['embed'].duplicates,
    async handler(input, ctx): Promise<AnalysisOutput> {
      const started = performance.now();
      const { collection, filter, scope, images } = await scopeOf(input.source, input.model);
      // Payloads only: the similar tier asks the index for each image's neighbours, so 100,000
      // images never sit in memory as vectors.
      const points = await readPoints(collection, { filter, vectors: false });
      const report = await findDuplicates(points, {
        neighbours: collectionNeighbours(collection, { filter }),
        ...(input.nearHamming !== undefined && { nearHamming: input.nearHamming }),
        ...(input.similarCosine !== undefined && { similarCosine: input.similarCosine }),
        ...(input.k !== undefined && { k: input.k }),
        onProgress: () => ctx.working(),
      });
      return analysisOutput(input, { collection, scope, images }, started, report, () => duplicatesCsv(report));
    },
  });

  const clusters = defineHandler({
    ...SERVICE_APIS['embed'].clusters,
    async handler(input): Promise<AnalysisOutput> {
      const started = performance.now();
      const { collection, filter, scope, images } = await scopeOf(input.source, input.model);
      if (input.kMin !== undefined && input.kMax !== undefined && input.kMin > input.kMax) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `kMin (${input.kMin}) is above kMax (${input.kMax})`);
      }
      const points = (await readPoints(collection, { filter })) as { id: string; vector: Float32Array; payload: VectorPoint['payload'] }[];
      const report = clusterImages(points, {
        ...(input.k !== undefined && { k: input.k }),
        ...(input.kMin !== undefined && { kMin: input.kMin }),
        ...(input.kMax !== undefined && { kMax: input.kMax }),
        ...(input.central !== undefined && { central: input.central }),
        ...(input.seed !== undefined && { seed: input.seed }),
      });
      return analysisOutput(input, { collection, scope, images }, started, report, () => clustersCsv(report));
    },
  });

  return [duplicates, clusters] as const;
}
