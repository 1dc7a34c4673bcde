import type { Annotation, CanvasTask, OcrPage, ReviewState } from '@loupe/contracts';
import type { SkosConcept, SkosVocabulary } from '@loupe/datasets';

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
  /** One canvas, or any of several (an empty list matches nothing). */
  readonly canvasId?: string | readonly string[];
  readonly manifestId?: string;
  readonly motivation?: string;
  readonly modelId?: string;
  /** One state, or any of several (an empty list matches nothing). */
  readonly reviewState?: ReviewState | readonly ReviewState[];
  /**
   * A concept URI or a label: matches the first SpecificResource body's source or the first
   * TextualBody value whose purpose is 'tagging', 'classifying' or 'identifying' (a
   * transcription, without purpose, or a description never matches). A non-empty string.
   */
  readonly concept?: string;
  /**
   * Inclusive confidence range; annotations without a confidence never match a range, and a
   * range with min > max matches nothing. Values that are not finite numbers are LOUPE_ERR_VALIDATION.
   */
  readonly minConfidence?: number;
  readonly maxConfidence?: number;
  /**
   * Annotations of the named dataset: its members, and every annotation whose manifest it lists
   * as a source (stored later ones included). Annotations know only their manifest, so a
   * collection URI among the sources matches nothing by itself: register its manifests (as
   * `loupe harvest iiif` does). An unknown dataset is LOUPE_ERR_NOT_FOUND (a typo must not look
   * like an empty dataset); a name that breaks the dataset name rule is LOUPE_ERR_VALIDATION.
   */
  readonly dataset?: string;
  /** Only these annotations (unknown ids are ignored; an empty list matches nothing). */
  readonly ids?: readonly string[];
  /**
   * Return each annotation as first written (revision 0: what the model said, or what was
   * imported) instead of its current revision, with the current review fields
   * (`loupe:reviewState`, `loupe:revision`, `modified`). Filters (concept, confidence,
   * motivation) still match the current revision.
   */
  readonly original?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * A curator's change to an annotation: the fields given replace the current revision's. At least
 * one is needed and no other field is allowed (LOUPE_ERR_VALIDATION): body is a body with a type
 * or a non-empty list of them, target a canvas id or a SpecificResource with a source, motivation
 * one or a non-empty list. The annotation keeps its id, canvas, provenance and confidence.
 */
export interface Correction {
  readonly body?: Annotation['body'];
  readonly target?: Annotation['target'];
  readonly motivation?: Annotation['motivation'];
}

export interface ReviewInput {
  /**
   * 'corrected' needs a correction; a correction with another state is LOUPE_ERR_VALIDATION.
   * 'unreviewed' withdraws a judgement (the annotation is the model's again, see replaceResultSet).
   */
  readonly state: ReviewState;
  readonly reviewer: string;
  readonly correction?: Correction;
  readonly note?: string;
}

/** One revision of an annotation. Revision 0 is as produced (or imported); each review adds one. */
export interface Revision {
  readonly revision: number;
  readonly state: ReviewState;
  /** null for revision 0 of a model's output. */
  readonly reviewer: string | null;
  /**
   * When the revision was made: a review's time; for revision 0 the import time of ground truth
   * (or a review recorded before revisions existed), else the annotation's `generated`, else `created`.
   */
  readonly at: string;
  readonly note?: string;
  /**
   * The annotation as it was at this revision, with its review state, `loupe:revision`, and
   * `modified` (= `at`) when the revision has a reviewer. The last revision equals `get()` until a
   * re-run of the model updates the current annotation's `generated`.
   */
  readonly annotation: Annotation;
}

/** Ground truth that did not come from a model run: imported datasets, a curator's own boxes. */
export interface GroundTruthInput {
  readonly manifestId: string;
  readonly canvasId: string;
  readonly annotation: Annotation;
}

/** What the store knows of a canvas: enough to show it (IIIF) and to export it (size). */
export interface CanvasRecord {
  readonly canvasId: string;
  readonly manifestId: string;
  readonly label?: string;
  /** Its place in its manifest (0 for the first canvas), when it came from a harvest: the order layers walk. */
  readonly index?: number;
  readonly width: number;
  readonly height: number;
  /** The painted image: its Image API service when it has one, else its URL. */
  readonly image: { readonly id: string; readonly service?: string; readonly serviceVersion?: number; readonly width?: number; readonly height?: number };
}

