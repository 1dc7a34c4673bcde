import { randomUUID } from 'node:crypto';
import {
  PIPELINES,
  SERVICE_APIS,
  SUBJECTS,
  taskKey,
  toLoupeError,
  LoupeError,
  inConsumerSpan,
  type Span,
  type CanvasTask,
  type CreateJobInput,
  type JobEvent,
  type Logger,
  type PipelineName,
  type RouteStep,
  type SkipPart,
  type StageEnvelope,
} from '@loupe/contracts';
import { createClient, decode, encode, exponentialBackoff, type Bus, type ServiceClient, type Subscription, type WorkMessage } from '@loupe/bus';
import type { JobStore, UnfinishedJob } from '@loupe/store';

// The table lives in contracts beside the stages it names; the gateway's public entry still offers it.
export { PIPELINES };

type StageOptions = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

interface JobStart {
  readonly jobId: string;
  readonly source: string;
  readonly pipeline: PipelineName;
  /** Options for stages by stage name, merged over the pipeline's own. */
  readonly options?: StageOptions;
}

/**
 * The stage options a job's input asks for: `classify` goes to the classify stage; `ocr` to the
 * stages that read text (detect.text in pipeline text, detect in enrich), under `ocr`, beside the
 * pipeline's own options for them; `enhance` to preprocess; `explain` to store; `skip` becomes the options that turn those parts off
 * (`skipOptions`). They are what the job's spec keeps, so a resumed job runs the same route.
 */
export function stageOptionsOf(input: Pick<CreateJobInput, 'classify' | 'ocr' | 'skip' | 'caption' | 'enhance' | 'explain'> & { pipeline?: PipelineName }): StageOptions | undefined {
  const { classify, ocr, caption, enhance, explain } = input;
  if (explain?.classifications && input.pipeline !== 'classify') {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'explain.classifications goes with pipeline classify: no other pipeline classifies', {
      details: { errors: [{ in: 'body', path: '/explain/classifications', message: 'goes with pipeline classify' }] },
    });
  }
  if (ocr?.engine === 'ppocr' && ocr.languages) {
    // PP-OCR has one character set for every language: a list would be silently ignored.
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'ocr.languages goes with ocr.engine tesseract: PP-OCR reads with one model', {
      details: { errors: [{ in: 'body', path: '/ocr/languages', message: 'goes with engine tesseract' }] },
    });
  }
  const skip = input.skip?.length ? skipOptions(input.pipeline ?? 'text', input.skip) : undefined;
  if (ocr && input.skip?.includes('text')) throw skipRefused('/ocr', 'ocr goes with the text part, which skip turns off');
  const reads = ocr ? { ocr } : undefined;
  if (!classify && !reads && !skip && !caption && !enhance && !explain) return undefined;
  const options: Record<string, Readonly<Record<string, unknown>>> = {
    ...(classify && { classify }),
    ...(caption && { caption }),
    ...(reads && { 'detect.text': reads, detect: reads }),
    ...(enhance && { preprocess: { enhance } }),
    // The store stage explains: it holds the annotation ids an explanation links to.
    ...(explain && { store: { explain } }),
  };
  for (const [stage, off] of Object.entries(skip ?? {})) options[stage] = { ...options[stage], ...off };
  return options;
}

/** What a stage's options say when `skip` took the whole stage off the route. */
const OFF = { off: true } as const;

/** The parts of a pipeline's route that `skip` can name: read from the route, so the two cannot drift. */
export function partsOf(pipeline: PipelineName): SkipPart[] {
  return PIPELINES[pipeline].flatMap((step): SkipPart[] => {
    if (step.stage === 'preprocess') return step.options?.['orientation'] === 'text' ? ['orientation'] : [];
    if (step.stage === 'detect') return [...kindsOf(step)];
    if (step.stage === 'detect.text') return ['text'];
    if (step.stage === 'embed') return ['embed'];
    if (step.stage === 'caption') return ['caption'];
    return [];
  });
}

const kindsOf = (step: RouteStep): readonly SkipPart[] => (step.options?.['kinds'] as SkipPart[] | undefined) ?? [];

/**
 * The stage options that turn `skip`'s parts off a pipeline: orientation from text lines becomes
 * EXIF only (detect.text then finds the lines itself), a kind leaves detect's kinds, and a stage
 * left with nothing to do is off. Refuses a part the pipeline lacks, naming the ones it has, and a
 * skip that leaves nothing but fetching and storing.
 */
