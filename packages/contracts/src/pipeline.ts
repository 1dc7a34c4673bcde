import { Type, type Static } from '@sinclair/typebox';
import { CanvasTask } from './task.js';
import { ResultSet } from './annotation.js';

/**
 * What every pipeline stage handler takes: the task, and what earlier stages
 * said about it (keyed by stage name). Over HTTP a caller sends the same shape.
 */
export const StageInput = Type.Object(
  {
    task: CanvasTask,
    results: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    /** What the pipeline asks of this stage (e.g. preprocess: orientation, foreground). */
    options: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
  },
  { $id: 'StageInput' },
);
export type StageInput = Static<typeof StageInput>;

/** A stage that produces annotations returns them as result sets; the ground-truth stage stores them. */
export const FindingsOutput = Type.Object(
  { resultSet: ResultSet, ms: Type.Optional(Type.Record(Type.String(), Type.Number())) },
  { $id: 'FindingsOutput' },
);
export type FindingsOutput = Static<typeof FindingsOutput>;

/** A stage that runs several models (detect: objects, faces, text) returns one result set per model. */
export const ResultSetsOutput = Type.Object(
  { resultSets: Type.Array(ResultSet), ms: Type.Optional(Type.Record(Type.String(), Type.Number())) },
  { $id: 'ResultSetsOutput' },
);
export type ResultSetsOutput = Static<typeof ResultSetsOutput>;

/** What detect finds, each kind on request (pipeline options or the HTTP body's `options.kinds`). */
export const DETECT_KINDS = ['objects', 'faces', 'text'] as const;
export type DetectKind = (typeof DETECT_KINDS)[number];

/** Progress of a job, published by stages and applied by the gateway (idempotently). */
export type JobEvent =
  | { readonly type: 'stage-done'; readonly jobId: string; readonly key: string; readonly stage: string; readonly ms: number }
  | {
      readonly type: 'stage-failed';
      readonly jobId: string;
      readonly key: string;
      readonly canvas: string;
      readonly stage: string;
      readonly code: string;
      readonly message: string;
    }
  | { readonly type: 'task-done'; readonly jobId: string; readonly key: string };
