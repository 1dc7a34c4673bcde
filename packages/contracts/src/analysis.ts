import { Type, type Static } from '@sinclair/typebox';

const Source = Type.String({
  minLength: 1,
  description: 'A IIIF collection or manifest URL whose embedded images are analysed (the collection the manifests were harvested through, or one manifest)',
});
const Model = Type.Optional(Type.String({ minLength: 1, description: 'Image-embedding model whose vectors are used; LOUPE_EMBED_MODEL by default' }));
const Format = Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json', description: 'csv adds the report as CSV text in `csv`' });

export const DuplicatesInput = Type.Object(
  {
    source: Source,
    model: Model,
    nearHamming: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, description: 'Largest perceptual-hash distance of a near duplicate (calibrated default in docs/benchmarks.md)' })),
    similarCosine: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Smallest cosine of a visually similar pair (calibrated default in docs/benchmarks.md)' })),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Neighbours searched per image for the similar tier' })),
    format: Format,
  },
  { $id: 'DuplicatesInput' },
);
export type DuplicatesInput = Static<typeof DuplicatesInput>;

export const ClustersInput = Type.Object(
  {
    source: Source,
    model: Model,
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'A fixed number of clusters; by default chosen by silhouette between kMin and kMax' })),
    kMin: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    kMax: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
    central: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Most central images listed per cluster' })),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    format: Format,
  },
  { $id: 'ClustersInput' },
);
export type ClustersInput = Static<typeof ClustersInput>;

/** The report (shapes in docs/api.md), what was analysed, and the CSV when asked for. */
export const AnalysisOutput = Type.Object(
  {
    model: Type.Object({ id: Type.String(), version: Type.String() }),
    source: Type.String(),
    scope: Type.Union([Type.Literal('collection'), Type.Literal('manifest')]),
    images: Type.Integer(),
    ms: Type.Number(),
    report: Type.Object({}, { additionalProperties: true }),
    csv: Type.Optional(Type.String()),
  },
  { $id: 'AnalysisOutput' },
);
export type AnalysisOutput = Static<typeof AnalysisOutput>;