/** The OCR pages of one manifest, or of one canvas (both: that canvas, if it is in that manifest). */
export interface OcrPageFilter {
  readonly manifestId?: string;
  readonly canvasId?: string;
}

/** Which text stage's page is stored for which canvas image: what a listing needs, without the page. */
export interface OcrPageEntry {
  readonly key: ResultSetKey;
  readonly modelVersion: string;
  /** When the model read it (its result set's `generated`): among several models' pages of a canvas, the latest is the newest reading. */
  readonly generated: string;
}

/** A text stage's page as stored beside its result set's annotations. */
export interface StoredOcrPage extends OcrPageEntry {
  readonly page: OcrPage;
}

/** A SKOS concept, as the vocabulary parsers of @loupe/datasets read it. */
export type Concept = SkosConcept;
/** A concept scheme: its id (the scheme's URI, or a name the importer chose) and its concepts. */
export type Vocabulary = SkosVocabulary;

export interface VocabularySummary {
  readonly id: string;
  readonly label?: string;
  readonly concepts: number;
}

export interface Dataset {
  readonly name: string;
  readonly description?: string;
  readonly created: string;
  /** Manifest (or collection) URIs whose annotations belong to the dataset. */
  readonly sources: readonly string[];
  /** Annotations added one by one (imports add theirs). */
  readonly members: number;
}

/**
 * The ground-truth store port. Adapters: embedded (SQLite, default) and MongoDB; one contract
 * suite (annotation-store.contract.ts) runs against each, and both validate input with the
 * shared checks in annotation-checks.ts so that they refuse the same things with the same codes.
 * Every method returns plain data; none leaks a driver type.
 */
export interface AnnotationStore {
  /**
   * Replaces the result set `key` with `annotations` in one transaction. Annotation ids are
   * deterministic, so writing the same set twice leaves one copy of each, and an annotation a
   * curator already reviewed keeps its review state when the model says the same thing again.
   *
   * An annotation already stored under the same id keeps its review state, reviewer, revisions
   * and `created`; an unreviewed one gets the new body and `generated` (its revision 0 is
   * replaced); a reviewed one keeps its current revision (a correction is never overwritten by
   * the model) and only `generated` changes (and the set membership, order and model version).
   * Unreviewed annotations the set no longer produces are removed, with their history and
   * dataset memberships. Reviewed ones are never deleted silently: they stay, detached from the set (a
   * later write of the set no longer touches them unless it produces them again), and are
   * counted in `kept`.
   *
   * "Reviewed" is the current state: an annotation a curator set back to 'unreviewed' is the
   * model's again. A re-run replaces its current body and its revision 0; the later revisions
   * stay in its history as the curator saw them.
   */
  replaceResultSet(key: ResultSetKey, modelVersion: string, annotations: readonly Annotation[]): Promise<ReplaceResult>;
  /**
   * Annotations with their current review state (`loupe:reviewState`, `loupe:revision`, and
   * `modified` once reviewed), ordered by canvas id, image index, stage, model, then the order
   * the model gave.
   */
  query(q: AnnotationQuery): Promise<Annotation[]>;
  /** How many annotations `query` would return without `limit` and `offset`. */
  count(q: AnnotationQuery): Promise<number>;
  get(id: string): Promise<Annotation | undefined>;
  /**
   * Sets the review state of the current annotation (a new revision): `review` without a note or
   * correction, so 'corrected' is LOUPE_ERR_VALIDATION here. Unknown ids are LOUPE_ERR_NOT_FOUND.
   */
  setReviewState(id: string, state: ReviewState, reviewer: string): Promise<Annotation>;
  /**
   * Writes a new revision: the state, who and when, and for 'corrected' the corrected body,
   * target or motivation. Nothing is overwritten: `history` returns every revision. Each call
   * writes one revision, even in the state the annotation already has. Returns the annotation
   * at its new revision (`loupe:revision` = previous + 1, `modified` = the review time). Unknown
   * ids are LOUPE_ERR_NOT_FOUND; a missing reviewer, an unknown state, 'corrected' without a
   * correction, a correction with another state, or a malformed correction or note are
   * LOUPE_ERR_VALIDATION.
   */
  review(id: string, input: ReviewInput): Promise<Annotation>;
  /**
   * Every revision of the annotation, oldest first (revision 0 first: one item for an annotation
   * never reviewed); unknown ids are LOUPE_ERR_NOT_FOUND.
   */
  history(id: string): Promise<Revision[]>;
  /**
   * Reviews every annotation the filter matches (limit, offset and original are ignored) in one
   * transaction, one revision each. Only 'accepted', 'rejected' and 'unreviewed' (no
   * corrections in bulk: 'corrected', or a `correction` field, is LOUPE_ERR_VALIDATION).
   * Annotations already in that state are left alone and not counted. All revisions of one call
   * share one review time. Filter errors are those of `query`.
   */
  reviewMany(filter: AnnotationQuery, input: Omit<ReviewInput, 'correction'>): Promise<{ updated: number }>;
  /**
   * Stores annotations that did not come from a model (imports, a curator's own): stage
   * 'ground-truth', model `source`, state 'accepted' by `reviewer` at revision 0. Ids must be
   * deterministic (the importer derives them from the content): writing the same input again
   * changes nothing (counted in `kept`) and keeps any later review; an id repeated within one
   * call is LOUPE_ERR_VALIDATION (nothing is written). Image index 0, model version '1',
   * `modified` = the import time; review fields the annotations carry are ignored. They belong to
   * no result set (no replaceResultSet touches them) and come, per canvas and source, after the
   * ones imported before. An empty source or reviewer, or an item without manifestId/canvasId or
   * annotation id, is LOUPE_ERR_VALIDATION.
   */
  putGroundTruth(items: readonly GroundTruthInput[], opts: { readonly source: string; readonly reviewer: string }): Promise<{ inserted: number; kept: number }>;

