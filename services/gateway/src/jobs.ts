import { randomUUID } from 'node:crypto';
import {
  SUBJECTS,
  taskKey,
  toLoupeError,
  type HarvestOutput,
  type JobEvent,
  type Logger,
  type PipelineName,
  type StageEnvelope,
} from '@loupe/contracts';
import { decode, encode, type Bus, type Subscription, type WorkMessage } from '@loupe/bus';
import type { JobStore } from '@loupe/store';

/** Each pipeline is the ordered list of stages a canvas image goes through. */
export const PIPELINES: Record<PipelineName, readonly { stage: string; subject: string; options?: Record<string, unknown> }[]> = {
  text: [
    // A page scanned upside down is turned upright (from its text lines) before text detection.
    { stage: 'preprocess', subject: SUBJECTS.preprocessPrepare, options: { orientation: 'text' } },
    { stage: 'detect.text', subject: SUBJECTS.detectText },
    { stage: 'store', subject: SUBJECTS.resultsPut },
  ],
  // Objects and faces: pictures, photographs, paintings.
  objects: [
    { stage: 'preprocess', subject: SUBJECTS.preprocessPrepare, options: { orientation: 'exif' } },
    { stage: 'detect', subject: SUBJECTS.detectImage, options: { kinds: ['objects', 'faces'] } },
    { stage: 'store', subject: SUBJECTS.resultsPut },
  ],
  // Image embeddings and perceptual hashes, kept by the embed service for search and duplicates.
  embed: [{ stage: 'embed', subject: SUBJECTS.embedCanvas }],
  // Everything the offline pack does, in one pass over the collection.
  enrich: [
    { stage: 'preprocess', subject: SUBJECTS.preprocessPrepare, options: { orientation: 'text' } },
    { stage: 'detect', subject: SUBJECTS.detectImage, options: { kinds: ['objects', 'faces', 'text'] } },
    { stage: 'embed', subject: SUBJECTS.embedCanvas },
    { stage: 'store', subject: SUBJECTS.resultsPut },
  ],
  // Whole-image concepts from a vocabulary: a trained head or zero-shot (the job's `classify` options).
  classify: [
    { stage: 'preprocess', subject: SUBJECTS.preprocessPrepare, options: { orientation: 'exif' } },
    { stage: 'classify', subject: SUBJECTS.classifyCanvas },
    { stage: 'store', subject: SUBJECTS.resultsPut },
  ],
};

interface JobStart {
  readonly jobId: string;
  readonly source: string;
  readonly pipeline: PipelineName;
  /** Options for stages by stage name, merged over the pipeline's own. */
  readonly options?: Record<string, Record<string, unknown>>;
}

/** How long a job waits for the iiif-fetcher before it fails: about twenty minutes of retries. */
const START_MAX_DELIVER = 40;
const startBackoff = (delivery: number): number => Math.min(30_000, 1000 * 2 ** (delivery - 1));

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

  constructor(
    private readonly bus: Bus,
    private readonly jobs: JobStore,
    private readonly log: Logger,
  ) {}

  async create(source: string, pipeline: PipelineName, options?: Record<string, Record<string, unknown>>): Promise<string> {
    const id = randomUUID();
    const route = PIPELINES[pipeline];
    await this.jobs.create({ id, source, stages: route.map((r) => r.stage) });
    const start: JobStart = { jobId: id, source, pipeline, ...(options && { options }) };
    await this.bus.publish(SUBJECTS.jobStart, encode(start), { msgId: `${id}/start` });
    return id;
  }

  private async harvestAndQueue(msg: WorkMessage): Promise<void> {
    const { jobId, source, pipeline, options } = decode<JobStart>(msg.data);
    const route = PIPELINES[pipeline].map((r) => (options?.[r.stage] ? { ...r, options: { ...r.options, ...options[r.stage] } } : r));
    const job = await this.jobs.get(jobId);
    if (!job || job.state === 'done' || job.state === 'failed') return msg.ack();
    try {
      if (job.state === 'queued') await this.jobs.setState(jobId, 'harvesting');
      const reply = await this.bus.request(SUBJECTS.harvest, encode({ source }), { timeoutMs: 300_000 });
      const harvest = decode<HarvestOutput>(reply.data);
      for (const m of harvest.manifests) await this.jobs.addManifest(jobId, m.id);
      for (const e of harvest.errors) {
        await this.jobs.fail(jobId, null, { canvas: null, stage: 'harvest', code: e.code, message: e.message });
      }
      for (const s of harvest.skipped) {
        await this.jobs.fail(jobId, null, { canvas: s.canvasId, stage: 'harvest', code: 'LOUPE_ERR_IMAGE_UNSUPPORTED', message: s.reason });
      }
      const tasks = harvest.tasks.map((t) => ({ ...t, jobId }));
      await this.jobs.addTasks(
        jobId,
        tasks.map((t) => ({ key: taskKey(t), canvasId: t.canvasId, canvasIndex: t.canvasIndex, imageIndex: t.imageIndex })),
      );
      if (harvest.manifests.length === 0) {
        await this.jobs.setState(jobId, 'failed');
        return msg.ack();
      }
      await this.jobs.setState(jobId, tasks.length === 0 ? 'done' : 'running');
      const first = route[0]!;
      for (const task of tasks) {
        const envelope: StageEnvelope = { jobId, key: taskKey(task), task, route, results: {} };
        await this.bus.publish(first.subject, encode(envelope), { msgId: `${jobId}/${envelope.key}/${first.stage}` });
      }
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
      await this.bus.consume(SUBJECTS.jobStart, { durable: 'gateway-job-start', concurrency: 2, maxDeliver: START_MAX_DELIVER + 1 }, (msg) => this.harvestAndQueue(msg)),
    );
    const events = await this.bus.consume(SUBJECTS.jobEvents, { durable: 'gateway-job-events', concurrency: 8 }, async (msg) => {
      const event = decode<JobEvent>(msg.data);
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
    });
    this.subscriptions.push(events);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.subscriptions.map((s) => s.drain()));
  }
}
