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
import { decode, encode, type Bus, type Subscription } from '@loupe/bus';
import type { JobStore } from '@loupe/store';

/** Each pipeline is the ordered list of stages a canvas image goes through. */
export const PIPELINES: Record<PipelineName, readonly { stage: string; subject: string }[]> = {
  text: [
    { stage: 'preprocess', subject: SUBJECTS.preprocessPrepare },
    { stage: 'detect.text', subject: SUBJECTS.detectText },
    { stage: 'store', subject: SUBJECTS.resultsPut },
  ],
};

/**
 * Runs jobs: harvests the source through the iiif-fetcher, queues one routing
 * slip per canvas image, and applies the stages' progress events to the job
 * store. Nothing here waits on a worker: work sits in the queues until a
 * worker takes it.
 */
export class JobRunner {
  private events: Subscription | undefined;
  private readonly starting = new Set<Promise<void>>();

  constructor(
    private readonly bus: Bus,
    private readonly jobs: JobStore,
    private readonly log: Logger,
  ) {}

  async create(source: string, pipeline: PipelineName): Promise<string> {
    const id = randomUUID();
    const route = PIPELINES[pipeline];
    await this.jobs.create({ id, source, stages: route.map((r) => r.stage) });
    const run = this.harvestAndQueue(id, source, route).finally(() => this.starting.delete(run));
    this.starting.add(run);
    return id;
  }

  private async harvestAndQueue(jobId: string, source: string, route: (typeof PIPELINES)[PipelineName]): Promise<void> {
    try {
      await this.jobs.setState(jobId, 'harvesting');
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
        return;
      }
      await this.jobs.setState(jobId, tasks.length === 0 ? 'done' : 'running');
      const first = route[0]!;
      for (const task of tasks) {
        const envelope: StageEnvelope = { jobId, key: taskKey(task), task, route, results: {} };
        await this.bus.publish(first.subject, encode(envelope), { msgId: `${jobId}/${envelope.key}/${first.stage}` });
      }
      this.log.info({ jobId, manifests: harvest.manifests.length, tasks: tasks.length }, 'job queued');
    } catch (thrown) {
      const err = toLoupeError(thrown);
      this.log.warn({ jobId, err: err.toJSON() }, 'job could not start');
      await this.jobs.fail(jobId, null, { canvas: null, stage: 'harvest', code: err.code, message: err.message });
      await this.jobs.setState(jobId, 'failed');
    }
  }

  /** Applies progress events; each write is idempotent, so a redelivered event changes nothing. */
  async start(): Promise<void> {
    this.events = await this.bus.consume(SUBJECTS.jobEvents, { durable: 'gateway-job-events', concurrency: 8 }, async (msg) => {
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
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await this.events?.drain();
  }
}
