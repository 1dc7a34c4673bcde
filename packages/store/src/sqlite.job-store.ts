import { LoupeError, type CanvasTask } from '@loupe/contracts';
import { nowIso, openDatabase, run, type SqliteDatabase } from './sqlite.database.js';
import type { Job, JobFailure, JobSpec, JobState, JobStore, JobTaskInput, KeptManifest, OpenTask, StageProgress, UnfinishedJob } from './store.js';

const JOB_STATES: readonly JobState[] = ['queued', 'harvesting', 'running', 'done', 'failed'];
const DEFAULT_LIST_LIMIT = 20;
/** Open tasks read per query when walking a job: bounded memory for a job of any size. */
const OPEN_TASKS_PAGE = 500;

interface JobRow {
  id: string;
  source: string;
  state: JobState;
  created: string;
  finished: string | null;
  stages_json: string;
}

/**
 * The embedded job store: one SQLite file (or memory); it may share the annotation store's file.
 * `exclusive` holds the file while it is open (`loupe run` keeps its job in its output folder, and
 * a second run into that folder is refused rather than sharing it): see openDatabase.
 */
export function openSqliteJobStore(opts: { path: string | ':memory:'; exclusive?: boolean }): JobStore {
  return new SqliteJobStore(openDatabase(opts.path, { exclusive: opts.exclusive ?? false }));
}