export function skipOptions(pipeline: PipelineName, skip: readonly string[]): StageOptions {
  const parts = partsOf(pipeline);
  const unknown = skip.filter((p) => !(parts as string[]).includes(p));
  if (unknown.length > 0) {
    const has = parts.length > 0 ? `its parts are ${parts.join(', ')}` : 'it has no parts to turn off';
    throw skipRefused('/skip', `pipeline ${pipeline} has no ${unknown.join(', ')} to skip: ${has}`, { allowed: parts });
  }
  const off = new Set(skip);
  const options: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const step of PIPELINES[pipeline]) {
    if (step.stage === 'preprocess' && off.has('orientation')) options[step.stage] = { orientation: 'exif' };
    if (step.stage === 'detect') {
      const kinds = kindsOf(step).filter((k) => !off.has(k));
      if (kinds.length < kindsOf(step).length) options[step.stage] = kinds.length > 0 ? { kinds } : OFF;
    }
    if ((step.stage === 'detect.text' && off.has('text')) || (step.stage === 'embed' && off.has('embed')) || (step.stage === 'caption' && off.has('caption'))) options[step.stage] = OFF;
  }
  const left = routeOf(pipeline, options).filter((r) => r.stage !== 'preprocess' && r.stage !== 'store');
  if (left.length === 0) throw skipRefused('/skip', `skipping ${skip.join(', ')} leaves pipeline ${pipeline} nothing to do`, { allowed: parts });
  return options;
}

function skipRefused(path: string, message: string, extra: Record<string, unknown> = {}): LoupeError {
  return new LoupeError('LOUPE_ERR_VALIDATION', message, { details: { errors: [{ in: 'body', path, message, ...extra }] } });
}

/**
 * What the gateway does at start with jobs a stopped process left queued, harvesting or running
 * (LOUPE_RECOVER_JOBS): `resume` them (tasks already done are not redone), or `fail` them with
 * LOUPE_ERR_JOB_INTERRUPTED.
 */
export type RecoverJobs = 'resume' | 'fail';

type Route = StageEnvelope['route'];

/** The pipeline's steps with the job's options merged over their own, less the steps its skip turned off. */
export function routeOf(pipeline: PipelineName, options: StageOptions | undefined): Route {
  return PIPELINES[pipeline]
    .filter((r) => options?.[r.stage]?.['off'] !== true)
    .map((r) => (options?.[r.stage] ? { ...r, options: { ...r.options, ...options[r.stage] } } : r));
}

const isPipeline = (name: string): name is PipelineName => Object.hasOwn(PIPELINES, name);

/** How long a job waits for the iiif-fetcher before it fails: about twenty minutes of retries. */
const START_MAX_DELIVER = 40;
/** 1 s before the second delivery, doubling, at most 30 s. */
const startBackoff = (delivery: number): number => exponentialBackoff(delivery, 1000, 30_000);

/**
 * Runs jobs. Creating one queues a start message on the gateway's own durable queue; taking it,
 * the runner harvests the source through the iiif-fetcher, queues one routing slip per canvas
 * image, and then applies the stages' progress events to the job store. Nothing waits on a
 * worker: a start whose iiif-fetcher is down is retried with backoff (the job reads
 * `harvesting`), and canvas work sits in the stage queues until a worker takes it. Every step
 * is idempotent, so a start delivered twice (a gateway killed half-way) changes nothing.
 */
export class JobRunner {
  private subscriptions: Subscription[] = [];
  private readonly client: ServiceClient;

  constructor(
    private readonly bus: Bus,
    private readonly jobs: JobStore,
    private readonly log: Logger,
  ) {
    this.client = createClient(bus);
  }

  async create(source: string, pipeline: PipelineName, options?: StageOptions): Promise<string> {
    const id = randomUUID();
    const route = routeOf(pipeline, options);
    // The spec is kept so that a restart can start the job again without the caller.
    await this.jobs.create({ id, source, stages: route.map((r) => r.stage), spec: { pipeline, ...(options && { options }) } });
    await this.publishStart({ jobId: id, source, pipeline, ...(options && { options }) });
    return id;
  }

  private publishStart(start: JobStart): Promise<unknown> {
    return this.bus.publish(SUBJECTS.jobStart, encode(start), { msgId: `${start.jobId}/start` });
  }

