import type { Annotation, ReviewState } from '@loupe/contracts';

/** Identifies one result set: everything one model said, in one stage, about one image of a canvas. */
export interface ResultSetKey {
  readonly manifestId: string;
  readonly canvasId: string;
  readonly imageIndex: number;
  readonly stage: string;
  readonly modelId: string;
}

export interface ReplaceResult {
  /** Annotations the store did not hold before. */
  readonly inserted: number;
  /** Annotations produced again, plus reviewed annotations detached from the set instead of deleted. */
  readonly kept: number;
  /** Unreviewed annotations the set no longer produces. */
  readonly removed: number;
}

export interface AnnotationQuery {
  readonly canvasId?: string;
  readonly manifestId?: string;
  readonly motivation?: string;
  readonly modelId?: string;
  readonly reviewState?: ReviewState;
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * The ground-truth store port. Adapters: embedded (SQLite) now, MongoDB later;
 * one contract suite runs against each.
 */
export interface AnnotationStore {
  /**
   * Replaces the result set `key` with `annotations` in one transaction. Annotation ids are
   * deterministic, so writing the same set twice leaves one copy of each, and an annotation a
   * curator already reviewed keeps its review state when the model says the same thing again.
   *
   * An annotation already stored under the same id keeps its review state, reviewer and
   * `created`; its body and `generated` are replaced. Unreviewed annotations the set no longer
   * produces are removed. Reviewed ones are never deleted silently: they stay, detached from the
   * set (a later write of the set no longer touches them unless it produces them again), and are
   * counted in `kept`.
   */
  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult>;
  /**
   * Annotations with their current review state (`loupe:reviewState`, and `modified` once
   * reviewed), ordered by canvas id, image index, stage, model, then the order the model gave.
   */
  query(q: AnnotationQuery): Promise<Annotation[]>;
  /** How many annotations `query` would return without `limit` and `offset`. */
  count(q: AnnotationQuery): Promise<number>;
  get(id: string): Promise<Annotation | undefined>;
  /** Sets the review state of the current annotation; unknown ids are LOUPE_ERR_NOT_FOUND. */
  setReviewState(id: string, state: ReviewState, reviewer: string): Promise<Annotation>;
  close(): Promise<void>;
}

export type JobState = 'queued' | 'harvesting' | 'running' | 'done' | 'failed';

export interface JobFailure {
  readonly canvas: string | null;
  readonly stage: string;
  readonly code: string;
  readonly message: string;
}

export interface JobTaskInput {
  readonly key: string;
  readonly canvasId: string;
  readonly canvasIndex: number;
  readonly imageIndex: number;
}

/**
 * Progress of one stage over a job's tasks. `done + failed + pending` can be less than the task
 * total: the rest are tasks that ended (failed) at another stage and so never reach this one.
 */
export interface StageProgress {
  /** Tasks that finished this stage. */
  done: number;
  /** Tasks that ended failed with a failure recorded at this stage. */
  failed: number;
  /** Tasks still open (neither done nor failed) that have not finished this stage. */
  pending: number;
  /** Total milliseconds the done tasks spent in this stage. */
  ms: number;
}

export interface Job {
  readonly id: string;
  readonly source: string;
  readonly state: JobState;
  readonly created: string;
  readonly finished: string | null;
  readonly manifests: string[];
  readonly tasks: { total: number; done: number; failed: number };
  readonly stages: Record<string, StageProgress>;
  readonly failures: JobFailure[];
}

/**
 * Jobs and their per-task, per-stage progress. Every write is idempotent (redelivered events are
 * harmless). Writes to a job that does not exist are LOUPE_ERR_JOB_NOT_FOUND. A task's first
 * terminal state (done or failed) is final. A 'running' job becomes 'done', and gets `finished`,
 * when its last open task ends (or at once when it is set running with none open).
 */
export interface JobStore {
  /** Creates the job in state 'queued'; creating an existing id again changes nothing. */
  create(job: { id: string; source: string; stages: readonly string[] }): Promise<void>;
  /** Sets the state; entering 'done' or 'failed' sets `finished` if it is not set yet. */
  setState(jobId: string, state: JobState): Promise<void>;
  addManifest(jobId: string, manifestId: string): Promise<void>;
  /** Adds tasks as pending; a key the job already has is ignored. */
  addTasks(jobId: string, tasks: readonly JobTaskInput[]): Promise<void>;
  /** Records that `stage` finished for task `key`, taking `ms`; an unknown key is LOUPE_ERR_NOT_FOUND. */
  stageDone(jobId: string, key: string, stage: string, ms: number): Promise<void>;
  /**
   * Records a failure; with a task key the task counts as failed (its later stages do not run).
   * The same (key, stage, code) is recorded once; a failure without a key is recorded once per
   * (canvas, stage, code, message).
   */
  fail(jobId: string, key: string | null, failure: JobFailure): Promise<void>;
  /** Marks the task finished (all stages done); an unknown key is LOUPE_ERR_NOT_FOUND. */
  taskDone(jobId: string, key: string): Promise<void>;
  /** The job with its progress; failures without a task first, then by canvas index. */
  get(jobId: string): Promise<Job | undefined>;
  /** The newest `limit` jobs (default 20), newest first. */
  list(limit?: number): Promise<Job[]>;
  close(): Promise<void>;
}