class SqliteJobStore implements JobStore {
  readonly #db: SqliteDatabase;
  #closed = false;
  readonly #isClosed = (): boolean => this.#closed;
  readonly #stmt;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#stmt = {
      create: db.prepare<[string, string, string, string, string | null]>(
        `INSERT INTO jobs (id, source, state, created, stages_json, spec_json) VALUES (?, ?, 'queued', ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      exists: db.prepare<[string], { id: string }>('SELECT id FROM jobs WHERE id = ?'),
      setState: db.prepare<{ id: string; state: JobState; now: string }>(
        `UPDATE jobs SET state = @state,
                finished = CASE WHEN @state IN ('done', 'failed') THEN coalesce(finished, @now) ELSE finished END
         WHERE id = @id`,
      ),
      // The write path decides when a job is done, so `finished` is the moment its last task ended.
      settle: db.prepare<{ id: string; now: string }>(
        `UPDATE jobs SET state = 'done', finished = coalesce(finished, @now)
         WHERE id = @id AND state = 'running'
           AND NOT EXISTS (SELECT 1 FROM job_tasks WHERE job_id = @id AND state = 'pending')`,
      ),
      addManifest: db.prepare<[string, string, string | null, Uint8Array | null]>(
        `INSERT INTO job_manifests (job_id, manifest_id, document, json_br) VALUES (?, ?, ?, ?)
         ON CONFLICT (job_id, manifest_id) DO UPDATE SET
           document = coalesce(job_manifests.document, excluded.document), json_br = coalesce(job_manifests.json_br, excluded.json_br)`,
      ),
      keptManifest: db.prepare<[string, string], { document: string | null; json_br: Buffer | null }>(
        'SELECT document, json_br FROM job_manifests WHERE job_id = ? AND manifest_id = ?',
      ),
      // A harvest run again after a crash adds the same tasks: their state stays, and so does the
      // task first stored (filled in only where a row has none).
      addTask: db.prepare<[string, string, string, number, number, string | null]>(
        `INSERT INTO job_tasks (job_id, key, canvas_id, canvas_index, image_index, task_json) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, key) DO UPDATE SET task_json = coalesce(job_tasks.task_json, excluded.task_json)`,
      ),
      taskExists: db.prepare<[string, string], { key: string }>('SELECT key FROM job_tasks WHERE job_id = ? AND key = ?'),
      stageDone: db.prepare<[string, string, string, number]>('INSERT OR IGNORE INTO job_stage_events (job_id, key, stage, ms) VALUES (?, ?, ?, ?)'),
      addFailure: db.prepare<[string, string | null, string | null, string, string, string, string]>(
        'INSERT OR IGNORE INTO job_failures (job_id, key, canvas, stage, code, message, dedup) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      // Only an open task can end: the first terminal state wins, so a late redelivery cannot flip it.
      endTask: db.prepare<[string, string, string]>(`UPDATE job_tasks SET state = ? WHERE job_id = ? AND key = ? AND state = 'pending'`),
      job: db.prepare<[string], JobRow>('SELECT id, source, state, created, finished, stages_json FROM jobs WHERE id = ?'),
      newest: db.prepare<[number], JobRow>(
        'SELECT id, source, state, created, finished, stages_json FROM jobs ORDER BY created DESC, rowid DESC LIMIT ?',
      ),
      manifests: db.prepare<[string], { manifest_id: string }>('SELECT manifest_id FROM job_manifests WHERE job_id = ? ORDER BY rowid'),
      unfinished: db.prepare<[], { id: string; source: string; state: UnfinishedJob['state']; spec_json: string | null }>(
        `SELECT id, source, state, spec_json FROM jobs WHERE state IN ('queued', 'harvesting', 'running') ORDER BY created, rowid`,
      ),
      // Keyset paging on rowid: insertion order, and stable while other tasks end meanwhile.
      openTasks: db.prepare<[string, number, number], { seq: number; key: string; task_json: string | null }>(
        `SELECT rowid AS seq, key, task_json FROM job_tasks WHERE job_id = ? AND state = 'pending' AND rowid > ? ORDER BY rowid LIMIT ?`,
      ),
      taskCounts: db.prepare<[string], { total: number; done: number | null; failed: number | null }>(
        `SELECT count(*) AS total, sum(state = 'done') AS done, sum(state = 'failed') AS failed FROM job_tasks WHERE job_id = ?`,
      ),
      stageDoneCounts: db.prepare<[string], { stage: string; done: number; ms: number; open: number }>(
        `SELECT e.stage, count(*) AS done, total(e.ms) AS ms, total(t.state = 'pending') AS open
         FROM job_stage_events e JOIN job_tasks t ON t.job_id = e.job_id AND t.key = e.key
         WHERE e.job_id = ? GROUP BY e.stage`,
      ),
      stageFailedCounts: db.prepare<[string], { stage: string; failed: number }>(
        `SELECT f.stage, count(DISTINCT f.key) AS failed
         FROM job_failures f JOIN job_tasks t ON t.job_id = f.job_id AND t.key = f.key
         WHERE f.job_id = ? AND t.state = 'failed'
           AND NOT EXISTS (SELECT 1 FROM job_stage_events e WHERE e.job_id = f.job_id AND e.key = f.key AND e.stage = f.stage)
         GROUP BY f.stage`,
      ),
      failures: db.prepare<[string], JobFailure>(
        `SELECT f.canvas, f.stage, f.code, f.message
         FROM job_failures f LEFT JOIN job_tasks t ON t.job_id = f.job_id AND t.key = f.key
         WHERE f.job_id = ?
         ORDER BY t.canvas_index IS NOT NULL, t.canvas_index, t.image_index, f.rowid`,
      ),
    };
  }

  create(job: { id: string; source: string; stages: readonly string[]; spec?: JobSpec }): Promise<void> {
    return run('create', this.#isClosed, () => {
      requireText('id', job.id);
      requireText('source', job.source);
      if (!Array.isArray(job.stages) || !job.stages.every((s) => typeof s === 'string' && s !== '')) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', 'stages must be a list of stage names');
      }
      if (job.spec !== undefined) requireText('spec.pipeline', job.spec.pipeline);
      this.#stmt.create.run(job.id, job.source, nowIso(), JSON.stringify(job.stages), job.spec === undefined ? null : JSON.stringify(job.spec));
    });
  }

  setState(jobId: string, state: JobState): Promise<void> {
    return run('setState', this.#isClosed, () => {
      if (!JOB_STATES.includes(state)) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `Unknown job state ${JSON.stringify(state)}`, { details: { allowed: JOB_STATES } });
      }
      this.#db.transaction(() => {
        const now = nowIso();
        if (this.#stmt.setState.run({ id: jobId, state, now }).changes === 0) throw jobNotFound(jobId);
        // A job set running after its tasks already ended (or with none) is done at once.
        this.#stmt.settle.run({ id: jobId, now });
      })();
    });
  }

  addManifest(jobId: string, manifestId: string, kept?: KeptManifest): Promise<void> {
    return run('addManifest', this.#isClosed, () => {
      requireText('manifestId', manifestId);
      if (kept !== undefined) {
        requireText('kept.document', kept.document);
        if (!(kept.jsonBrotli instanceof Uint8Array)) throw new LoupeError('LOUPE_ERR_VALIDATION', 'kept.jsonBrotli must be bytes');
      }
      this.#db.transaction(() => {
        this.#requireJob(jobId);
        this.#stmt.addManifest.run(jobId, manifestId, kept?.document ?? null, kept?.jsonBrotli ?? null);
      })();
    });
  }

  keptManifest(jobId: string, manifestId: string): Promise<KeptManifest | undefined> {
    return run('keptManifest', this.#isClosed, () => {
      const row = this.#stmt.keptManifest.get(jobId, manifestId);
      if (!row || row.document === null || row.json_br === null) return undefined;
      return { document: row.document, jsonBrotli: row.json_br };
    });
  }

  addTasks(jobId: string, tasks: readonly JobTaskInput[]): Promise<void> {
    return run('addTasks', this.#isClosed, () => {
      for (const task of tasks) {
        requireText('key', task.key);
        requireText('canvasId', task.canvasId);
        requireIndex('canvasIndex', task.canvasIndex);
        requireIndex('imageIndex', task.imageIndex);
        if (task.task !== undefined && (task.task.canvasId !== task.canvasId || task.task.imageIndex !== task.imageIndex)) {
          throw new LoupeError('LOUPE_ERR_VALIDATION', 'a stored task must be for the same canvas and image as its key', { details: { key: task.key } });
        }
      }
      this.#db.transaction(() => {
        this.#requireJob(jobId);
        for (const task of tasks) {
          this.#stmt.addTask.run(jobId, task.key, task.canvasId, task.canvasIndex, task.imageIndex, task.task === undefined ? null : JSON.stringify(task.task));
        }
      })();
    });
  }

  stageDone(jobId: string, key: string, stage: string, ms: number): Promise<void> {
    return run('stageDone', this.#isClosed, () => {
      requireText('stage', stage);
      if (!Number.isFinite(ms) || ms < 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'ms must be a non-negative number', { details: { ms } });
      this.#db.transaction(() => {
        this.#requireTask(jobId, key);
        this.#stmt.stageDone.run(jobId, key, stage, ms);
      })();
    });
  }

  fail(jobId: string, key: string | null, failure: JobFailure): Promise<void> {
    return run('fail', this.#isClosed, () => {
      requireText('stage', failure.stage);
      requireText('code', failure.code);
      if (typeof failure.message !== 'string') throw new LoupeError('LOUPE_ERR_VALIDATION', 'message must be a string');
      const canvas = failure.canvas ?? null;
      const dedup = key === null ? JSON.stringify([null, canvas, failure.message]) : JSON.stringify([key]);
      this.#db.transaction(() => {
        this.#requireJob(jobId);
        // A failure is recorded even for a key the job does not know: losing a failure report is worse.
        this.#stmt.addFailure.run(jobId, key, canvas, failure.stage, failure.code, failure.message, dedup);
        if (key !== null && this.#stmt.endTask.run('failed', jobId, key).changes > 0) {
          this.#stmt.settle.run({ id: jobId, now: nowIso() });
        }
      })();
    });
  }

  taskDone(jobId: string, key: string): Promise<void> {
    return run('taskDone', this.#isClosed, () => {
      this.#db.transaction(() => {
        this.#requireTask(jobId, key);
        if (this.#stmt.endTask.run('done', jobId, key).changes > 0) this.#stmt.settle.run({ id: jobId, now: nowIso() });
      })();
    });
  }

  get(jobId: string): Promise<Job | undefined> {
    return run('get', this.#isClosed, () =>
      // One read transaction: every count comes from the same snapshot.
      this.#db.transaction(() => {
        const row = this.#stmt.job.get(jobId);
        return row && this.#toJob(row);
      })(),
    );
  }

  list(limit = DEFAULT_LIST_LIMIT): Promise<Job[]> {
    return run('list', this.#isClosed, () => {
      if (!Number.isSafeInteger(limit) || limit < 0) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', 'limit must be a non-negative integer', { details: { limit } });
      }
      return this.#db.transaction(() => this.#stmt.newest.all(limit).map((row) => this.#toJob(row)))();
    });
  }

  unfinished(): Promise<UnfinishedJob[]> {
    return run('unfinished', this.#isClosed, () =>
      this.#db.transaction(() =>
        this.#stmt.unfinished.all().map((row) => ({
          id: row.id,
          source: row.source,
          state: row.state,
          ...(row.spec_json !== null && { spec: JSON.parse(row.spec_json) as JobSpec }),
          tasks: this.#taskCounts(row.id),
        })),
      )(),
    );
  }

  async *openTasks(jobId: string): AsyncIterable<OpenTask> {
    for (let after = 0; ; ) {
      const page = await run('openTasks', this.#isClosed, () => this.#stmt.openTasks.all(jobId, after, OPEN_TASKS_PAGE));
      for (const row of page) yield { key: row.key, ...(row.task_json !== null && { task: JSON.parse(row.task_json) as CanvasTask }) };
      if (page.length < OPEN_TASKS_PAGE) return;
      after = page[page.length - 1]!.seq;
    }
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#db.close();
    }
    return Promise.resolve();
  }

  #requireJob(jobId: string): void {
    if (!this.#stmt.exists.get(jobId)) throw jobNotFound(jobId);
  }

  #requireTask(jobId: string, key: string): void {
    this.#requireJob(jobId);
    if (!this.#stmt.taskExists.get(jobId, key)) {
      throw new LoupeError('LOUPE_ERR_NOT_FOUND', 'The job has no task with this key', { details: { jobId, key } });
    }
  }

  #taskCounts(jobId: string): Job['tasks'] {
    const counts = this.#stmt.taskCounts.get(jobId);
    return { total: counts?.total ?? 0, done: counts?.done ?? 0, failed: counts?.failed ?? 0 };
  }

  #toJob(row: JobRow): Job {
    const tasks = this.#taskCounts(row.id);
    const open = tasks.total - tasks.done - tasks.failed;
    const stages: Record<string, StageProgress> = {};
    for (const stage of JSON.parse(row.stages_json) as string[]) stages[stage] = { done: 0, failed: 0, pending: open, ms: 0 };
    // A stage the job was not created with still shows up once something reports it.
    const stageOf = (name: string): StageProgress => (stages[name] ??= { done: 0, failed: 0, pending: open, ms: 0 });
    for (const s of this.#stmt.stageDoneCounts.all(row.id)) {
      const progress = stageOf(s.stage);
      progress.done = s.done;
      progress.ms = s.ms;
      progress.pending = open - s.open;
    }
    for (const s of this.#stmt.stageFailedCounts.all(row.id)) stageOf(s.stage).failed = s.failed;
    return {
      id: row.id,
      source: row.source,
      state: row.state,
      created: row.created,
      finished: row.finished,
      manifests: this.#stmt.manifests.all(row.id).map((m) => m.manifest_id),
      tasks,
      stages,
      failures: this.#stmt.failures.all(row.id),
    };
  }
}

function jobNotFound(jobId: string): LoupeError {
  return new LoupeError('LOUPE_ERR_JOB_NOT_FOUND', undefined, { details: { jobId } });
}

function requireText(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new LoupeError('LOUPE_ERR_VALIDATION', `${name} must be a non-empty string`);
}

function requireIndex(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${name} must be a non-negative integer`, { details: { [name]: value } });
  }
}