  /**
   * Replaces the OCR page of the result set `key` (the page the text engine laid out, beside the
   * set's annotations), read at `generated` (the set's): a re-run replaces it, and `undefined`
   * removes it, as a set written again without a page has none. A key as replaceResultSet checks
   * it; an empty `generated`, or a page without positive integer width and height or without a
   * blocks list is LOUPE_ERR_VALIDATION.
   */
  replaceOcrPage(key: ResultSetKey, modelVersion: string, page: OcrPage | undefined, generated: string): Promise<void>;
  /** The OCR pages the filter matches, ordered by canvas id, image index, stage, then model. */
  ocrPages(filter: OcrPageFilter): Promise<StoredOcrPage[]>;
  /**
   * The same, without the pages: which canvases have one, read by the listing and the enriched
   * manifest without loading every page of a manifest (a newspaper's are hundreds of kB each).
   */
  ocrPageEntries(filter: OcrPageFilter): Promise<OcrPageEntry[]>;

  /**
   * Records (or replaces, as a whole) what is known of a canvas. Empty canvasId or manifestId,
   * width/height that are not non-negative integers, or an image without a string id are
   * LOUPE_ERR_VALIDATION.
   */
  putCanvas(canvas: CanvasRecord): Promise<void>;
  getCanvas(canvasId: string): Promise<CanvasRecord | undefined>;
  /**
   * Canvases with at least one annotation that `filter` matches (limit/offset apply to the
   * canvases), in canvas id order, each with how many annotations match. Canvases never recorded
   * with putCanvas are returned with their annotations' manifest, width/height 0 and image id ''.
   */
  canvases(filter: AnnotationQuery): Promise<{ canvas: CanvasRecord; annotations: number }[]>;

  /**
   * Creates or replaces the vocabulary `id` (its concepts are replaced as a whole, in one
   * transaction). An empty id, a concept without uri or prefLabel (an object of strings), a URI
   * listed twice (named in the message), or broader/narrower/exactMatch that are not lists of
   * URIs are LOUPE_ERR_VALIDATION, and nothing changes.
   */
  putVocabulary(vocabulary: Vocabulary): Promise<{ concepts: number }>;
  /** The vocabulary with its concepts in the order they were given. */
  getVocabulary(id: string): Promise<Vocabulary | undefined>;
  /** Every vocabulary, in id order. */
  listVocabularies(): Promise<VocabularySummary[]>;
  /**
   * The concept with this URI (or exactMatch URI) in any vocabulary, with the vocabulary it is in.
   * A concept's own URI wins over an exactMatch; among several vocabularies, the first by id.
   * An empty URI is LOUPE_ERR_VALIDATION.
   */
  findConcept(uri: string): Promise<(Concept & { readonly vocabulary: string }) | undefined>;

