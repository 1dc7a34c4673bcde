import { Type, type Static } from '@sinclair/typebox';
import { captionOptionProperties } from './caption.js';
import { classifyOptionProperties } from './classify.js';
import { EnhanceSettings } from './prepared-image.js';

export const PIPELINE_NAMES = ['text', 'objects', 'embed', 'enrich', 'classify', 'caption'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

/** The OCR engines a job may read text with. */
export const OCR_ENGINES = ['ppocr', 'tesseract'] as const;
export type OcrEngine = (typeof OCR_ENGINES)[number];

/**
 * Tesseract's language models installed beside Loupe (the @tesseract.js-data packages of
 * @loupe/inference; a test checks each loads). A job naming another fails at POST, not on its
 * first page.
 */
export const OCR_LANGUAGES = ['eng', 'fra', 'deu', 'frk', 'ita', 'lat'] as const;
/** What Tesseract reads with when the job names no language. */
export const DEFAULT_OCR_LANGUAGES: readonly string[] = ['eng'];

export const OcrJobOptions = Type.Object(
  {
    engine: Type.Optional(
      Type.Union(OCR_ENGINES.map((e) => Type.Literal(e)), {
        description: 'tesseract (LSTM, European print, per language) or ppocr (PP-OCRv4, no Latin diacritics); absent: chosen per canvas (docs/pipelines.md)',
      }),
    ),
    languages: Type.Optional(
      Type.Array(Type.Union(OCR_LANGUAGES.map((l) => Type.Literal(l))), {
        minItems: 1,
        uniqueItems: true,
        description: `tesseract: language models in the order to try them (absent: the manifest's languages, else ${DEFAULT_OCR_LANGUAGES.join(', ')})`,
      }),
    ),
    words: Type.Optional(Type.Boolean({ description: 'Annotate each word too, not only each line (ALTO and hOCR always have the words)' })),
  },
  { additionalProperties: false, description: 'pipelines text and enrich: the engine that reads text, its languages, and whether words are annotated' },
);
export type OcrJobOptions = Static<typeof OcrJobOptions>;

/**
 * The parts of a pipeline a job may turn off (`skip`); which ones each pipeline has is the
 * gateway's to say (docs/pipelines.md). Background removal is not among them: no pipeline runs it
 * unless asked.
 */
export const SKIP_PARTS = ['orientation', 'objects', 'faces', 'text', 'embed', 'caption'] as const;
export type SkipPart = (typeof SKIP_PARTS)[number];

export const CreateJobInput = Type.Object(
  {
    manifest: Type.String({ minLength: 1, description: 'URL (or, for the embedded CLI, file path) of a IIIF manifest or collection' }),
    pipeline: Type.Union(PIPELINE_NAMES.map((p) => Type.Literal(p)), { default: 'text', description: 'What to run on every canvas image' }),
    classify: Type.Optional(Type.Object(classifyOptionProperties, { description: 'pipeline classify: the head (or zero-shot vocabulary) and what to keep' })),
    ocr: Type.Optional(OcrJobOptions),
    caption: Type.Optional(
      Type.Object(captionOptionProperties, {
        additionalProperties: false,
        description:
          "pipelines caption and enrich: the language of the composed caption (default: the manifest language, else English), or a captioning model that writes the caption instead, with its beams and maxTokens (docs/captions.md)",
      }),
    ),
    explain: Type.Optional(
      Type.Object(
        {
          classifications: Type.Optional(
            Type.Boolean({ description: "Explain each canvas's most probable classification: about 50 passes of the embedder per canvas (docs/explanations.md)" }),
          ),
        },
        { additionalProperties: false, description: 'Saliency maps made while the job runs, kept as annotations linked to what they explain (docs/explanations.md)' },
      ),
    ),
    enhance: Type.Optional(
      Type.Object(EnhanceSettings.properties, {
        additionalProperties: false,
        description: 'Deblur and/or upscale each canvas image in preprocess; later stages read the derived image and map what they find back to the canvas (docs/enhance.md)',
      }),
    ),
    skip: Type.Optional(
      Type.Array(Type.Union(SKIP_PARTS.map((p) => Type.Literal(p))), {
        uniqueItems: true,
        description:
          'Parts of the pipeline to turn off: orientation (text, enrich), objects and faces (objects, enrich), text and embed (enrich); a part the pipeline lacks, or turning off all it does, is refused (docs/pipelines.md)',
      }),
    ),
  },
  { $id: 'CreateJobInput' },
);
export type CreateJobInput = Static<typeof CreateJobInput>;

const StageProgress = Type.Object({ done: Type.Integer(), failed: Type.Integer(), pending: Type.Integer(), ms: Type.Number() });

export const JobView = Type.Object(
  {
    id: Type.String(),
    source: Type.String(),
    state: Type.Union(['queued', 'harvesting', 'running', 'done', 'failed'].map((s) => Type.Literal(s))),
    created: Type.String(),
    finished: Type.Union([Type.String(), Type.Null()]),
    manifests: Type.Array(Type.String()),
    tasks: Type.Object({ total: Type.Integer(), done: Type.Integer(), failed: Type.Integer() }),
    stages: Type.Record(Type.String(), StageProgress),
    failures: Type.Array(
      Type.Object({ canvas: Type.Union([Type.String(), Type.Null()]), stage: Type.String(), code: Type.String(), message: Type.String() }),
    ),
    /**
     * The work queue behind each stage, shared by every job: messages waiting, in flight, and the
     * workers consuming it. `workers: 0` with messages pending means the stage's service is down:
     * the work waits there until it comes back.
     */
    queues: Type.Record(Type.String(), Type.Object({ pending: Type.Integer(), inFlight: Type.Integer(), workers: Type.Integer() })),
    links: Type.Object({ self: Type.String(), manifest: Type.String() }),
  },
  { $id: 'JobView' },
);
export type JobView = Static<typeof JobView>;

export const DeadLetterView = Type.Object(
  {
    seq: Type.Integer(),
    subject: Type.String(),
    stage: Type.String(),
    msgId: Type.String(),
    deliveries: Type.Integer(),
    error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }),
    at: Type.String(),
    /** The message itself (a routing slip: job, canvas, results so far), when it is JSON. */
    message: Type.Unknown(),
  },
  { $id: 'DeadLetterView' },
);
export type DeadLetterView = Static<typeof DeadLetterView>;