  /** The same msgId whoever queues the task, and however often: the bus drops a repeat inside its window. */
  private queueTask(jobId: string, task: CanvasTask, route: Route): Promise<unknown> {
    const first = route[0]!;
    const envelope: StageEnvelope = { jobId, key: taskKey(task), task, route, results: {} };
    return this.bus.publish(first.subject, encode(envelope), { msgId: `${jobId}/${envelope.key}/${first.stage}` });
  }

  private async harvestAndQueue(msg: WorkMessage): Promise<void> {
    const { jobId, source, pipeline, options } = decode<JobStart>(msg.data);
    const route = routeOf(pipeline, options);
    const job = await this.jobs.get(jobId);
    if (!job || job.state === 'done' || job.state === 'failed') return msg.ack();
    try {
      // A start delivered again after its harvest was stored (a gateway killed while queueing
      // tasks): queue what is still open rather than harvest again and redo what is done.
      if (job.state === 'running' && (await this.requeueOpen(jobId, route)) !== undefined) return msg.ack();
      if (job.state === 'queued') await this.jobs.setState(jobId, 'harvesting');
      // keepJson: the job keeps each manifest as read, and its enriched manifest never reads the source again.
      const harvest = await this.client.request(SERVICE_APIS['iiif-fetcher'].harvest, { source, keepJson: true }, { timeoutMs: 300_000 });
      for (const m of harvest.manifests) {
        await this.jobs.addManifest(jobId, m.id, m.json === undefined ? undefined : { document: m.document, jsonBrotli: Buffer.from(m.json, 'base64') });
      }
      for (const e of harvest.errors) {
        await this.jobs.fail(jobId, null, { canvas: e.canvas ?? null, stage: 'harvest', code: e.code, message: e.message });
      }
      for (const s of harvest.skipped) {
        await this.jobs.fail(jobId, null, { canvas: s.canvasId, stage: 'harvest', code: 'LOUPE_ERR_IMAGE_UNSUPPORTED', message: s.reason });
      }
      const tasks = harvest.tasks.map((t) => ({ ...t, jobId }));
      await this.jobs.addTasks(
        jobId,
        // Each task is stored whole: a restart queues the open ones again without harvesting.
        tasks.map((t) => ({ key: taskKey(t), canvasId: t.canvasId, canvasIndex: t.canvasIndex, imageIndex: t.imageIndex, task: t })),
      );
      if (harvest.manifests.length === 0) {
        await this.jobs.setState(jobId, 'failed');
        return msg.ack();
      }
      await this.jobs.setState(jobId, tasks.length === 0 ? 'done' : 'running');
      for (const task of tasks) await this.queueTask(jobId, task, route);
      this.log.info({ jobId, manifests: harvest.manifests.length, tasks: tasks.length }, 'job queued');
      msg.ack();
    } catch (thrown) {
      const err = toLoupeError(thrown);
      if (err.retryable && msg.deliveryCount < START_MAX_DELIVER) {
        this.log.warn({ jobId, err: err.toJSON(), attempt: msg.deliveryCount }, 'job cannot start yet, will retry');
        return msg.nak(startBackoff(msg.deliveryCount), err.toJSON());
      }
      this.log.warn({ jobId, err: err.toJSON() }, 'job could not start');
      await this.jobs.fail(jobId, null, { canvas: null, stage: 'harvest', code: err.code, message: err.message });
      await this.jobs.setState(jobId, 'failed');
      msg.ack();
    }
  }

  /** Applies progress events; each write is idempotent, so a redelivered event changes nothing. */
  async start(): Promise<void> {
    this.subscriptions.push(
      await this.bus.consume(SUBJECTS.jobStart, { durable: 'gateway-job-start', concurrency: 2, maxDeliver: START_MAX_DELIVER + 1 }, (msg) =>
        inConsumerSpan('process job-start', { busKind: this.bus.kind, subject: SUBJECTS.jobStart }, msg, () => this.harvestAndQueue(msg)),
      ),
    );
    const events = await this.bus.consume(SUBJECTS.jobEvents, { durable: 'gateway-job-events', concurrency: 8 }, (msg) =>
      inConsumerSpan('process job-event', { busKind: this.bus.kind, subject: SUBJECTS.jobEvents }, msg, (span) => this.applyEvent(msg, span)),
    );
    this.subscriptions.push(events);
  }