  /*
   * Dataset names are 1 to 100 characters of A-Z, a-z, 0-9, '.', '_' and '-' (they appear in URL
   * paths and file names). Every method that takes a name refuses another with
   * LOUPE_ERR_VALIDATION, naming the rule.
   */

  /** Creates the dataset if it does not exist (an existing one keeps its members; description is updated when given). */
  createDataset(input: { readonly name: string; readonly description?: string }): Promise<Dataset>;
  getDataset(name: string): Promise<Dataset | undefined>;
  /** Every dataset, in name order. */
  listDatasets(): Promise<Dataset[]>;
  /**
   * Adds manifest or collection URIs as sources (kept in the order added); known ones are
   * ignored. Unknown dataset: LOUPE_ERR_NOT_FOUND; an empty source: LOUPE_ERR_VALIDATION.
   */
  addDatasetSources(name: string, sources: readonly string[]): Promise<{ added: number }>;
  /**
   * Adds annotations by id; ids already members are ignored, unknown ids are LOUPE_ERR_NOT_FOUND
   * (nothing added). A member that a model re-run removes (an unreviewed annotation the model no
   * longer produces) leaves the dataset with it.
   */
  addDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ added: number }>;
  /** Removes members; ids that are not members are ignored. Unknown dataset: LOUPE_ERR_NOT_FOUND. */
  removeDatasetMembers(name: string, annotationIds: readonly string[]): Promise<{ removed: number }>;
  /** Deletes the dataset with its sources and members (its annotations stay); false if there was none. */
  deleteDataset(name: string): Promise<boolean>;

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
  /** The whole task as it was queued, so that a restart can queue it again without the source. */
  readonly task?: CanvasTask;
}

/** How a job was asked for: with its source, what a restart needs to start it again. */
export interface JobSpec {
  readonly pipeline: string;
  /** Options for stages by stage name, as given when the job was created. */
  readonly options?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** A manifest's JSON as a job harvested it, so that reading the job's manifest never reads the source again. */
export interface KeptManifest {
  /** The document it was read from: its own URL, or its collection's when embedded there. */
  readonly document: string;
  /** The JSON, brotli-compressed (as the iiif-fetcher answers it); the store keeps the bytes as given. */
  readonly jsonBrotli: Uint8Array;
}

/** A job that has not ended (queued, harvesting or running): what recovery after a crash reads. */
export interface UnfinishedJob {
  readonly id: string;
  readonly source: string;
  readonly state: 'queued' | 'harvesting' | 'running';
  /** Absent for a job created before Loupe kept it: such a job cannot be started again. */
  readonly spec?: JobSpec;
  readonly tasks: { total: number; done: number; failed: number };
}

/** A task still open, with the task it was queued with (absent if it was added without one). */
export interface OpenTask {
  readonly key: string;
  readonly task?: CanvasTask;
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
  create(job: { id: string; source: string; stages: readonly string[]; spec?: JobSpec }): Promise<void>;
  /** Sets the state; entering 'done' or 'failed' sets `finished` if it is not set yet. */
  setState(jobId: string, state: JobState): Promise<void>;
  /** Adds a manifest; given again, it keeps the JSON first kept (filled in only where it has none). */
  addManifest(jobId: string, manifestId: string, kept?: KeptManifest): Promise<void>;
  /** The manifest's JSON as kept at harvest; undefined when none was (an earlier Loupe, or past the budget). */
  keptManifest(jobId: string, manifestId: string): Promise<KeptManifest | undefined>;
  /** Adds tasks as pending; a key the job already has keeps its state (and its first stored task). */
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
  /** Jobs not yet done or failed, oldest first: after a crash, the ones to resume or fail. */
  unfinished(): Promise<UnfinishedJob[]>;
  /**
   * The job's open tasks (neither done nor failed) in the order they were added, read in pages so
   * that a job of any size can be walked. Tasks that end during the walk may or may not be listed.
   */
  openTasks(jobId: string): AsyncIterable<OpenTask>;
  close(): Promise<void>;
}

