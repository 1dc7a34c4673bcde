import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { SERVICE_APIS } from './apis.js';
import { LoupeError } from './errors.js';
import type { PipelineName } from './jobs.js';
import { PreparedImage } from './prepared-image.js';
import type { StageInput } from './pipeline.js';

/** Each pipeline stage, by the name its result travels under, and the queue handler that runs it. */
export const STAGES = {
  preprocess: SERVICE_APIS.preprocess.prepare,
  detect: SERVICE_APIS.detect.detect,
  'detect.text': SERVICE_APIS.detect.text,
  embed: SERVICE_APIS.embed.canvas,
  classify: SERVICE_APIS.classify.canvas,
  caption: SERVICE_APIS.caption.canvas,
  store: SERVICE_APIS['ground-truth'].store,
} as const;
export type StageName = keyof typeof STAGES;
export const STAGE_NAMES = Object.keys(STAGES) as readonly StageName[];
export const isStageName = (name: string): name is StageName => Object.hasOwn(STAGES, name);

/**
 * What a later stage may rely on in each earlier stage's result: the output its handler declares.
 * A preprocess result's fields are all optional here: its readers take hints from operators at the
 * stage routes (`{ rotation: 180 }`) and from slips an earlier Loupe queued, which carry only some
 * of them; each field that is present is checked all the same.
 */
const RESULT_SCHEMAS = {
  preprocess: Type.Partial(PreparedImage),
  detect: STAGES.detect.output,
  'detect.text': STAGES['detect.text'].output,
  embed: STAGES.embed.output,
  classify: STAGES.classify.output,
  caption: STAGES.caption.output,
  store: STAGES.store.output,
} as const satisfies Record<StageName, TSchema>;

/** The typed routing slip: stage name -> what that stage handed on. */
export type StageResults = { readonly [S in StageName]: Static<(typeof RESULT_SCHEMAS)[S]> };

// Compiled on first read: a process that never reads a stage's result never pays for its checker.
const checkers = new Map<StageName, TypeCheck<TSchema>>();
const checkerOf = (stage: StageName): TypeCheck<TSchema> => {
  let check = checkers.get(stage);
  if (!check) checkers.set(stage, (check = TypeCompiler.Compile(RESULT_SCHEMAS[stage])));
  return check;
};

/**
 * An earlier stage's result from the slip, checked against what that stage declares: once, where
 * a stage takes it, so nothing behind reads it defensively. Absent: undefined (the pipeline has no
 * such stage, or the caller of a stage route gave none). Present but malformed: the stage fails
 * with LOUPE_ERR_VALIDATION naming the field, as for any other input it cannot use.
 */
export function stageResult<S extends StageName>(results: StageInput['results'], stage: S): StageResults[S] | undefined {
  const value = results[stage];
  if (value === undefined) return undefined;
  const check = checkerOf(stage);
  if (check.Check(value)) return value as StageResults[S];
  const first = check.Errors(value).First();
  const path = `/results/${stage}${first?.path ?? ''}`;
  const message = first?.message ?? `is not a ${stage} result`;
  throw new LoupeError('LOUPE_ERR_VALIDATION', `${path} ${message}`, { details: { errors: [{ in: 'results', path, message }] } });
}

/** One step of a pipeline: a stage, the queue it is reached on, and what the pipeline asks of it. */
export interface RouteStep {
  readonly stage: StageName;
  readonly subject: string;
  readonly options?: Readonly<Record<string, unknown>>;
}

const step = (stage: StageName, options?: Record<string, unknown>): RouteStep => ({ stage, subject: STAGES[stage].subject, ...(options && { options }) });

/** Each pipeline is the ordered list of stages a canvas image goes through. */
export const PIPELINES: Readonly<Record<PipelineName, readonly RouteStep[]>> = {
  text: [
    // A page scanned upside down is turned upright (from its text lines) before text detection.
    step('preprocess', { orientation: 'text' }),
    step('detect.text'),
    step('store'),
  ],
  // Objects and faces: pictures, photographs, paintings.
  objects: [step('preprocess', { orientation: 'exif' }), step('detect', { kinds: ['objects', 'faces'] }), step('store')],
  // Image embeddings and perceptual hashes, kept by the embed service for search and duplicates.
  embed: [step('embed')],
  // Everything the offline pack does, in one pass over the collection.
  enrich: [step('preprocess', { orientation: 'text' }), step('detect', { kinds: ['objects', 'faces', 'text'] }), step('embed'), step('caption'), step('store')],
  // A sentence per canvas composed from what detection found (objects, faces, text): docs/captions.md.
  caption: [step('preprocess', { orientation: 'text' }), step('detect', { kinds: ['objects', 'faces', 'text'] }), step('caption'), step('store')],
  // Whole-image concepts from a vocabulary: a trained head or zero-shot (the job's `classify` options).
  classify: [step('preprocess', { orientation: 'exif' }), step('classify'), step('store')],
};

/**
 * The work-queue message between stages: a routing slip. `route` lists the stages still to visit,
 * the current one first; each stage adds its output to `results` under its own name and forwards
 * the envelope. The results travel as JSON: a stage reads one through `stageResult`.
 */
export interface StageEnvelope<S extends string = StageName> {
  readonly jobId: string;
  readonly key: string;
  readonly task: StageInput['task'];
  readonly route: readonly { readonly subject: string; readonly stage: S; readonly options?: Readonly<Record<string, unknown>> }[];
  readonly results: StageInput['results'];
}