  private async applyEvent(msg: WorkMessage, span: Span): Promise<void> {
    const event = decode<JobEvent>(msg.data);
    span.setAttributes({ 'loupe.job.id': event.jobId, 'loupe.event.type': event.type, ...('stage' in event && { 'loupe.stage': event.stage }) });
    switch (event.type) {
      case 'stage-done':
        await this.jobs.stageDone(event.jobId, event.key, event.stage, event.ms);
        break;
      case 'stage-failed':
        await this.jobs.fail(event.jobId, event.key, { canvas: event.canvas, stage: event.stage, code: event.code, message: event.message });
        break;
      case 'task-done':
        await this.jobs.taskDone(event.jobId, event.key);
        break;
    }
    msg.ack();
  }

  /**
   * Run once at start, before this gateway takes requests: each job a stopped process left
   * unfinished is resumed or failed, with one log line. Resuming a running job queues its open
   * tasks again from the tasks stored at harvest (the source is not read again, so a manifest
   * edited or gone meanwhile changes nothing); a job still queued or harvesting is harvested again
   * (every step of a harvest is idempotent). Repeating the msgIds makes this safe when the work
   * still exists: JetStream drops a repeat inside its de-duplication window, and past it a task
   * runs again and its results replace themselves. With the in-memory bus the queues died with
   * the process, and queueing again is what brings the work back.
   */
  async recover(mode: RecoverJobs): Promise<void> {
    const unfinished = await this.jobs.unfinished();
    let effective = mode;
    if (mode === 'fail' && unfinished.length > 0 && this.bus.kind === 'nats') {
      // Over NATS another gateway may be running these jobs, and their work is still in the streams.
      this.log.warn({ jobs: unfinished.length }, 'LOUPE_RECOVER_JOBS=fail applies to a single process on the in-memory bus; over NATS unfinished jobs are resumed');
      effective = 'resume';
    }
    for (const job of unfinished) {
      const outcome = await this.recoverJob(job, effective);
      const { done, failed, total } = job.tasks;
      this.log.warn(
        { jobId: job.id, state: job.state, tasks: { total, done, failed, remaining: total - done - failed }, ...outcome },
        `unfinished job ${job.id} ${outcome.recovery}`,
      );
    }
  }

  private async recoverJob(job: UnfinishedJob, mode: RecoverJobs): Promise<{ recovery: string; requeued?: number }> {
    const spec = job.spec;
    if (mode === 'fail') {
      await this.interrupt(job.id, 'The process running the job stopped before it finished, and LOUPE_RECOVER_JOBS=fail: start it again');
      return { recovery: 'failed (LOUPE_RECOVER_JOBS=fail)' };
    }
    if (!spec || !isPipeline(spec.pipeline)) {
      await this.interrupt(job.id, 'The process running the job stopped, and the job cannot be resumed (it was created by an earlier Loupe): start it again');
      return { recovery: 'failed: it cannot be resumed' };
    }
    if (job.state !== 'running') {
      await this.publishStart({ jobId: job.id, source: job.source, pipeline: spec.pipeline, ...(spec.options && { options: spec.options }) });
      return { recovery: 'resumed: harvesting again' };
    }
    const requeued = await this.requeueOpen(job.id, routeOf(spec.pipeline, spec.options));
    if (requeued === undefined) {
      await this.interrupt(job.id, 'The process running the job stopped, and the job cannot be resumed (its tasks were not kept): start it again');
      return { recovery: 'failed: it cannot be resumed' };
    }
    return { recovery: 'resumed', requeued };
  }

  /**
   * Queues the job's open tasks again, as stored at harvest; how many, or undefined when a task
   * was stored without its whole task (by an earlier Loupe) and so cannot be queued from the store.
   */
  private async requeueOpen(jobId: string, route: Route): Promise<number | undefined> {
    let requeued = 0;
    for await (const open of this.jobs.openTasks(jobId)) {
      if (!open.task) return undefined;
      await this.queueTask(jobId, open.task, route);
      requeued++;
    }
    // Every task had ended: setting it running again lets the store mark it done.
    if (requeued === 0) await this.jobs.setState(jobId, 'running');
    return requeued;
  }

  private async interrupt(jobId: string, message: string): Promise<void> {
    await this.jobs.fail(jobId, null, { canvas: null, stage: 'job', code: 'LOUPE_ERR_JOB_INTERRUPTED', message });
    await this.jobs.setState(jobId, 'failed');
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.subscriptions.map((s) => s.drain()));
  }
}
